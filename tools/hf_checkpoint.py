"""Reads and writes Hugging Face model directories with numpy only.

Used by the setup path (quantize_model.py, gguf_to_hf.py, perplexity.py) and
by the reference tools. Reads single-file and sharded safetensors (F32, F16,
BF16, I32, ...) by parsing the format directly, so bf16 needs no torch; writes
single or sharded safetensors with model.safetensors.index.json.
"""
import json
import pathlib

import numpy as np
from safetensors.numpy import save_file

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
    "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}


def read_safetensors(path):
    """Returns {name: np.ndarray} for one .safetensors file (BF16 becomes float32)."""
    raw = pathlib.Path(path).read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        buf = raw[base + begin: base + end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(buf, dtype=np.uint16).astype(np.uint32) << 16
            array = bits.view(np.float32)
        elif info["dtype"] in _DTYPES:
            array = np.frombuffer(buf, dtype=_DTYPES[info["dtype"]])
        else:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {info['dtype']}")
        tensors[name] = array.reshape(info["shape"]).copy()
    return tensors


def read_model_tensors(model_dir):
    """All tensors of a model directory, single-file or sharded."""
    model_dir = pathlib.Path(model_dir)
    index = model_dir / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text())["weight_map"]
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            tensors.update(read_safetensors(model_dir / shard))
        return tensors
    single = model_dir / "model.safetensors"
    if not single.exists():
        raise FileNotFoundError(f"{model_dir}: neither model.safetensors nor model.safetensors.index.json")
    return read_safetensors(single)


def read_config(model_dir):
    return json.loads((pathlib.Path(model_dir) / "config.json").read_text())


def write_config(model_dir, config):
    with open(pathlib.Path(model_dir) / "config.json", "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")


def write_model_tensors(model_dir, tensors, max_shard_bytes=None):
    """Writes tensors as model.safetensors, or as shards plus an index when
    max_shard_bytes is given and the tensors exceed it."""
    model_dir = pathlib.Path(model_dir)
    for old in list(model_dir.glob("model*.safetensors")) + list(model_dir.glob("model.safetensors.index.json")):
        old.unlink()
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    total = sum(v.nbytes for v in tensors.values())
    if max_shard_bytes is None or total <= max_shard_bytes:
        save_file(tensors, str(model_dir / "model.safetensors"), metadata={"format": "pt"})
        return
    shards, current, current_bytes = [], {}, 0
    for name in sorted(tensors):
        size = tensors[name].nbytes
        if current and current_bytes + size > max_shard_bytes:
            shards.append(current)
            current, current_bytes = {}, 0
        current[name] = tensors[name]
        current_bytes += size
    shards.append(current)
    weight_map = {}
    for i, shard in enumerate(shards):
        file_name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(model_dir / file_name), metadata={"format": "pt"})
        weight_map.update({name: file_name for name in shard})
    with open(model_dir / "model.safetensors.index.json", "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")
