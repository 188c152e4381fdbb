"""Writes the tiny random-weight DeepSeek-OCR checkpoint and its reference outputs.

  python -m deepseek_ocr.make_tiny --out tests/data/deepseek-ocr      (run from tools/)

Output: model/{model.safetensors (bf16, released names), config.json,
tokenizer.json, tokenizer_config.json}, images/*.png, cases/<image>-<mode>/
{global.png, tile_NN.png (the preprocessed uint8 views), ref.safetensors},
index.json. References are computed in f32 from the bf16-rounded weights.
"""
import argparse
import json
import pathlib

import torch
from safetensors.torch import save_file

from . import config as C
from . import images, preprocess as P, tokenizer as T
from .model import DeepseekOcr

PROMPTS = {
    "wide": "<image>\n<|grounding|>Convert the document to markdown.",
    "tall": "<image>\nFree OCR.",
    "small": "<image>\nLocate <|ref|>the title<|/ref|> in the image.",
    "banner": "<image>\n<|grounding|>OCR this image.",
}
N_GREEDY = 32
# every mode on three pages; the 4-tile banner in Gundam only (CPU time)
DEFAULT_CASES = ",".join([f"{i}-{m}" for i in ("small", "wide", "tall") for m in P.MODES] + ["banner-gundam"])


def init_weights(m, cfg, used_ids, seed):
    """Random weights that keep activations O(1); vocabulary rows outside used_ids are zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("norm.weight") or "norm1.weight" in name or "norm2.weight" in name \
                    or "layernorm.weight" in name or "layrnorm.weight" in name or name.startswith("model.sam_model.neck.1.w") \
                    or name.startswith("model.sam_model.neck.3.w") or "layer_norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif name.endswith("rel_pos_h") or name.endswith("rel_pos_w") or "pos_embed" in name \
                    or "position_embedding" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
        h = cfg.text.hidden
        m.model.image_newline.copy_(torch.randn(h, generator=g))
        m.model.view_seperator.copy_(torch.randn(h, generator=g))
        keep = torch.zeros(cfg.text.vocab_size, dtype=torch.bool)
        keep[used_ids] = True
        m.model.embed_tokens.weight.copy_(torch.randn(m.model.embed_tokens.weight.shape, generator=g))
        m.model.embed_tokens.weight[~keep] = 0
        # Large logit scale so greedy margins are wide (robust to bf16/accumulation order).
        m.lm_head.weight.copy_(3.0 * torch.randn(m.lm_head.weight.shape, generator=g))
        m.lm_head.weight[~keep] = 0


def write_model(out, seed):
    cfg = C.tiny()
    tok = T.build()
    used = sorted(set(tok.get_vocab().values()))
    m = DeepseekOcr(cfg)
    init_weights(m, cfg, used, seed)
    d = out / "model"
    m.save(d, torch.bfloat16)
    tok.save(str(d / "tokenizer.json"))
    (d / "tokenizer_config.json").write_text(json.dumps(T.tokenizer_config(), indent=2, ensure_ascii=False) + "\n")
    return tok, used


def run_case(m, tok, used, img, mode, prompt, case_dir):
    glob, tiles, grid = P.views(img, mode)
    case_dir.mkdir(parents=True, exist_ok=True)
    glob.save(case_dir / "global.png", optimize=True)
    for i, t in enumerate(tiles):
        t.save(case_dir / f"tile_{i:02d}.png", optimize=True)
    gpx = P.to_tensor(glob)[None]
    tpx = torch.stack([P.to_tensor(t) for t in tiles]) if tiles else None
    embs, feats = m.image_embeddings(gpx, tpx, grid)
    n_img = P.num_image_tokens(mode, *img.size)
    assert embs.shape[0] == n_img, (embs.shape, n_img)
    ids = P.prompt_ids(tok, prompt, n_img, m.cfg.image_token_id, m.cfg.text.bos_id)
    input_ids = torch.tensor(ids)
    tokens, first = m.generate(input_ids, embs, N_GREEDY)
    # margins: top1 - top2 of each greedy step (how robust the expected tokens are)
    x = m.embed(torch.tensor(ids + tokens[:-1]), embs)
    lg_all = m.logits(x, slice(len(ids) - 1, None))
    top2 = lg_all.topk(2, dim=-1).values
    t = {"input_ids": input_ids, "grid": torch.tensor(grid), "image_embeddings": embs.float(),
         "logits_last": first[used].contiguous(), "greedy_tokens": torch.tensor(tokens),
         "greedy_margins": (top2[:, 0] - top2[:, 1]).contiguous()}
    for view, f in feats.items():
        for k, v in f.items():
            t[f"{view}.{k}"] = v.float().contiguous()
    save_file(t, str(case_dir / "ref.safetensors"))
    return dict(image_size=list(img.size), mode=mode.name, grid=list(grid), n_tiles=len(tiles),
                n_image_tokens=n_img, prompt=prompt, n_prompt_tokens=len(ids),
                greedy_tokens=tokens, greedy_text=tok.decode(tokens, skip_special_tokens=False),
                min_greedy_margin=float(top2[:, 0].sub(top2[:, 1]).min()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--seed", type=int, default=20251020)
    ap.add_argument("--cases", default=DEFAULT_CASES,
                    help="comma-separated IMAGE-MODE pairs (images: %s; modes: %s)"
                    % (",".join(images.PAGES), ",".join(P.MODES)))
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    tok, used = write_model(a.out, a.seed)
    m = DeepseekOcr.load(a.out / "model", torch.float32)
    (a.out / "images").mkdir(parents=True, exist_ok=True)
    index = dict(used_vocab_ids=used, n_greedy=N_GREEDY, max_crops=P.MAX_CROPS, cases={})
    for case in a.cases.split(","):
        name, mode_name = case.split("-")
        img = images.page(name)
        img.save(a.out / "images" / f"{name}.png", optimize=True)
        if True:
            info = run_case(m, tok, used, img, P.MODES[mode_name], PROMPTS[name], a.out / "cases" / case)
            index["cases"][case] = dict(image=f"images/{name}.png", **info)
            print(case, info["grid"], info["n_image_tokens"], "margin %.3f" % info["min_greedy_margin"],
                  info["greedy_tokens"][:8], flush=True)
    (a.out / "index.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
