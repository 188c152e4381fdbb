#!/usr/bin/env python3
"""Perplexity of a model directory (fp16 or GPTQ) on held-out text, numpy forward.

Default text: corpus.heldout_text() (Python docstrings never used for
calibration); --text-file for any other. The text is tokenized without special
tokens and scored in non-overlapping windows of --window tokens (every token
after the first of a window is predicted). Setup-time tool: no torch.
Usage: perplexity.py MODEL_DIR [MODEL_DIR ...] [--window 512] [--max-tokens N]
"""
import argparse
import math
import pathlib

import numpy as np
from tokenizers import Tokenizer

import corpus
import numpy_llama


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def perplexity(model_dir, text, window, max_tokens):
    tok = Tokenizer.from_file(str(pathlib.Path(model_dir) / "tokenizer.json"))
    ids = np.array(tok.encode(text, add_special_tokens=False).ids)[:max_tokens]
    model = numpy_llama.load(model_dir)
    total, count = 0.0, 0
    for start in range(0, len(ids) - 1, window):
        chunk = ids[start:start + window]
        if len(chunk) < 2:
            break
        logp = log_softmax(model.forward(chunk[None, :])[0].astype(np.float64))
        total -= logp[np.arange(len(chunk) - 1), chunk[1:]].sum()
        count += len(chunk) - 1
    return math.exp(total / count), count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dirs", nargs="+")
    parser.add_argument("--text-file")
    parser.add_argument("--window", type=int, default=512)
    parser.add_argument("--max-tokens", type=int, default=8192)
    args = parser.parse_args()
    text = pathlib.Path(args.text_file).read_text() if args.text_file else corpus.heldout_text()
    for model_dir in args.model_dirs:
        ppl, count = perplexity(model_dir, text, args.window, args.max_tokens)
        print(f"{model_dir}: perplexity {ppl:.3f} over {count} tokens")


if __name__ == "__main__":
    main()
