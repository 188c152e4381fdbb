"""The limits beside `bench_vista --cuda`'s per-stage table, measured on the
same GPU in the same run with PyTorch (what diffusers' Wan attention
processor calls): scaled_dot_product_attention in bf16 at the attention
shapes of one Wan2.1-1.3B chunk pass (4,680 queries, 12 heads of 128; keys:
the chunk, the chunk + 18 cached frames, the 512 text tokens) and cuBLAS
bf16 GEMMs at 8192^3 (the dense tensor-core ceiling) and at the FFN shape.
CUDA events, warm-up, median of --repeat. Prints; never asserts.

    python3 bench/vista/torch_attention.py
"""
import argparse
import statistics

import torch
import torch.nn.functional as F


def timed(fn, repeat):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--tokens-per-frame", type=int, default=1560)
    args = parser.parse_args()
    torch.manual_seed(0)
    heads, head_dim, queries = 12, 128, 3 * args.tokens_per_frame
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    for label, keys in [("self, no history", queries), ("self, 18 cached frames", queries + 18 * args.tokens_per_frame),
                        ("cross, 512 text tokens", 512)]:
        q = torch.randn(1, heads, queries, head_dim, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(1, heads, keys, head_dim, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(1, heads, keys, head_dim, device="cuda", dtype=torch.bfloat16)
        ms = timed(lambda: F.scaled_dot_product_attention(q, k, v), args.repeat)
        flops = 4.0 * queries * keys * heads * head_dim
        print(f"SDPA bf16 {label}: {queries} x {keys} keys: {ms:.3f} ms a layer, {flops / ms / 1e9:.1f} TFLOP/s, "
              f"x30 layers = {30 * ms:.1f} ms")
    for label, (m, n, k) in [("8192^3", (8192, 8192, 8192)), ("FFN in 4680x1536->8960", (queries, 8960, 1536))]:
        a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(k, n, device="cuda", dtype=torch.bfloat16)
        ms = timed(lambda: a @ b, args.repeat)
        print(f"cuBLAS bf16 GEMM {label}: {ms:.3f} ms, {2.0 * m * n * k / ms / 1e9:.1f} TFLOP/s")


if __name__ == "__main__":
    main()
