#!/usr/bin/env python3
"""Makes the test data for the SentencePiece-style tokenizers of sdk/runtime/text.

Trains two tiny tokenizers with the Hugging Face `tokenizers` package's own
trainers on the project's corpus (tools/corpus.py) plus a multilingual sample,
wraps them the way real model files do, and writes, per variant, a
tokenizer.json and vectors.json: ids (with and without special tokens) and
decodes that `tokenizers` itself computes for the test texts and for random
strings, plus decodes of random id sequences. Variants:

  spm_llama2/   BPE, byte_fallback, fuse_unk; normalizer Prepend("▁") +
                Replace(" ", "▁"), no pre-tokenizer; decoder Replace + ByteFallback
                + Fuse + Strip; TemplateProcessing adds <s> (Llama-2, TinyLlama)
  spm_mistral/  the same model with the newer spelling: Metaspace(prepend_scheme
                "first", split false) pre-tokenizer, no normalizer, added control
                tokens [INST] [/INST]
  unigram_t5/   Unigram (Viterbi over scores, unk); normalizer Precompiled
                (a SentencePiece charsmap compiled from NFKC rules) + Strip +
                Replace(" {2,}", " "); WhitespaceSplit + Metaspace("always", split)
                pre-tokenizer; Metaspace decoder; "$A </s>" (T5/UMT5)
  unigram_fallback/ a Unigram vocabulary with byte_fallback <0xNN> pieces,
                NFKC normalizer, Metaspace + ByteFallback + Fuse decoder
  gguf_llama/   the spm vocabulary as GGUF stores it ("llama" model: tokens,
                scores, token types; no merges) in tokenizer.gguf (tokenizer
                metadata only), its arrays in vocab.json, and vectors from transformers' GGUF tokenizer
                conversion (AutoTokenizer.from_pretrained(..., gguf_file=...));
                scores come in equal pairs so the merge-order ties are exercised
  gguf_gpt2/    the byte-level BPE of tests/data/tokenizer/llama3 as a GGUF "gpt2"
                tokenizer (tokens, merges, pre "llama-bpe"), same reference

Run: python3 tools/spm_tokenizer_vectors.py --out tests/data/tokenizer/spm [--fuzz N]
(the committed files: tokenizers, sentencepiece, transformers and gguf as
pinned in tools/requirements*.txt; the defaults). A larger fuzz run writes
elsewhere: --out /tmp/fuzz --fuzz 3000, then
CITADEL_TOKENIZER_FUZZ_DIR=/tmp/fuzz build-test/tests/citadel-tests "[.tokenizer-fuzz]"; with --nmt-nfkc the
Unigram variant carries the full nmt_nfkc charsmap of real T5/UMT5 files.
"""
import argparse
import io
import json
import os
import pathlib
import random
import sys
import tempfile
import unicodedata

from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers,
                        processors, trainers)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

MULTILINGUAL = """
Les élèves étudient le français à l'école. Ça va très bien, merci !
Der Fluß fließt schnell; Grüße aus München. Straße, Größe, Übermaß.
Быстрая коричневая лиса прыгает через ленивую собаку.
东京是日本的首都。我喜欢学习中文和编程。日本語のテキストも少し。ひらがなとカタカナ。
한국어 문장도 있습니다. 안녕하세요! हिन्दी में कुछ शब्द। العربية نص قصير.
Emoji: 😀 🚀 👍🏽 🇫🇷 ❤️ 🧑‍💻  Numbers: 3.14159, 2026-11-23, 1,000,000 and 42.
"""

