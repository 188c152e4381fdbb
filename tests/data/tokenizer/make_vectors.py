#!/usr/bin/env python3
"""Makes the tokenizer test data for tests/runtime/tokenizer_test.cpp.

Trains a tiny byte-level BPE with the Hugging Face `tokenizers` package
(pip install tokenizers) on Debian's license texts plus a multilingual
sample, then writes three tokenizer.json variants that share its vocabulary
and merges but differ the way real models do:

  llama3/  Split(Llama-3 regex) + ByteLevel(use_regex=false), merges as
           [a, b] pairs, ignore_merges=true, TemplateProcessing adding
           <|begin_of_text|>
  qwen2/   NFC normalizer, Split(Qwen2 regex) + ByteLevel, merges as "a b"
           strings, no BOS, an added token with lstrip/rstrip
  gpt2/    Digits(individual) + ByteLevel(add_prefix_space, use_regex)
           (SmolLM2 style), a single_word added token

and for each, vectors.json: [{text, ids, ids_no_special, decoded}] computed
by `tokenizers` itself (the committed files: tokenizers 0.23.3).
Run from this folder: python3 make_vectors.py
"""
import glob
import json
import os
import random

from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers,
                        processors, trainers)

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

MULTILINGUAL = """
Les élèves étudient le français à l'école. Ça va très bien, merci !
Der Fluß fließt schnell; Grüße aus München. Straße, Größe, Übermaß.
Быстрая коричневая лиса прыгает через ленивую собаку.
东京是日本的首都。我喜欢学习中文和编程。
日本語のテキストも少し入れておきます。ひらがなとカタカナ。
한국어 문장도 있습니다. 안녕하세요!
Emoji: 😀 🚀 👍🏽 🇫🇷 ❤️ 🧑‍💻
Numbers: 3.14159, 2026-11-23, 1,000,000 and 42 apples; 1234567890.
Code: def f(x): return x**2  # comment\n\tif (a != b) { c += 1; }
I'm sure they've said we'll see; you'd think it's THEY'RE DONE.
"""

TEXTS = [
    "Hello world",
    "Hello world!",
    " Hello  world ",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure they've said we'll see; you'd think IT'S DONE.",
    "Numbers: 1 12 123 1234 12345 3.14159 -42 1,000,000",
    "   leading spaces and trailing   ",
    "line one\nline two\n\n\nline five\r\nwindows",
    "tabs\tand\t\tmixed \t whitespace",
    "Les élèves étudient à l'école. Größe! Straße.",
    "Быстрая лиса и 東京 와 한국어",
    "Emoji 😀🚀 and 👍🏽 plus 🧑‍💻 and flags 🇫🇷",
    "<|begin_of_text|>Hello<|eot_id|>",
    "<|start_header_id|>user<|end_header_id|>\n\nHi there!<|eot_id|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
    "special tokens<|end_of_text|>in<|im_end|>the middle",
    "a<tool>b <tool> c",
    "def f(x):\n    return x**2  # square\n",
    "",
    " ",
    "\n",
    "zzzzqqqq xyzzy",
    "ÀÉÎÕÜ àéîõü ñ ç ß ø å",
    "GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007",
    "a" * 40,
    "a١٢b½c²d三e12x 2²",
    "hello <mask> world  <mask>x\n<mask>",
    "cat concat cat. cats (cat)",
    "😀cat\" 🏽cat½ ácat ·cat é cat xcat x_cat 1cat \tcat )",
    "a\u3000<mask>\u3000(\u00a0<mask>\u2003b",
]


# Random mixes of pieces that stress the regexes and added-token rules:
# letters of several scripts and cases, digits and numerals of several kinds,
# Unicode spaces and near-spaces (U+180E is not White_Space), contractions,
# special and single-word tokens next to anything, combining marks and Hangul
# jamo (which qwen2's NFC normalizer composes).
PIECES = ["a", "Z", "é", "ß", "Ж", "東", "😀", "🏽", "\u200d", "1", "23", "٣", "½", "²", " ", "  ",
          "\t", "\n", "\r\n", "\u00a0", "\u3000", "'s", "'T", "'ll", "'RE", "!", "?", "...", "-",
          "_", "(", ")", "\"", "#", "$", "€", "ü", "ǅ", "Ⅻ", "〇", "\x00", "\x7f", "<|eot_id|>",
          "<|im_end|>", "<tool>", "<mask>", "cat", "\x1c", "\x85", "\u180e", "\u200b", "\u2028",
          "\ufeff", "\x0b", "\x0c", "\U0001d7d8", "\u0660", "\u2160", "ǈ", "Ǆ", "ﬁ", "İ", "ı", "K",
          "\u0301", "\u0323", "\u0302", "e\u0301", "\u1100", "\u1161", "\u11a8", "\u212b", "\u0958",
          "\u0b47", "\u0b3e"]


def random_texts(count, seed=5):
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 30))) for _ in range(count)]


def corpus():
    texts = [MULTILINGUAL] * 20
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append(f.read())
    return texts


def train():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    return tok


def build(base_json, variant):
    spec = json.loads(base_json)
    model = spec["model"]
    vocab_size = len(model["vocab"])
    if variant == "llama3":
        specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                    "<|end_header_id|>", "<|eot_id|>"]
        model["ignore_merges"] = True
    elif variant == "qwen2":
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        model["ignore_merges"] = False
    else:
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        model["ignore_merges"] = False
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.add_special_tokens(specials)
    tok.add_tokens(["<tool>"])
    if variant == "qwen2":  # strips the whitespace around it
        tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True)])
    if variant == "gpt2":  # only as a whole word
        tok.add_tokens([AddedToken("cat", single_word=True)])
    if variant == "llama3":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        bos = specials[0]
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
            special_tokens=[(bos, tok.token_to_id(bos))])
    elif variant == "qwen2":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        tok.normalizer = normalizers.NFC()
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
        ])
        tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.decoder = decoders.ByteLevel()
    out = json.loads(tok.to_str())
    if variant == "qwen2":  # the older spelling of merges: "a b" strings
        out["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m
                                  for m in out["model"]["merges"]]
    assert vocab_size == len(out["model"]["vocab"])
    return out


def main():
    base = train().to_str()
    for variant in ("llama3", "qwen2", "gpt2"):
        spec = build(base, variant)
        os.makedirs(variant, exist_ok=True)
        text = json.dumps(spec, ensure_ascii=False, indent=1)
        with open(os.path.join(variant, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(text)
        tok = Tokenizer.from_str(text)  # check what was written, not what was built
        vectors = []
        for t in TEXTS + random_texts(200):
            ids = tok.encode(t, add_special_tokens=True).ids
            vectors.append({
                "text": t,
                "ids": ids,
                "ids_no_special": tok.encode(t, add_special_tokens=False).ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
            })
        with open(os.path.join(variant, "vectors.json"), "w", encoding="utf-8") as f:
            json.dump(vectors, f, ensure_ascii=False, indent=1)
        print(variant, len(spec["model"]["vocab"]), "tokens,", len(vectors), "vectors")


if __name__ == "__main__":
    main()
