#!/usr/bin/env python3
"""Writes the logprob reference of a tiny test model for tests/python.

For a few fixed prompts: the token ids the model's tokenizer.json gives (HF
`tokenizers`, special tokens added as the C++ side adds them), and from
transformers in float32 on the checkpoint's weights (fp16 upcast) the
log-softmax of the raw logits: each prompt token's logprob given the tokens
before it (the first has none), their sum, the top-5 ids at each position and
the greedy next token with its logprob. tests/python/test_logprobs.py compares
citadel's /v1/completions (echo + logprobs + max_tokens 0) and /tokenize with
this file.
Usage: dump_logprob_reference.py MODEL_DIR OUT_JSON
"""
import argparse
import json
import pathlib

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

PROMPTS = [
    "The quick brown fox",
    "Permission is hereby granted, free of charge, to any person",
    "def main():\n    return 42\n",
    "Les licences sont rédigées en anglais: ça va? 日本語",
]
TOP = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=pathlib.Path)
    parser.add_argument("out", type=pathlib.Path)
    args = parser.parse_args()
    torch.manual_seed(0)
    tokenizer = Tokenizer.from_file(str(args.model_dir / "tokenizer.json"))
    model = AutoModelForCausalLM.from_pretrained(str(args.model_dir), dtype=torch.float32)
    model.eval()
    cases = []
    for prompt in PROMPTS:
        ids = tokenizer.encode(prompt).ids
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].double()
        logprobs = torch.log_softmax(logits, dim=-1)
        token_logprobs = [None] + [float(logprobs[i - 1, ids[i]]) for i in range(1, len(ids))]
        top = [[int(t) for t in torch.topk(logprobs[i], TOP).indices] for i in range(len(ids))]
        next_id = int(torch.argmax(logprobs[-1]))
        cases.append({
            "prompt": prompt,
            "token_ids": ids,
            "token_logprobs": token_logprobs,
            "sum_logprob": sum(v for v in token_logprobs if v is not None),
            "top_ids_after": top,  # top-5 ids predicted after each position
            "greedy_next_id": next_id,
            "greedy_next_logprob": float(logprobs[-1, next_id]),
        })
    reference = {
        "model": args.model_dir.name,
        "made_by": "tools/dump_logprob_reference.py (transformers, float32, log-softmax of raw logits)",
        "cases": cases,
    }
    args.out.write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