TEXTS = [
    "Hello world", "Hello world!", " Hello  world ", "  two leading", "trailing two  ",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure they've said we'll see; you'd think IT'S DONE.",
    "Numbers: 1 12 123 1234 12345 3.14159 -42 1,000,000",
    "line one\nline two\n\n\nline five\r\nwindows", "tabs\tand\t\tmixed \t whitespace",
    "Les élèves étudient à l'école. Größe! Straße.", "Быстрая лиса и 東京 와 한국어",
    "Emoji 😀🚀 and 👍🏽 plus 🧑‍💻 and flags 🇫🇷", "<s>Hello</s>", "<s> Hello </s>",
    "[INST] What is 2+2? [/INST] 4</s>", "a[INST]b [/INST]c", "<unk> and <0x41> literally",
    "▁already▁has▁metaspace ▁", "▁", "▁▁ ▁", "", " ", "  ", "\n", "\t", "x", "zzzzqqqq xyzzy",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ １２３", "ﬁnancial ﬂow ﬀ", "x² + y³ = z⁴ ½ ¼", "① ② ⑩ Ⅻ ㎏ ㍿",
    "e\u0301 a\u0300 o\u0308 n\u0303 Ａ\u0301", "Å Å Å", "\u3000ideographic\u3000space",
    "nbsp\u00a0here and\u2003em", "zero\u200bwidth\u200djoin", "ctrl\x00\x01\x07\x1b\x7f end",
    "ÀÉÎÕÜ àéîõü ñ ç ß ø å", "GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007",
    "a" * 40, " " * 17 + "spaces", "def f(x):\n    return x**2  # square\n",
    "東京東京東京学学学", "한국어한국어", "🧑🏽‍🚀🧑🏽‍🚀", "<tool>call<tool>", "a<tool>b <tool> c",
]

# Pieces for random strings: letters of several scripts, digits, many kinds of
# space and control, combining marks (alone and after fullwidth letters, where
# SentencePiece's charsmap lookup by grapheme shows), emoji with modifiers and
# joiners, compatibility characters, the metaspace and byte-token look-alikes,
# special tokens.
PIECES = ["a", "Z", "é", "ß", "Ж", "東", "京", "😀", "🏽", "\u200d", "1", "23", "٣", "½", "²", " ", "  ",
          "   ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2003", "'s", "!", "?", "...", "-", "_",
          "(", ")", "\"", "#", "€", "ü", "ǅ", "Ⅻ", "〇", "\x00", "\x01", "\x1b", "\x7f", "\x85", "\u180e",
          "\u200b", "\u2028", "\ufeff", "\x0b", "\x0c", "\U0001d7d8", "ﬁ", "İ", "K", "\u0301", "\u0323",
          "e\u0301", "Ａ\u0301", "ａ", "Ｚ", "１", "①", "㎏", "\u1100\u1161", "\u11a8", "\u212b", "▁", "▁▁",
          "<s>", "</s>", "<unk>", "<0x41>", "<0xE6>", "[INST]", "[/INST]", "<tool>", "hello", "world",
          " the", "ing", "हि", "न्दी", "ع", "ة", "한", "ひ", "カ", "🇫🇷", "❤️", "\U0001f9d1\u200d\U0001f4bb",
          "\U000e0001", "\U00010000", "\U0010fffd", "\ue000"]


def random_char(rng):
    """A random assigned, non-surrogate code point (Unicode of this Python)."""
    while True:
        cp = rng.choice([rng.randint(0x20, 0x7ff), rng.randint(0x800, 0xffff), rng.randint(0x10000, 0x1ffff),
                         rng.randint(0x4e00, 0x9fff), rng.randint(0x300, 0x36f), rng.randint(0x1f300, 0x1faff)])
        if 0xd800 <= cp <= 0xdfff:
            continue
        if unicodedata.category(chr(cp)) != "Cn":
            return chr(cp)


def random_texts(count, seed):
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 24)):
            parts.append(random_char(rng) if rng.random() < 0.25 else rng.choice(PIECES))
        texts.append("".join(parts))
    return texts


def training_texts():
    return corpus.tokenizer_training_texts() + [MULTILINGUAL] * 30


