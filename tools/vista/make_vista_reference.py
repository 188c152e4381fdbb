"""Writes the tiny random-weight Wan2.1 text-to-video checkpoint (diffusers
layout) and the float32 reference outputs the C++ `vista` plugin is tested
against, into tests/data/vista/ (see its README.md). Also runs the checks:
the chunked causal path with an empty cache equals diffusers' plain forward,
and prints the per-token KV bytes of the Wan2.1-T2V-1.3B config.

Run: .venv-vista/bin/python tools/vista/make_vista_reference.py [--out DIR] [--check-only]
(versions: tools/vista/requirements.txt)
"""
import argparse
import copy
import json
import pathlib
import sys

import torch
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import causal_wan  # noqa: E402
import diffusers  # noqa: E402
import transformers  # noqa: E402
from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel  # noqa: E402

# diffusers tests/pipelines/wan/test_wan.py tiny sizes (head dim 12, a multiple of 6).
TINY_DIT = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
                text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
                qk_norm="rms_norm_across_heads", rope_max_seq_len=32)
TINY_VAE = dict(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True])
# UMT5 at toy size; d_model = the DiT's text_dim.
TINY_UMT5 = dict(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, feed_forward_proj="gated-gelu",
                 relative_attention_num_buckets=32, relative_attention_max_distance=128)
TEXT_LEN = 512  # Wan2.1 text_len; prompts padded/truncated to it
PROMPT = "A red fox runs through fresh snow at dawn, the camera follows it."
LATENT_HW = 8   # DiT latents 8x8 -> 16 tokens per latent frame
VAE_LATENT_HW = 4
VAE_FRAMES = 3
GEN_CHUNKS = 3
# Wan2.1-T2V-1.3B (diffusers scripts/convert_wan_to_diffusers.py "Wan-T2V-1.3B").
WAN_1_3B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
                text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                qk_norm="rms_norm_across_heads", eps=1e-6)


def perturb_norm_weights(module, gen):
    """Norm weights start at ones; make them random so a loader that mixes them up fails."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if p.dim() >= 1 and ("norm" in name or leaf == "gamma") and leaf in ("weight", "gamma"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))


def make_tokenizer(existing):
    """The T5-style Unigram test tokenizer of spm_tokenizer_vectors.py. HF's
    Unigram trainer is not reproducible (tied piece scores come out in varying
    order), so an existing tokenizer.json is reused unless --retrain-tokenizer."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast
    if existing is not None:
        tok = Tokenizer.from_file(str(existing))
    else:
        import spm_tokenizer_vectors as spm
        tok = spm.train_unigram(1000, spm.compiled_charsmap(None), byte_fallback=False)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=TEXT_LEN)


def build_pipeline(existing_tokenizer):
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    tokenizer = make_tokenizer(existing_tokenizer)
    text_encoder = transformers.UMT5EncoderModel(transformers.UMT5Config(vocab_size=len(tokenizer), **TINY_UMT5))
    transformer = WanTransformer3DModel(**TINY_DIT)
    vae = AutoencoderKLWan(**TINY_VAE)
    for m in (text_encoder, transformer, vae):
        perturb_norm_weights(m, gen)
        m.eval()
    scheduler = FlowMatchEulerDiscreteScheduler(shift=causal_wan.SELF_FORCING_SHIFT)
    return WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, transformer=transformer, vae=vae,
                       scheduler=scheduler)


def per_token(frame_t, tokens_per_frame):
    return frame_t.repeat_interleave(tokens_per_frame, dim=1)


