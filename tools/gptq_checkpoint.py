"""The GPTQ checkpoint format (AutoGPTQ / GPTQModel / transformers), numpy only.

Per quantized linear `<name>`: `<name>.qweight` int32 [in*bits/32, out] (input
rows packed low bits first), `<name>.qzeros` int32 [groups, out*bits/32],
`<name>.scales` f16 [groups, out], `<name>.g_idx` int32 [in], `<name>.bias`
f16 if any. checkpoint_format "gptq" (v1) stores zero-1, "gptq_v2" the zero.
Used by quantize_model.py (writing) and verify_gptq.py / dump_reference.py /
numpy_llama.py (reading back into dense weights).
"""
import numpy as np

from gptq import QuantizedLinear

QUANTIZED_SUFFIXES = ("qweight", "qzeros", "scales", "g_idx")


def pack_rows(values, bits):
    """uint codes [rows, cols] -> int32 [rows*bits/32, cols], row r*k+j in bits j*bits."""
    per_word = 32 // bits
    rows, cols = values.shape
    if rows % per_word:
        raise ValueError(f"{rows} rows are not a multiple of {per_word}")
    v = values.astype(np.uint32).reshape(rows // per_word, per_word, cols)
    packed = np.zeros((rows // per_word, cols), dtype=np.uint32)
    for j in range(per_word):
        packed |= v[:, j, :] << np.uint32(bits * j)
    return packed.view(np.int32)


def unpack_rows(packed, bits):
    per_word = 32 // bits
    p = packed.view(np.uint32)
    mask = np.uint32((1 << bits) - 1)
    parts = [(p >> np.uint32(bits * j)) & mask for j in range(per_word)]
    return np.stack(parts, axis=1).reshape(p.shape[0] * per_word, p.shape[1])


def pack_columns(values, bits):
    """uint codes [rows, cols] -> int32 [rows, cols*bits/32], column c*k+j in bits j*bits."""
    return np.ascontiguousarray(pack_rows(np.ascontiguousarray(values.T), bits).T)


def unpack_columns(packed, bits):
    return np.ascontiguousarray(unpack_rows(np.ascontiguousarray(packed.T), bits).T)


def to_tensors(name, q, bits, checkpoint_format, bias=None):
    """The checkpoint tensors of one quantized linear layer named `name`."""
    zeros = q.zeros.astype(np.int64)
    if checkpoint_format == "gptq":
        zeros = zeros - 1
        if zeros.min() < 0:
            raise ValueError(f"{name}: zero point 0 cannot be stored in checkpoint_format gptq (v1)")
    elif checkpoint_format != "gptq_v2":
        raise ValueError(f"unknown checkpoint_format {checkpoint_format}")
    tensors = {
        f"{name}.qweight": pack_rows(q.codes.T, bits),
        f"{name}.qzeros": pack_columns(zeros.astype(np.uint32), bits),
        f"{name}.scales": q.scales.astype(np.float16),
        f"{name}.g_idx": q.g_idx.astype(np.int32),
    }
    if bias is not None:
        tensors[f"{name}.bias"] = np.asarray(bias).astype(np.float16)
    return tensors


def from_tensors(tensors, name, bits, checkpoint_format):
    """Reads one quantized linear back into a QuantizedLinear."""
    codes = unpack_rows(tensors[f"{name}.qweight"], bits).T
    zeros = unpack_columns(tensors[f"{name}.qzeros"], bits).astype(np.int64)
    if checkpoint_format == "gptq":
        zeros = zeros + 1  # as GPTQ kernels read v1: a stored 15 means 16
    return QuantizedLinear(np.ascontiguousarray(codes).astype(np.uint8), tensors[f"{name}.scales"],
                           zeros.astype(np.int32), tensors[f"{name}.g_idx"].astype(np.int32))


def quantized_layer_names(tensors):
    return sorted(k[: -len(".qweight")] for k in tensors if k.endswith(".qweight"))


def dequantize_checkpoint(tensors, quant_config):
    """Dense float32 tensors {name.weight: [out, in]} for every quantized linear,
    with all other tensors converted to float32 (integers left as they are)."""
    bits = quant_config["bits"]
    fmt = quant_config.get("checkpoint_format", "gptq")
    dense = {}
    names = quantized_layer_names(tensors)
    skip = {f"{n}.{s}" for n in names for s in QUANTIZED_SUFFIXES}
    for name in names:
        dense[f"{name}.weight"] = from_tensors(tensors, name, bits, fmt).dequantize()
    for key, value in tensors.items():
        if key not in skip:
            dense[key] = value.astype(np.float32) if value.dtype.kind == "f" else value
    return dense
