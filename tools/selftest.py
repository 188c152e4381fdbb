#!/usr/bin/env python3
"""Self-tests of the numpy tools (no torch): run `python3 tools/selftest.py`.

Checks the GPTQ packing round trip for every bit width and format, that GPTQ
beats round-to-nearest on the layer-output error it minimizes, that act-order
g_idx groups are well formed, that partial last groups work, and that
gguf_to_hf's Q/K un-permutation inverts llama.cpp's permutation.
"""
import sys

import numpy as np

import gptq
import gptq_checkpoint


def output_error(q, weight, x):
    return np.mean((x @ (q.dequantize() - weight).T) ** 2) / np.mean((x @ weight.T) ** 2)


def correlated_inputs(rng, tokens, columns):
    return rng.normal(size=(tokens, columns)) @ rng.normal(size=(columns, columns)) * 0.3 + rng.normal(size=columns)


def test_pack_round_trip():
    rng = np.random.default_rng(1)
    for bits in (2, 4, 8):
        values = rng.integers(0, 1 << bits, size=(64, 48), dtype=np.uint32)
        assert np.array_equal(gptq_checkpoint.unpack_rows(gptq_checkpoint.pack_rows(values, bits), bits), values)
        assert np.array_equal(gptq_checkpoint.unpack_columns(gptq_checkpoint.pack_columns(values, bits), bits), values)
    packed = gptq_checkpoint.pack_rows(np.arange(8, dtype=np.uint32).reshape(8, 1), 4)
    assert packed.view(np.uint32)[0, 0] == 0x76543210, "row j of a word sits in bits 4j..4j+3"


def test_checkpoint_round_trip_and_gptq_beats_rtn():
    rng = np.random.default_rng(2)
    weight = rng.normal(size=(96, 256))
    x = correlated_inputs(rng, 4096, 256)
    acc = gptq.HessianAccumulator(256)
    acc.add(x)
    for spec in [gptq.QuantSpec(group_size=32, desc_act=True, v1_zeros=True),
                 gptq.QuantSpec(group_size=64, sym=False),
                 gptq.QuantSpec(group_size=-1, v1_zeros=True),
                 gptq.QuantSpec(bits=8, group_size=128, desc_act=True, sym=False)]:
        q = gptq.gptq(weight, acc.hessian(), spec)
        rtn = gptq.round_to_nearest(weight, spec)
        assert output_error(q, weight, x) < 0.7 * output_error(rtn, weight, x), spec
        fmt = "gptq" if spec.v1_zeros else "gptq_v2"
        tensors = gptq_checkpoint.to_tensors("layer", q, spec.bits, fmt)
        back = gptq_checkpoint.from_tensors(tensors, "layer", spec.bits, fmt)
        assert np.array_equal(back.dequantize(), q.dequantize()), spec
        counts = np.bincount(q.g_idx)
        assert np.all(counts == (256 if spec.group_size == -1 else spec.group_size)), spec
        if not spec.desc_act:
            assert np.array_equal(q.g_idx, np.arange(256) // (spec.group_size if spec.group_size > 0 else 256))


def test_partial_last_group():
    rng = np.random.default_rng(3)
    weight = rng.normal(size=(32, 576))
    acc = gptq.HessianAccumulator(576)
    acc.add(correlated_inputs(rng, 2048, 576))
    q = gptq.gptq(weight, acc.hessian(), gptq.QuantSpec(group_size=128, desc_act=True))
    assert q.scales.shape == (5, 32) and np.bincount(q.g_idx).tolist() == [128, 128, 128, 128, 64]


def test_v1_refuses_zero_point_zero():
    q = gptq.QuantizedLinear(np.zeros((8, 8), np.uint8), np.ones((1, 8), np.float16),
                             np.zeros((1, 8), np.int32), np.zeros(8, np.int32))
    try:
        gptq_checkpoint.to_tensors("layer", q, 4, "gptq")
    except ValueError:
        return
    raise AssertionError("zero point 0 written in v1 format")


def test_gguf_unpermute_inverts_llama_cpp_permute():
    from gguf_to_hf import unpermute
    heads, head_dim, columns = 3, 8, 5
    weight = np.arange(heads * head_dim * columns, dtype=np.float32).reshape(heads * head_dim, columns)
    # llama.cpp convert_hf_to_gguf.py permute(): reshape(n_head, 2, rows/n_head/2, ...).swapaxes(1, 2)
    permuted = weight.reshape(heads, 2, head_dim // 2, columns).swapaxes(1, 2).reshape(weight.shape)
    assert np.array_equal(unpermute(permuted, heads), weight)


def main():
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    for test in tests:
        test()
        print(f"ok {test.__name__}")
    print(f"{len(tests)} tests passed")


if __name__ == "__main__":
    sys.exit(main())
