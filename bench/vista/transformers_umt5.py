"""The reference figure beside the vista text encoder's CUDA timing:
transformers' UMT5EncoderModel at Wan2.1's UMT5-XXL shape (d_model 4096,
24 layers, 64 heads of 64, d_ff 10240; random weights, bf16) encoding one
prompt padded to 512 tokens with `valid` real tokens masked as the Wan
pipeline does, on the current CUDA device. Prints ms and the linears'
TFLOP/s; never asserts.

    python3 bench/vista/transformers_umt5.py --valid 512
"""
import argparse
import time

import torch
from transformers import UMT5Config, UMT5EncoderModel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--d-model", type=int, default=4096)
    parser.add_argument("--heads", type=int, default=64)
    parser.add_argument("--d-kv", type=int, default=64)
    parser.add_argument("--d-ff", type=int, default=10240)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--valid", type=int, default=512, help="prompt tokens; the rest is padding")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    config = UMT5Config(vocab_size=256384, d_model=args.d_model, d_kv=args.d_kv, d_ff=args.d_ff,
                        num_layers=args.layers, num_heads=args.heads, feed_forward_proj="gated-gelu",
                        relative_attention_num_buckets=32, relative_attention_max_distance=128)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = UMT5EncoderModel(config).to(torch.bfloat16).eval()
    ids = torch.randint(0, config.vocab_size, (1, args.length), device="cuda")
    mask = torch.zeros(1, args.length, dtype=torch.long, device="cuda")
    mask[:, :args.valid] = 1
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask)  # warm-up
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(args.repeat):
            model(input_ids=ids, attention_mask=mask)
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - started) / args.repeat
    inner = args.heads * args.d_kv
    linear_flops = 2 * args.length * args.layers * (4 * args.d_model * inner + 3 * args.d_model * args.d_ff)
    print(f"transformers UMT5EncoderModel bf16 {args.layers}x{args.d_model}, {args.length} tokens "
          f"({args.valid} valid): {seconds * 1e3:.1f} ms, linears {linear_flops / seconds / 1e12:.1f} TFLOP/s "
          f"({linear_flops / 1e12:.2f} TFLOP over all {args.length} rows)")


if __name__ == "__main__":
    main()
