#!/usr/bin/env python3
"""Reference outputs of a GGUF model from transformers, for the C++ GGUF tests.

Loads the file with transformers (`AutoModelForCausalLM.from_pretrained(dir,
gguf_file=name)`, which dequantizes every tensor and undoes llama.cpp's Q/K
permutation) in float32, and for each prompt writes: the exact text, the
token ids (the prompt is given as ids to both sides, so the tokenizer is
not part of this check), the logits at the last prompt position (all of
them, or with --top-k only the k largest as ids and values, to keep the file
small), and 32 greedy tokens (re-forwarding the whole sequence each step,
no KV cache) with the top-1 minus top-2 margin of each step.
The prompts' ids come from the GGUF file's own tokenizer as transformers
builds it (its text is kept so the C++ test can also check its tokenizer).
Usage: dump_gguf_reference.py MODEL.gguf OUT.json [--top-k 64] [--steps 32]
"""
import argparse
import json
import pathlib

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
    "In 1969, 3 astronauts flew to the Moon; the mission's name was",
]


def greedy(model, ids, steps):
    tokens, margins = [], []
    sequence = list(ids)
    with torch.no_grad():
        for _ in range(steps):
            logits = model(torch.tensor([sequence])).logits[0, -1].double()
            top = torch.topk(logits, 2)
            tokens.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]))
            sequence.append(tokens[-1])
    return tokens, margins


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gguf")
    parser.add_argument("out")
    parser.add_argument("--top-k", type=int, default=0, help="keep only the k largest last-position logits")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--model-name", default=None)
    args = parser.parse_args()
    path = pathlib.Path(args.gguf).resolve()
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    model.eval()
    prompts = []
    for text in PROMPTS:
        ids = tokenizer(text, add_special_tokens=True)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, -1].double()
        entry = {"text": text, "input_ids": ids}
        if args.top_k:
            top = torch.topk(logits, args.top_k)
            entry["top_ids"] = [int(i) for i in top.indices]
            entry["top_logits"] = [round(float(v), 6) for v in top.values]
        else:
            entry["last_logits"] = [round(float(v), 6) for v in logits]
        entry["greedy_ids"], margins = greedy(model, ids, args.steps)
        entry["greedy_margins"] = [round(m, 5) for m in margins]
        entry["greedy_text"] = tokenizer.decode(entry["greedy_ids"])
        prompts.append(entry)
    reference = {
        "model": args.model_name or path.name,
        "reference": "transformers float32, from_pretrained(gguf_file=...) (dequantized, Q/K un-permuted)",
        "vocab_size": int(model.config.vocab_size), "steps": args.steps, "prompts": prompts,
    }
    pathlib.Path(args.out).write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
