"""Trains tiny byte-level BPE tokenizers in the Llama-3 and Qwen styles.

Called by make_tiny_model.py. The result has the structure of the real
tokenizers (split regex + ByteLevel pre-tokenizer, special tokens after the
learned vocabulary, chat template) but only a few hundred tokens.
"""
import json
import pathlib

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

import corpus
import tokenizer_files as tf

# style -> (split pattern, special tokens, normal added tokens, bos, eos, chat template, eos ids)
STYLES = {
    "llama3": dict(
        pattern=tf.LLAMA3_PATTERN,
        specials=["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                  "<|end_header_id|>", "<|eot_id|>"],
        plain_added=[],
        bos="<|begin_of_text|>", eos="<|eot_id|>",
        stop=["<|end_of_text|>", "<|eot_id|>"],
        template=tf.LLAMA3_CHAT_TEMPLATE,
    ),
    "qwen": dict(
        pattern=tf.QWEN_PATTERN,
        specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        plain_added=["<think>", "</think>"],
        bos=None, eos="<|im_end|>",
        stop=["<|im_end|>", "<|endoftext|>"],
        template=tf.CHATML_CHAT_TEMPLATE,
    ),
}


def train(style, vocab_size):
    """Returns a trained `tokenizers.Tokenizer` of the given style."""
    spec = STYLES[style]
    tok = Tokenizer(models.BPE())
    if style == "qwen":
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(spec["pattern"]), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[],
    )
    tok.train_from_iterator(corpus.tokenizer_training_texts(), trainer=trainer)
    tok.add_special_tokens(spec["specials"])
    if spec["plain_added"]:
        tok.add_tokens(spec["plain_added"])
    if spec["bos"]:
        bos_id = tok.token_to_id(spec["bos"])
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{spec['bos']} $A", pair=f"{spec['bos']} $A {spec['bos']} $B",
                                          special_tokens=[(spec["bos"], bos_id)]),
        ])
    return tok


def save(tok, style, out_dir, merges_as_strings=False, ignore_merges=False):
    """Writes tokenizer.json, tokenizer_config.json and generation_config.json.

    merges_as_strings writes the older "a b" merge spelling instead of pairs;
    ignore_merges sets the Llama-3 flag that looks whole words up first.
    Returns (bos_id, stop_ids).
    """
    spec = STYLES[style]
    out_dir = pathlib.Path(out_dir)
    data = json.loads(tok.to_str())
    if merges_as_strings:
        data["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in data["model"]["merges"]]
    data["model"]["ignore_merges"] = ignore_merges
    with open(out_dir / "tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
    added = [(t["id"], t["content"], t["special"]) for t in data["added_tokens"]]
    tf.write_tokenizer_config(out_dir / "tokenizer_config.json", added, spec["bos"], spec["eos"],
                              spec["template"], pad_token=None)
    bos_id = tok.token_to_id(spec["bos"]) if spec["bos"] else None
    stop_ids = [tok.token_to_id(t) for t in spec["stop"]]
    tf.write_generation_config(out_dir / "generation_config.json", bos_id, stop_ids)
    return bos_id, stop_ids
