#!/usr/bin/env python3
"""Quantizes an HF Llama-family model directory to a GPTQ checkpoint, numpy only.

Calibration text (corpus.calibration_text, or --calib-file) is tokenized with
the model's tokenizer.json and run through numpy_llama layer by layer; within a
layer the linears are quantized in order q/k/v, o, gate/up, down, each from the
Hessian of its inputs as produced by the already-quantized earlier parts
("true sequential"). The output keeps embeddings, norms, biases and lm_head in
fp16. Runs at setup time (no torch).
Usage: quantize_model.py --model-dir IN --out OUT [--group-size 128] [--desc-act]
       [--asym] [--format gptq|gptq_v2] [--method gptq|rtn] [--shard-mb N]
"""
import argparse
import json
import pathlib
import shutil
import time

import numpy as np
from tokenizers import Tokenizer

import corpus
import gptq
import gptq_checkpoint
import hf_checkpoint
import numpy_llama

# Linears of one decoder layer in quantization order, keyed by the input they share.
LAYER_GROUPS = [
    ("qkv", ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"]),
    ("o_proj", ["self_attn.o_proj"]),
    ("gate_up", ["mlp.gate_proj", "mlp.up_proj"]),
    ("down_proj", ["mlp.down_proj"]),
]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "generation_config.json",
                   "special_tokens_map.json", "chat_template.jinja"]


def calibration_ids(model_dir, samples, length, text=None):
    """[samples, length] token ids cut from the calibration text at evenly spaced offsets."""
    tok = Tokenizer.from_file(str(pathlib.Path(model_dir) / "tokenizer.json"))
    ids = np.array(tok.encode(text or corpus.calibration_text(), add_special_tokens=False).ids)
    if len(ids) < length + samples:
        raise ValueError(f"calibration text has only {len(ids)} tokens")
    starts = np.linspace(0, len(ids) - length, samples).astype(int)
    return np.stack([ids[s:s + length] for s in starts])


def quantize(model, ids, spec, method, checkpoint_format, log=print):
    """Quantizes model (a NumpyCausalLM, modified in place to its dequantized
    weights) and returns the checkpoint tensors of all quantized linears.
    One forward per layer: each group of linears is quantized from its input
    just before the forward uses it, so later inputs see the quantized weights."""
    out = {}
    names_by_kind = dict(LAYER_GROUPS)
    h = model.embed(ids)
    for layer in range(model.layers):
        started = time.time()
        errors = []

        def quantize_group(kind, x):
            hessian = None
            if method == "gptq":
                acc = gptq.HessianAccumulator(x.shape[-1])
                acc.add(x)
                hessian = acc.hessian()
            for short in names_by_kind[kind]:
                name = f"model.layers.{layer}.{short}"
                weight = model.t[f"{name}.weight"].astype(np.float64)
                q = gptq.gptq(weight, hessian, spec) if method == "gptq" else gptq.round_to_nearest(weight, spec)
                dense = q.dequantize()
                errors.append(np.linalg.norm(dense - weight) / np.linalg.norm(weight))
                model.t[f"{name}.weight"] = dense
                out.update(gptq_checkpoint.to_tensors(name, q, spec.bits, checkpoint_format,
                                                      bias=model.t.get(f"{name}.bias")))

        h = model.layer(layer, h, quantize_group)
        log(f"layer {layer}: mean relative weight error {np.mean(errors):.4f} ({time.time() - started:.1f}s)", flush=True)
    return out


def write(model_dir, out_dir, config, quantized, dense, spec, method, checkpoint_format, shard_mb):
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = dict(quantized)
    covered = {k.rsplit(".", 1)[0] for k in quantized}
    for name, value in dense.items():
        if name.rsplit(".", 1)[0] in covered:
            continue
        tensors[name] = value.astype(np.float16)
    config = dict(config)
    config.pop("torch_dtype", None)
    config["dtype"] = "float16"
    config["quantization_config"] = {
        "quant_method": "gptq", "bits": spec.bits, "group_size": spec.group_size,
        "desc_act": spec.desc_act, "sym": spec.sym, "damp_percent": spec.damp_percent,
        "true_sequential": True, "static_groups": False, "lm_head": False,
        "checkpoint_format": checkpoint_format,
        "meta": {"quantizer": [f"citadel-tools:{method}"]},
    }
    hf_checkpoint.write_config(out_dir, config)
    hf_checkpoint.write_model_tensors(out_dir, tensors, shard_mb * 1024 * 1024 if shard_mb else None)
    for name in TOKENIZER_FILES:
        if (pathlib.Path(model_dir) / name).exists():
            shutil.copy(pathlib.Path(model_dir) / name, out_dir / name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--bits", type=int, default=4, choices=[2, 4, 8])
    parser.add_argument("--group-size", type=int, default=128)
    parser.add_argument("--desc-act", action="store_true")
    parser.add_argument("--asym", action="store_true")
    parser.add_argument("--format", default="gptq", choices=["gptq", "gptq_v2"])
    parser.add_argument("--method", default="gptq", choices=["gptq", "rtn"])
    parser.add_argument("--damp", type=float, default=0.01)
    parser.add_argument("--calib-samples", type=int, default=64)
    parser.add_argument("--calib-len", type=int, default=128)
    parser.add_argument("--calib-file", help="text file to calibrate on instead of the built-in text")
    parser.add_argument("--shard-mb", type=float, default=None, help="write shards of at most this size")
    args = parser.parse_args()

    spec = gptq.QuantSpec(bits=args.bits, group_size=args.group_size, sym=not args.asym, desc_act=args.desc_act,
                          damp_percent=args.damp, v1_zeros=args.format == "gptq")
    config = hf_checkpoint.read_config(args.model_dir)
    if config.get("quantization_config"):
        raise SystemExit(f"{args.model_dir}: already quantized")
    model = numpy_llama.load(args.model_dir)
    source = {k: v.copy() for k, v in model.t.items()}
    text = pathlib.Path(args.calib_file).read_text() if args.calib_file else None
    ids = calibration_ids(args.model_dir, args.calib_samples, args.calib_len, text)
    print(f"calibrating on {ids.shape[0]} x {ids.shape[1]} tokens, {json.dumps(vars(args))}")
    quantized = quantize(model, ids, spec, args.method, args.format)
    write(args.model_dir, args.out, config, quantized, source, spec, args.method, args.format, args.shard_mb)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
