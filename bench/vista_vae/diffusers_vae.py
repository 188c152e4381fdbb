"""The reference figure beside `bench_vista_vae --cuda`: diffusers'
AutoencoderKLWan (the Wan2.1 VAE config, random weights) decoding latent
frames on the current CUDA device, in bf16 and in f32, the way the Wan
pipeline does (the whole latent video in one `decode`, which runs the
decoder frame by frame over its causal conv caches). Prints ms per latent
frame and pixel frames/s; never asserts.

    python3 bench/vista_vae/diffusers_vae.py --height 60 --width 104 --frames 4
"""
import argparse
import time

import torch
from diffusers import AutoencoderKLWan


def time_decode(vae, latents, repeat):
    with torch.inference_mode():
        vae.decode(latents, return_dict=False)  # warm-up
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(repeat):
            pixels = vae.decode(latents, return_dict=False)[0]
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / repeat, pixels.shape


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--height", type=int, default=60, help="latent height (60 = 480 pixels)")
    parser.add_argument("--width", type=int, default=104, help="latent width (104 = 832 pixels)")
    parser.add_argument("--frames", type=int, default=4, help="latent frames decoded in one call")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    torch.manual_seed(0)
    for dtype in (torch.bfloat16, torch.float32):
        vae = AutoencoderKLWan().to("cuda", dtype).eval()  # defaults: Wan2.1 (base_dim 96, z_dim 16)
        latents = torch.randn(1, 16, args.frames, args.height, args.width, device="cuda", dtype=dtype)
        seconds, shape = time_decode(vae, latents, args.repeat)
        pixel_frames = shape[2]
        print(f"diffusers AutoencoderKLWan {str(dtype).replace('torch.', '')}: {args.frames} latent frames "
              f"{args.height}x{args.width} -> {pixel_frames} frames {shape[3]}x{shape[4]}: {seconds * 1e3:.1f} ms, "
              f"{seconds * 1e3 / args.frames:.1f} ms per latent frame, {pixel_frames / seconds:.1f} pixel frames/s")
        del vae
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
