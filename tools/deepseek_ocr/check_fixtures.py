"""Recomputes committed DeepSeek-OCR reference cases from their files and
reports the relative error against ref.safetensors (f32 or bf16 compute).

  python -m deepseek_ocr.check_fixtures --data tests/data/deepseek-ocr [--dtype bf16] [--cases a,b]

Also re-runs the preprocessing of the source page and checks that the views
equal the committed PNGs and that the token counts match. Exits 1 on a
mismatch beyond --tol (f32: 1e-4; bf16 is a report only, tokens compared up
to the first step with a margin below --margin).
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from . import preprocess as P
from .model import DeepseekOcr


def rel(a, b):
    return float((a.float() - b.float()).abs().max() / b.float().abs().max().clamp_min(1e-30))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, type=pathlib.Path)
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--cases", default="")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--margin", type=float, default=1e-2)
    a = ap.parse_args()
    dt = torch.float32 if a.dtype == "f32" else torch.bfloat16
    m = DeepseekOcr.load(a.data / "model", dt)
    index = json.loads((a.data / "index.json").read_text())
    used = torch.tensor(index["used_vocab_ids"])
    ok = True
    for name, case in index["cases"].items():
        if a.cases and name not in a.cases.split(","):
            continue
        d = a.data / "cases" / name
        ref = load_file(str(d / "ref.safetensors"))
        src = Image.open(a.data / case["image"]).convert("RGB")
        mode = P.MODES[case["mode"]]
        glob, tiles, grid = P.views(src, mode, index["max_crops"])
        same_px = np.array_equal(np.asarray(glob), np.asarray(Image.open(d / "global.png"))) and all(
            np.array_equal(np.asarray(t), np.asarray(Image.open(d / f"tile_{i:02d}.png"))) for i, t in enumerate(tiles))
        n_img = P.num_image_tokens(mode, *src.size, index["max_crops"])
        gpx = P.to_tensor(Image.open(d / "global.png").convert("RGB"))[None]
        tpx = torch.stack([P.to_tensor(Image.open(d / f"tile_{i:02d}.png").convert("RGB"))
                           for i in range(case["n_tiles"])]) if case["n_tiles"] else None
        embs, feats = m.image_embeddings(gpx, tpx, tuple(case["grid"]))
        e_emb = rel(embs, ref["image_embeddings"])
        e_feat = max(rel(v, ref[f"{view}.{k}"]) for view, f in feats.items() for k, v in f.items())
        ids = ref["input_ids"]
        lg = m.logits(m.embed(ids, embs))[0]
        e_lg = rel(lg[used], ref["logits_last"])
        toks, _ = m.generate(ids, embs, len(ref["greedy_tokens"]))
        want = ref["greedy_tokens"].tolist()
        margins = ref["greedy_margins"].tolist()
        firm = next((i for i, g in enumerate(margins) if g < a.margin), len(want))
        same = toks == want
        same_firm = toks[:firm] == want[:firm]
        print(f"{name:15s} views={'same' if same_px else 'DIFFER'} tokens={n_img}/{case['n_image_tokens']} "
              f"feat {e_feat:.1e} emb {e_emb:.1e} logits {e_lg:.1e} greedy {'same' if same else 'DIFFER'}"
              f" (firm prefix {firm}: {'same' if same_firm else 'DIFFER'})", flush=True)
        if not same_px or n_img != case["n_image_tokens"]:
            ok = False
        if a.dtype == "f32" and (max(e_emb, e_feat, e_lg) > a.tol or not same):
            ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
