#!/usr/bin/env python3
"""Writes reference.json for a model directory from transformers in float32.

GPTQ checkpoints are dequantized first (gptq_checkpoint.py), so the reference
is of exactly the weights the C++ side reconstructs; fp16/bf16 checkpoints are
upcast. For each fixed prompt: its token ids, the last-position logits over the
full vocabulary and a greedy continuation of 32 tokens (with the top-1/top-2
logit margin at each step, so a consumer can see how close a tie was). Also
cross-checks numpy_llama against transformers. Called by tests/data/llm/make_all.sh.
Usage: dump_reference.py MODEL_DIR [--steps 32]
"""
import argparse
import json
import pathlib

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

import corpus
import gptq_checkpoint
import hf_checkpoint
import numpy_llama

# Candidates in a fixed order. Random-weight models have near-ties among their
# top logits now and then; a prompt is kept only if every greedy step's top-1/top-2
# margin is at least MIN_MARGIN, so an fp16 implementation cannot flip a token.
TEXT_PROMPTS = [
    "The quick brown fox",
    "Permission is hereby granted, free of charge, to any person",
    "def main():\n    return 42\n",
    "12345 + 678 = ",
    "Hello, world! This is a test.",
    "In the beginning the Universe was created.",
    "Copyright (C) 2007 Free Software Foundation, Inc.",
    "import numpy as np\nx = np.zeros(3)",
    "  indented   text\twith\ttabs  ",
    "Les licences sont rédigées en anglais: ça va? 日本語",
    "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY",
    "you're right, it's what we'll do; they've said I'm ok",
    "a",
    "0.5 * (x + y) / 3.14159",
    "Return the number of items in a container.",
    "The license is granted for the term of the copyright.",
] + [line.strip() for line in corpus.heldout_text().splitlines() if 20 <= len(line.strip()) <= 70][:60]
CHAT_QUESTIONS = [
    "What does the GNU General Public License say?",
    "Write a haiku about the sea.",
    "Hi! Who are you?",
    "Explain recursion in one sentence.",
    "What is 2 + 2?",
    "List three colors.",
    "Translate 'good morning' into French.",
    "Summarize the MIT license.",
    "Why is the sky blue?",
    "Name a prime number larger than 10.",
    "How do I open a file in Python?",
    "Tell me a joke.",
]
TEXT_PROMPTS_KEPT = 4
MIN_MARGIN = 0.03


def dense_tensors(model_dir, config):
    tensors = hf_checkpoint.read_model_tensors(model_dir)
    quant = config.get("quantization_config")
    if quant:
        tensors = gptq_checkpoint.dequantize_checkpoint(tensors, quant)
    return {k: torch.from_numpy(np.ascontiguousarray(v.astype(np.float32))) for k, v in tensors.items()}


def load_float32(model_dir):
    """The transformers model of model_dir in float32 with dequantized weights."""
    config_dict = hf_checkpoint.read_config(model_dir)
    tensors = dense_tensors(model_dir, config_dict)
    config = AutoConfig.from_pretrained(model_dir)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if not (m == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise RuntimeError(f"{model_dir}: missing {missing}, unexpected {unexpected}")
    if config.tie_word_embeddings:
        model.tie_weights()
    return model.eval()


def greedy(model, ids, steps):
    """Greedy continuation by full re-forward each step (no cache: nothing to get wrong)."""
    ids = list(ids)
    out, margins = [], []
    with torch.no_grad():
        for _ in range(steps):
            logits = model(torch.tensor([ids])).logits[0, -1]
            top = torch.topk(logits, 2)
            out.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]))
            ids.append(out[-1])
    return out, margins


def candidate_groups(tokenizer):
    """[(how many to keep, candidate entries)] for plain-text and chat prompts."""
    texts = [{"text": t, "add_special_tokens": True} for t in TEXT_PROMPTS]
    chats = []
    for question in CHAT_QUESTIONS:
        messages = [{"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": question}]
        rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        chats.append({"messages": messages, "text": rendered, "add_special_tokens": False})
    return [(TEXT_PROMPTS_KEPT, texts), (1, chats)]


def evaluate(model, numpy_model, tokenizer, entry, steps):
    ids = tokenizer(entry["text"], add_special_tokens=entry["add_special_tokens"])["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, -1].double().numpy()
    numpy_logits = numpy_model.forward(np.array([ids]))[0, -1].astype(np.float64)
    numpy_error = np.abs(numpy_logits - logits).max() / np.abs(logits).max()
    if numpy_error > 1e-4:
        raise RuntimeError(f"numpy_llama disagrees with transformers: relative error {numpy_error:.2e}")
    tokens, margins = greedy(model, ids, steps)
    print(f"{len(ids)} prompt tokens, logits std {logits.std():.2f}, min greedy margin {min(margins):.4f}, "
          f"numpy rel err {numpy_error:.1e}: {tokenizer.decode(tokens)!r}")
    return {
        **entry, "input_ids": ids,
        "last_logits": [round(float(x), 6) for x in logits],
        "greedy_ids": tokens,
        "greedy_text": tokenizer.decode(tokens, skip_special_tokens=False),
        "greedy_min_margin": round(min(margins), 6),
        "greedy_margins": [round(m, 6) for m in margins],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("--steps", type=int, default=32)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = load_float32(args.model_dir)
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    numpy_model = numpy_llama.load(args.model_dir)
    config = hf_checkpoint.read_config(args.model_dir)
    prompts = []
    for keep, candidates in candidate_groups(tokenizer):
        evaluated = []
        for entry in candidates:
            evaluated.append(evaluate(model, numpy_model, tokenizer, entry, args.steps))
            if sum(e["greedy_min_margin"] >= MIN_MARGIN for e in evaluated) == keep:
                break
        good = [e for e in evaluated if e["greedy_min_margin"] >= MIN_MARGIN]
        if len(good) < keep:
            print(f"warning: only {len(good)} prompts reach margin {MIN_MARGIN}; keeping the widest")
            good = sorted(evaluated, key=lambda e: -e["greedy_min_margin"])[:keep]
        prompts.extend(good)
    reference = {
        "model": pathlib.Path(args.model_dir).name,
        "reference": "transformers float32, dequantized weights" if config.get("quantization_config")
                     else "transformers float32, checkpoint weights upcast",
        "transformers_version": __import__("transformers").__version__,
        "vocab_size": config["vocab_size"],
        "steps": args.steps,
        "stop_tokens_ignored": True,
        "prompt_selection": f"first candidates whose greedy top-1/top-2 margin stays >= {MIN_MARGIN}",
        "prompts": prompts,
    }
    with open(pathlib.Path(args.model_dir) / "reference.json", "w") as f:
        json.dump(reference, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
