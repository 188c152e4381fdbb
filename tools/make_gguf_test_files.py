#!/usr/bin/env python3
"""Makes tests/data/gguf/blocks.gguf: test vectors for the C++ GGUF reader and dequantization.

For each tensor type Citadel reads (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
Q4_K, Q5_K, Q6_K) a tensor `<TYPE>` of random data (random blocks with sane fp16
scales, tools/gguf_blocks.py) and a tensor `<TYPE>.expected` (F32) holding the
`gguf` package's reference dequantization (gguf.quants.dequantize) of it. The
metadata holds one key of every GGUF value type, arrays included
(`test.*`, values listed in EXPECTED_METADATA; the C++ test checks the same
values), and a non-default general.alignment of 64.
Usage: make_gguf_test_files.py [--out tests/data/gguf/blocks.gguf] [--seed 1]
"""
import argparse
import pathlib

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFValueType as V, GGUFWriter
from gguf.quants import dequantize

import gguf_blocks

ROWS, COLS = 3, 512  # 16 blocks of 32 or 2 super-blocks of 256 per row


def add_metadata(writer):
    writer.add_key_value("test.u8", 200, V.UINT8)
    writer.add_key_value("test.i8", -100, V.INT8)
    writer.add_key_value("test.u16", 60000, V.UINT16)
    writer.add_key_value("test.i16", -30000, V.INT16)
    writer.add_key_value("test.u32", 4000000000, V.UINT32)
    writer.add_key_value("test.i32", -2000000000, V.INT32)
    writer.add_key_value("test.f32", 0.15625, V.FLOAT32)
    writer.add_key_value("test.bool", True, V.BOOL)
    writer.add_key_value("test.string", "héllo wörld", V.STRING)
    writer.add_key_value("test.u64", 18000000000000000000, V.UINT64)
    writer.add_key_value("test.i64", -9000000000000000000, V.INT64)
    writer.add_key_value("test.f64", -2.5e-300, V.FLOAT64)
    writer.add_key_value("test.array_i32", [1, -2, 3], V.ARRAY, V.INT32)
    writer.add_key_value("test.array_f32", [0.5, -1.25], V.ARRAY, V.FLOAT32)
    writer.add_key_value("test.array_string", ["a", "", "ccc"], V.ARRAY, V.STRING)
    writer.add_key_value("test.array_bool", [True, False], V.ARRAY, V.BOOL)
    writer.add_key_value("test.array_array", [[1, 2], [3]], V.ARRAY, V.ARRAY)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tests/data/gguf/blocks.gguf")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(str(out), arch="test")
    writer.add_custom_alignment(64)
    add_metadata(writer)
    plain = rng.standard_normal((ROWS, COLS)).astype(np.float32)
    writer.add_tensor("F32", plain)
    writer.add_tensor("F16", plain.astype(np.float16))
    bf16 = (plain.view(np.uint32) >> 16).astype(np.uint16)  # truncated: any bit pattern is a valid BF16
    writer.add_tensor("BF16", bf16.view(np.uint8).reshape(ROWS, -1), raw_dtype=T.BF16)
    writer.add_tensor("BF16.expected", dequantize(bf16.view(np.uint8).reshape(ROWS, -1), T.BF16))
    writer.add_tensor("F16.expected", dequantize(plain.astype(np.float16).view(np.uint8).reshape(ROWS, -1), T.F16))
    for qtype in gguf_blocks.QUANTIZED:
        blocks = gguf_blocks.random_blocks(rng, qtype, ROWS, COLS, scale=1.0)
        writer.add_tensor(qtype.name, blocks, raw_dtype=qtype)
        expected = dequantize(blocks, qtype).astype(np.float32)
        assert expected.shape == (ROWS, COLS) and np.isfinite(expected).all()
        writer.add_tensor(qtype.name + ".expected", expected)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
