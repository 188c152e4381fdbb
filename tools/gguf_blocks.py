"""Random ggml quantized blocks for test files (used by make_gguf_test_files.py and make_gguf_models.py).

A block is random bytes with its fp16 scale fields overwritten by sane values
(finite, of a chosen magnitude), so every quantized code occurs and the
dequantized values are well scaled. Layout offsets follow the `gguf` package's
GGML_QUANT_SIZES and quants.py (see sdk/runtime/kernels/ggml_blocks.h).
"""
import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T

# Byte offsets of the fp16 fields (scale `d`, then min `m`/`dmin`) in each block.
F16_FIELDS = {
    T.Q4_0: {"d": 0}, T.Q4_1: {"d": 0, "m": 2}, T.Q5_0: {"d": 0}, T.Q5_1: {"d": 0, "m": 2},
    T.Q8_0: {"d": 0}, T.Q4_K: {"d": 0, "m": 2}, T.Q5_K: {"d": 0, "m": 2}, T.Q6_K: {"d": 208},
}
# Largest |quantized code * sub-scale| per type, so `scale` can be the target std.
CODE_RANGE = {T.Q4_0: 8, T.Q4_1: 15, T.Q5_0: 16, T.Q5_1: 31, T.Q8_0: 127, T.Q4_K: 15 * 63, T.Q5_K: 31 * 63,
              T.Q6_K: 32 * 127}
QUANTIZED = list(F16_FIELDS)


def random_blocks(rng, qtype, rows, cols, scale):
    """uint8 [rows, cols/block*type_size]: random blocks whose values are about +-scale."""
    block, size = GGML_QUANT_SIZES[qtype]
    assert cols % block == 0, (qtype.name, cols)
    n = rows * (cols // block)
    data = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    d = (rng.uniform(0.5, 1.5, size=n) * scale / CODE_RANGE[qtype]).astype(np.float16)
    fields = F16_FIELDS[qtype]
    data[:, fields["d"]:fields["d"] + 2] = d.view(np.uint8).reshape(n, 2)
    if "m" in fields:  # minimum: about half the range, either sign for Q4_1/Q5_1, positive dmin for K
        span = CODE_RANGE[qtype] if qtype in (T.Q4_1, T.Q5_1) else 63
        m = d.astype(np.float32) * span * 0.5
        if qtype in (T.Q4_1, T.Q5_1):
            m = -m
        data[:, fields["m"]:fields["m"] + 2] = m.astype(np.float16).view(np.uint8).reshape(n, 2)
    if qtype == T.Q6_K:  # int8 sub-scales: keep them positive and moderate
        data[:, 192:208] = rng.integers(1, 64, size=(n, 16), dtype=np.uint8)
    return data.reshape(rows, -1)
