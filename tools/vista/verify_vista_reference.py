"""Reloads tests/data/vista/tiny (diffusers' from_pretrained, HF `tokenizers`
on tokenizer.json) and recomputes every tensor of reference.safetensors from
the stored inputs; exits 1 if any differs by more than 1e-5 (absolute).
Also shows the causal checks are sensitive: a wrong RoPE frame offset and a
missing cache must both move chunk.out.

Run: .venv-vista/bin/python tools/vista/verify_vista_reference.py [DIR]
"""
import pathlib
import sys

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import causal_wan  # noqa: E402
from diffusers import WanPipeline  # noqa: E402

TOL = 1e-5


@torch.no_grad()
def main():
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parent.parent / "tests" / "data" / "vista")
    ref = load_file(str(folder / "reference.safetensors"))
    import json
    meta = json.loads((folder / "reference.json").read_text())
    pipe = WanPipeline.from_pretrained(str(folder / "tiny"))
    failures = []

    def compare(name, got, tol=TOL):
        err = (got - ref[name]).abs().max().item()
        ok = err <= tol
        print(f"{name:22s} max abs err {err:.3e} {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(name)

    tok = Tokenizer.from_file(str(folder / "tiny" / "tokenizer" / "tokenizer.json"))
    ids = tok.encode(meta["prompt"]).ids
    n = len(ids)
    if ref["text.input_ids"][0, :n].tolist() != ids or int(ref["text.attention_mask"].sum()) != n:
        failures.append("text.input_ids (tokenizers on tokenizer.json)")
    print(f"tokenizer.json: {n} ids, match {'ok' if 'text.input_ids (tokenizers on tokenizer.json)' not in failures else 'FAIL'}")
    text = pipe._get_t5_prompt_embeds(meta["prompt"], max_sequence_length=meta["text_len"], device=torch.device("cpu"))
    compare("text.embeds", text)

    tr = pipe.transformer
    tpf = ref["dit.latents"].shape[-1] * ref["dit.latents"].shape[-2] // 4
    ts = ref["dit.frame_timesteps"].repeat_interleave(tpf, dim=1)
    compare("dit.out", tr(ref["dit.latents"], timestep=ts, encoder_hidden_states=text, return_dict=False)[0])

    causal = causal_wan.CausalWan(tr)
    zero = torch.zeros(1, 3)
    ctx = ref["chunk.context_latents"]
    for c in range(ctx.shape[2] // 3):
        causal.forward_chunk(ctx[:, :, 3 * c:3 * c + 3], zero, text, commit=True)
    for i, proc in enumerate(causal.procs):
        compare(f"chunk.cache_k.{i}", proc.k)
        compare(f"chunk.cache_v.{i}", proc.v)
    compare("chunk.out", causal.forward_chunk(ref["chunk.latents"], ref["chunk.frame_timesteps"], text))

    # Sensitivity: the same chunk at frame 0 (RoPE offset lost) and with no cache must differ.
    saved = [(p.k, p.v) for p in causal.procs]
    causal.model.rope.start_frame = 0
    rope_cls = causal_wan.OffsetRope.forward
    causal_wan.OffsetRope.forward = lambda self, h: self.inner(h)
    wrong_rope = causal.forward_chunk(ref["chunk.latents"], ref["chunk.frame_timesteps"], text)
    causal_wan.OffsetRope.forward = rope_cls
    causal.reset()
    no_cache = causal.forward_chunk(ref["chunk.latents"], ref["chunk.frame_timesteps"], text)
    for label, got in (("RoPE offset 0", wrong_rope), ("empty cache", no_cache)):
        err = (got - ref["chunk.out"]).abs().max().item()
        print(f"sensitivity: chunk.out with {label}: max abs err {err:.3e} {'ok' if err > 1e-3 else 'FAIL'}")
        if err <= 1e-3:
            failures.append(f"sensitivity {label}")
    for p, (k, v) in zip(causal.procs, saved):
        p.k, p.v = k, v

    compare("vae.out", pipe.vae.decode(ref["vae.latents"], return_dict=False)[0])
    renoise = ref["gen.renoise"]
    compare("gen.out", causal.generate(ref["gen.noise"], text, renoise, ref["gen.timesteps"].tolist()))
    if failures:
        print("FAILED:", ", ".join(failures))
        sys.exit(1)
    print("all reference tensors reproduced from the stored checkpoint")


if __name__ == "__main__":
    main()
