"""The reference figure beside `bench_vista --cuda`: one forward pass of
diffusers' WanTransformer3DModel (Wan2.1-T2V-1.3B block shape, random
weights, bf16, PyTorch's scaled_dot_product_attention) over one chunk of
3 latent frames, on the current CUDA device. Same FLOP count as bench_vista
prints for --history 0 (plus the text K/V, which diffusers recomputes each
pass and the plugin makes once per prompt). Prints; never asserts.

    python3 bench/vista/diffusers_forward.py --layers 30 --height 60 --width 104
"""
import argparse
import time

import torch
from diffusers import WanTransformer3DModel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--height", type=int, default=60, help="latent height (60 = 480 pixels)")
    parser.add_argument("--width", type=int, default=104, help="latent width (104 = 832 pixels)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128,
                                  in_channels=16, out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960,
                                  num_layers=args.layers, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                  eps=1e-6).to("cuda", torch.bfloat16).eval()
    latents = torch.randn(1, 16, 3, args.height, args.width, device="cuda", dtype=torch.bfloat16)
    text = torch.randn(1, 512, 4096, device="cuda", dtype=torch.bfloat16)
    timestep = torch.tensor([500.0], device="cuda")
    with torch.inference_mode():
        model(latents, timestep, text, return_dict=False)  # warm-up
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(args.repeat):
            model(latents, timestep, text, return_dict=False)
        torch.cuda.synchronize()
    per_pass = (time.perf_counter() - started) / args.repeat

    dim, ffn = 12 * 128, 8960
    tokens = 3 * (args.height // 2) * (args.width // 2)
    linears = 2 * tokens * (4 * dim * dim + 2 * dim * dim + 2 * dim * ffn) * args.layers
    attention = (4 * tokens * dim * tokens + 4 * tokens * dim * 512) * args.layers
    print(f"diffusers {torch.cuda.get_device_name()} bf16, 1.3B block shape x {args.layers} layers, "
          f"latent {args.height}x{args.width} ({tokens // 3} tokens/frame), 3 frames: "
          f"{per_pass * 1e3:.2f} ms per pass, {(linears + attention) / per_pass / 1e12:.1f} TFLOP/s "
          f"({linears / 1e9:.1f} GFLOP linears + {attention / 1e9:.1f} GFLOP attention)")


if __name__ == "__main__":
    main()