def check_empty_cache(transformer, text, gen):
    """Item: chunked causal path, empty cache, one chunk == plain diffusers forward."""
    x = torch.randn(1, 16, causal_wan.FRAMES_PER_CHUNK, LATENT_HW, LATENT_HW, generator=gen)
    t = torch.tensor([[937.5, 500.0, 3.0]])
    plain = transformer(x, timestep=per_token(t, (LATENT_HW // 2) ** 2), encoder_hidden_states=text,
                        return_dict=False)[0]
    causal = causal_wan.CausalWan(copy.deepcopy(transformer))
    chunked = causal.forward_chunk(x, t, text)
    err = (chunked - plain).abs().max().item()
    print(f"check: chunked causal (empty cache, 1 chunk) vs diffusers forward: max abs err {err:.3e} "
          f"(max |out| {plain.abs().max().item():.3f})")
    return err


class MaskedProcessor(diffusers.models.transformers.transformer_wan.WanAttnProcessor):
    """diffusers' own Wan processor with a fixed self-attention mask."""

    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
        return super().__call__(attn, hidden_states, None, self.mask, rotary_emb)


def check_filled_cache(transformer, text, ctx, x, t, chunk_out):
    """Chunk with a filled cache == its rows of one full diffusers pass over all
    frames (finished ones at t=0) with the block-causal mask of Self-Forcing training."""
    frames = ctx.shape[2] + x.shape[2]
    tpf = (LATENT_HW // 2) ** 2
    chunk_of = torch.arange(frames * tpf) // (tpf * causal_wan.FRAMES_PER_CHUNK)
    mask = (chunk_of[None, :] <= chunk_of[:, None])[None, None]
    model = copy.deepcopy(transformer)
    for block in model.blocks:
        block.attn1.set_processor(MaskedProcessor(mask))
    frame_t = torch.cat([torch.zeros(1, ctx.shape[2]), t], dim=1)
    full = model(torch.cat([ctx, x], dim=2), timestep=per_token(frame_t, tpf), encoder_hidden_states=text,
                 return_dict=False)[0]
    err = (full[:, :, ctx.shape[2]:] - chunk_out).abs().max().item()
    print(f"check: chunk with filled cache vs block-causal masked full diffusers pass: max abs err {err:.3e}")
    return err


def kv_bytes_1_3b():
    with torch.device("meta"):
        model = WanTransformer3DModel(**WAN_1_3B)
    cfg = model.config
    head_dim, heads, layers = cfg.attention_head_dim, cfg.num_attention_heads, cfg.num_layers
    per_token_layer = 2 * heads * head_dim * 2  # K and V, bf16
    tokens_per_frame = (480 // 8 // 2) * (832 // 8 // 2)
    latent_frames = 1 + (81 - 1) // 4
    per_video = per_token_layer * layers * tokens_per_frame * latent_frames
    print(f"Wan2.1-T2V-1.3B config: {heads} heads x {head_dim}, {layers} layers -> KV {per_token_layer} B per token "
          f"per layer (bf16), {per_token_layer * tokens_per_frame} B per latent frame per layer "
          f"({tokens_per_frame} tokens/frame at 480x832), 81 frames: {per_video} B = {per_video / 2**30:.2f} GiB")
    return per_token_layer


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE.parent.parent / "tests" / "data" / "vista"))
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--retrain-tokenizer", action="store_true")
    args = ap.parse_args()
    torch.set_grad_enabled(False)

    tok_json = pathlib.Path(args.out) / "tiny" / "tokenizer" / "tokenizer.json"
    pipe = build_pipeline(tok_json if tok_json.exists() and not args.retrain_tokenizer else None)
    transformer, vae = pipe.transformer, pipe.vae
    gen = torch.Generator().manual_seed(1234)
    tpf = (LATENT_HW // 2) ** 2

    # Text encoder (the pipeline's own prompt path: clean, pad to 512, zero rows past the prompt).
    text = pipe._get_t5_prompt_embeds(PROMPT, max_sequence_length=TEXT_LEN, device=torch.device("cpu"))
    enc = pipe.tokenizer(PROMPT, padding="max_length", max_length=TEXT_LEN, truncation=True, return_tensors="pt")

    err = check_empty_cache(transformer, text, gen)
    if kv_bytes_1_3b() != 6144:
        raise SystemExit("KV bytes per token per layer is not 6144")
    if err > 1e-5:
        raise SystemExit(f"chunked causal path differs from diffusers' forward by {err}")

    ref = {"text.input_ids": enc.input_ids.to(torch.int64), "text.attention_mask": enc.attention_mask.to(torch.int64),
           "text.embeds": text}

    # One DiT forward, per-frame timesteps, plain diffusers (3 frames, no cache).
    x = torch.randn(1, 16, 3, LATENT_HW, LATENT_HW, generator=gen)
    t = torch.tensor([[999.0, 625.0, 250.0]])
    ref["dit.latents"], ref["dit.frame_timesteps"] = x, t
    ref["dit.out"] = transformer(x, timestep=per_token(t, tpf), encoder_hidden_states=text, return_dict=False)[0]

    # One chunk with a filled cache: two finished chunks committed at t=0, then chunk 2 at per-frame t.
    causal = causal_wan.CausalWan(copy.deepcopy(transformer))
    ctx = torch.randn(1, 16, 6, LATENT_HW, LATENT_HW, generator=gen)
    zero = torch.zeros(1, 3)
    causal.forward_chunk(ctx[:, :, :3], zero, text, commit=True)
    causal.forward_chunk(ctx[:, :, 3:], zero, text, commit=True)
    for i, proc in enumerate(causal.procs):
        ref[f"chunk.cache_k.{i}"], ref[f"chunk.cache_v.{i}"] = proc.k, proc.v
    x = torch.randn(1, 16, 3, LATENT_HW, LATENT_HW, generator=gen)
    t = torch.tensor([[833.3333, 833.3333, 625.0]])
    ref["chunk.context_latents"], ref["chunk.latents"], ref["chunk.frame_timesteps"] = ctx, x, t
    ref["chunk.out"] = causal.forward_chunk(x, t, text)
    if check_filled_cache(transformer, text, ctx, x, t, ref["chunk.out"]) > 1e-5:
        raise SystemExit("chunk with a filled cache differs from the block-causal full pass")

    # VAE decode of k latent frames (raw decoder input; the pipeline maps z*std+mean first).
    z = torch.randn(1, 16, VAE_FRAMES, VAE_LATENT_HW, VAE_LATENT_HW, generator=gen)
    ref["vae.latents"], ref["vae.out"] = z, vae.decode(z, return_dict=False)[0]

    # Whole 3-chunk generation, Self-Forcing schedule, all noise given.
    steps = torch.tensor(causal_wan.warped_timesteps()).tolist()  # the float32 values stored
    noise = torch.randn(1, 16, 3 * GEN_CHUNKS, LATENT_HW, LATENT_HW, generator=gen)
    renoise = torch.randn(GEN_CHUNKS, len(steps) - 1, 1, 16, 3, LATENT_HW, LATENT_HW, generator=gen)
    ref["gen.timesteps"], ref["gen.noise"], ref["gen.renoise"] = torch.tensor(steps), noise, renoise
    ref["gen.out"] = causal.generate(noise, text, renoise, steps)

    print(f"reference: {len(ref)} tensors; |gen.out| max {ref['gen.out'].abs().max().item():.3f}, "
          f"|chunk.out| max {ref['chunk.out'].abs().max().item():.3f}, |vae.out| max {ref['vae.out'].abs().max().item():.3f}")
    if args.check_only:
        return
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(out / "tiny", safe_serialization=True)
    # As in published tokenizer.json files: no padding/truncation baked in (the pipeline pads to 512 itself).
    spec = json.loads(tok_json.read_text())
    spec["padding"] = spec["truncation"] = None
    tok_json.write_text(json.dumps(spec, ensure_ascii=False, indent=1) + "\n")
    save_file({k: v.contiguous() for k, v in ref.items()}, str(out / "reference.safetensors"),
              metadata={"prompt": PROMPT, "diffusers": diffusers.__version__, "torch": torch.__version__,
                        "transformers": transformers.__version__, "text_len": str(TEXT_LEN)})
    (out / "reference.json").write_text(json.dumps({
        "prompt": PROMPT, "text_len": TEXT_LEN, "frames_per_chunk": causal_wan.FRAMES_PER_CHUNK,
        "self_forcing_steps": causal_wan.SELF_FORCING_STEPS, "shift": causal_wan.SELF_FORCING_SHIFT,
        "model_timesteps": steps, "context_noise": causal_wan.CONTEXT_NOISE,
        "versions": {"diffusers": diffusers.__version__, "torch": torch.__version__,
                     "transformers": transformers.__version__}}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