def nfkc_rules_tsv(path):
    """SentencePiece normalization rules: NFKC of a few blocks (compatibility
    letters, ligatures, super/subscripts, enclosed and squared forms, fullwidth
    forms), composed accent sequences, and nmt-style space and control
    mapping, as in the nmt_nfkc rule set but small enough to commit."""
    rules = {}
    def hexs(text):
        return " ".join(f"{ord(c):X}" for c in text)
    ranges = [(0xa0, 0x17f), (0x2000, 0x20ff), (0x2100, 0x218f), (0x2460, 0x24ff), (0x3000, 0x3000),
              (0x3380, 0x33ff), (0xfb00, 0xfb06), (0xff01, 0xff5e)]
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            n = unicodedata.normalize("NFKC", c)
            if n != c:
                rules[hexs(c)] = hexs(n)
    for base in "AEIOUNaeioun":
        for mark in "\u0300\u0301\u0302\u0303\u0308":
            composed = unicodedata.normalize("NFC", base + mark)
            if len(composed) == 1:
                rules[hexs(base + mark)] = hexs(composed)
    for cp in list(range(0x01, 0x09)) + [0x0b, 0x0e, 0x0f, 0x1b, 0x7f, 0x200b, 0xfeff]:
        rules[f"{cp:X}"] = ""
    for cp in [0x09, 0x0a, 0x0c, 0x0d, 0x3000, 0x2028, 0xa0]:
        rules[f"{cp:X}"] = "20"
    with open(path, "w", encoding="utf-8") as f:
        for source, target in sorted(rules.items()):
            f.write(f"{source}\t{target}\n")


def _protobuf_fields(data):
    """(field, wire type, value) of a serialized protobuf message."""
    def varint(i):
        result = shift = 0
        while True:
            byte = data[i]
            i += 1
            result |= (byte & 0x7f) << shift
            shift += 7
            if byte < 0x80:
                return result, i
    i = 0
    while i < len(data):
        key, i = varint(i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(i)
        elif wire == 2:
            n, i = varint(i)
            value, i = data[i:i + n], i + n
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        else:
            raise ValueError(f"protobuf wire type {wire}")
        yield field, wire, value


def compiled_charsmap(rules_tsv):
    """The precompiled_charsmap SentencePiece builds from `rules_tsv`, or its
    full built-in nmt_nfkc rules (as in real T5/UMT5 files) when None
    (ModelProto.normalizer_spec = field 3, precompiled_charsmap = field 2)."""
    import sentencepiece as spm
    model = io.BytesIO()
    rules = {"normalization_rule_tsv": str(rules_tsv)} if rules_tsv else {"normalization_rule_name": "nmt_nfkc"}
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["hello world this is a test of things"] * 50), model_writer=model,
        vocab_size=19, hard_vocab_limit=False, model_type="unigram", minloglevel=2, **rules)
    for field, _, value in _protobuf_fields(model.getvalue()):
        if field == 3:
            for inner, _, blob in _protobuf_fields(value):
                if inner == 2:
                    return bytes(blob)
    raise RuntimeError("no precompiled_charsmap in the SentencePiece model")


SPM_SPECIALS = ["<unk>", "<s>", "</s>"]


def train_spm_bpe(vocab_size):
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    # Trained on "▁"-prefixed words, as SentencePiece learns its pieces.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bytes_alphabet = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  special_tokens=SPM_SPECIALS + bytes_alphabet, limit_alphabet=400)
    tok.train_from_iterator(training_texts(), trainer)
    return tok


def spm_llama2(base):
    tok = Tokenizer.from_str(base.to_str())
    tok.add_special_tokens(SPM_SPECIALS)
    tok.add_tokens(["<tool>"])
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = None
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def spm_mistral(base):
    tok = Tokenizer.from_str(base.to_str())
    tok.add_special_tokens(SPM_SPECIALS + ["[INST]", "[/INST]"])
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def train_unigram(vocab_size, charsmap, byte_fallback):
    specials = ["<pad>", "</s>", "<unk>"] + ([f"<0x{b:02X}>" for b in range(256)] if byte_fallback else [])
    tok = Tokenizer(models.Unigram())
    if byte_fallback:
        tok.normalizer = normalizers.NFKC()
    else:
        tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap), normalizers.Strip(left=False, right=True),
                                               normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")])
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, show_progress=False, special_tokens=specials,
                                      unk_token="<unk>", max_piece_length=12)
    tok.train_from_iterator(training_texts(), trainer)
    if byte_fallback:  # the trainer does not set the flag: the <0xAB> pieces are in the vocabulary
        spec = json.loads(tok.to_str())
        spec["model"]["byte_fallback"] = True
        tok = Tokenizer.from_str(json.dumps(spec))
    tok.add_special_tokens(specials[:3] + ["<extra_id_0>", "<extra_id_1>"])
    if byte_fallback:
        tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme="always"),
                                         decoders.ByteFallback(), decoders.Fuse()])
    else:
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return tok


def vectors_for(tok, texts, rng):
    out = []
    for text in texts:
        ids = tok.encode(text, add_special_tokens=True).ids
        out.append({"text": text, "ids": ids,
                    "ids_no_special": tok.encode(text, add_special_tokens=False).ids,
                    "decoded": tok.decode(ids, skip_special_tokens=False),
                    "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    size = tok.get_vocab_size(with_added_tokens=True)
    decodes = []
    for _ in range(max(20, len(texts) // 4)):
        ids = [rng.randrange(size) for _ in range(rng.randint(1, 12))]
        # Runs of byte tokens (valid and invalid UTF-8) next to words.
        byte_ids = [i for i in range(size) if (tok.id_to_token(i) or "").startswith("<0x")]
        if byte_ids and rng.random() < 0.5:
            at = rng.randrange(len(ids) + 1)
            ids[at:at] = [rng.choice(byte_ids) for _ in range(rng.randint(1, 4))]
        decodes.append({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                        "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    return {"encode": out, "decode": decodes}


def write_variant(out_dir, name, tok, texts, seed):
    folder = pathlib.Path(out_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    text = tok.to_str()
    (folder / "tokenizer.json").write_text(json.dumps(json.loads(text), ensure_ascii=False), encoding="utf-8")
    written = Tokenizer.from_file(str(folder / "tokenizer.json"))  # vectors of what was written
    data = vectors_for(written, texts, random.Random(seed))
    (folder / "vectors.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    print(name, written.get_vocab_size(), "tokens,", len(data["encode"]), "texts,", len(data["decode"]), "id lists")


def write_gguf(folder, arrays, gguf_path):
    """`gguf_path`: a GGUF file with only tokenizer metadata; vocab.json in
    `folder`: the same arrays (what the C++ test hands to
    make_tokenizer_from_gguf_vocab)."""
    import gguf
    writer = gguf.GGUFWriter(str(gguf_path), "llama")
    writer.add_tokenizer_model(arrays["model"])
    if "pre" in arrays:
        writer.add_tokenizer_pre(arrays["pre"])
    writer.add_token_list(arrays["tokens"])
    if "scores" in arrays:
        writer.add_token_scores(arrays["scores"])
    writer.add_token_types(arrays["token_type"])
    if "merges" in arrays:
        writer.add_token_merges(arrays["merges"])
    for key, add in (("bos_token_id", writer.add_bos_token_id), ("eos_token_id", writer.add_eos_token_id),
                     ("unknown_token_id", writer.add_unk_token_id), ("padding_token_id", writer.add_pad_token_id),
                     ("add_bos_token", writer.add_add_bos_token), ("add_eos_token", writer.add_add_eos_token)):
        if key in arrays:
            add(arrays[key])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    (folder / "vocab.json").write_text(json.dumps(arrays, ensure_ascii=False), encoding="utf-8")


def gguf_vectors(folder, gguf_path, texts, seed, legacy=False):
    """vectors.json from transformers' GGUF tokenizer; with `legacy`, also
    vectors_legacy.json from the same tokenizer with the Llama-2
    tokenizer.json spelling (Prepend + Replace normalizer: "▁" before every
    text piece, also after special tokens, which is what llama.cpp does)."""
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    data = vectors_for(hf.backend_tokenizer, texts, random.Random(seed))
    (folder / "vectors.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    print(folder.name, hf.backend_tokenizer.get_vocab_size(), "tokens,", len(data["encode"]), "texts")
    if legacy:
        tok = Tokenizer.from_str(hf.backend_tokenizer.to_str())
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.pre_tokenizer = None
        data = vectors_for(tok, texts[:len(texts) // 2], random.Random(seed))
        (folder / "vectors_legacy.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def gguf_llama(out_dir, base, texts, seed):
    """The spm vocabulary written as a GGUF "llama" tokenizer."""
    folder = pathlib.Path(out_dir) / "gguf_llama"
    folder.mkdir(parents=True, exist_ok=True)
    vocab = json.loads(base.to_str())["model"]["vocab"]
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])] + ["<tool>", "<|im_end|>"]
    # Scores as SentencePiece gives a BPE vocabulary (-rank), in equal pairs.
    scores = [-float(i // 2) for i in range(len(tokens))]
    types = [2 if t == "<unk>" else 3 if t in ("<s>", "</s>", "<|im_end|>") else
             6 if t.startswith("<0x") and len(t) == 6 else 4 if t == "<tool>" else 1 for t in tokens]
    write_gguf(folder, {"model": "llama", "tokens": tokens, "scores": scores, "token_type": types,
                        "bos_token_id": tokens.index("<s>"), "eos_token_id": tokens.index("</s>"),
                        "unknown_token_id": tokens.index("<unk>"), "add_bos_token": True, "add_eos_token": False},
               folder / "tokenizer.gguf")
    gguf_vectors(folder, folder / "tokenizer.gguf", texts, seed, legacy=True)


def gguf_gpt2(out_dir, byte_level_json, texts, seed, scratch):
    """A byte-level BPE (tests/data/tokenizer/llama3) as a GGUF "gpt2" tokenizer."""
    folder = pathlib.Path(out_dir) / "gguf_gpt2"
    folder.mkdir(parents=True, exist_ok=True)
    spec = json.loads(pathlib.Path(byte_level_json).read_text(encoding="utf-8"))
    size = max(list(spec["model"]["vocab"].values()) + [t["id"] for t in spec["added_tokens"]]) + 1
    tokens = [""] * size
    for token, i in spec["model"]["vocab"].items():
        tokens[i] = token
    types = [1] * size
    for t in spec["added_tokens"]:
        tokens[t["id"]] = t["content"]
        types[t["id"]] = 3 if t["special"] else 4
    # As in Qwen2 and SmolLM files: without it, transformers' GPT2Tokenizer
    # adds its default "<|endoftext|>" as a new token past the model's vocabulary.
    tokens.append("<|endoftext|>")
    types.append(3)
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    write_gguf(folder, {"model": "gpt2", "pre": "llama-bpe", "tokens": tokens, "token_type": types,
                        "merges": merges, "bos_token_id": tokens.index("<|begin_of_text|>"),
                        "eos_token_id": tokens.index("<|eot_id|>"), "add_bos_token": True},
               pathlib.Path(scratch) / "tokenizer.gguf")  # vocab.json holds the same; not committed
    gguf_vectors(folder, pathlib.Path(scratch) / "tokenizer.gguf", texts, seed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the variant folders")
    parser.add_argument("--fuzz", type=int, default=100, help="random strings per variant")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--vocab", type=int, default=800)
    parser.add_argument("--nmt-nfkc", action="store_true",
                        help="unigram_t5 with SentencePiece's full nmt_nfkc charsmap (240 KB; not committed)")
    args = parser.parse_args()
    texts = TEXTS + random_texts(args.fuzz, args.seed)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rules = out / "nfkc_rules.tsv"
    if args.nmt_nfkc:
        charsmap = compiled_charsmap(None)
    else:
        nfkc_rules_tsv(rules)
        charsmap = compiled_charsmap(rules)
        rules.unlink()
    base = train_spm_bpe(args.vocab)
    write_variant(out, "spm_llama2", spm_llama2(base), texts, args.seed + 1)
    write_variant(out, "spm_mistral", spm_mistral(base), texts, args.seed + 2)
    write_variant(out, "unigram_t5", train_unigram(args.vocab, charsmap, False), texts, args.seed + 3)
    write_variant(out, "unigram_fallback", train_unigram(args.vocab, charsmap, True), texts, args.seed + 4)
    gguf_llama(out, base, texts, args.seed + 5)
    with tempfile.TemporaryDirectory() as scratch:
        gguf_gpt2(out, pathlib.Path(__file__).resolve().parent.parent / "tests/data/tokenizer/llama3/tokenizer.json",
                  texts, args.seed + 6, scratch)


if __name__ == "__main__":
    main()
