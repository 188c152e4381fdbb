"""Makes a tiny byte-level BPE tokenizer.json with DeepSeek-OCR's special tokens
at their released ids (BOS 0, EOS 1, PAD 2, <image> 128815 ... <|Assistant|> 128826).

The released tokenizer cannot be downloaded here; this one has the same
structure (ByteLevel BPE, added special tokens) but only a few hundred pieces.
Used by make_tiny.py.
"""
import json

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

BOS, EOS, PAD = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
SPECIALS = {
    "<image>": 128815, "<|ref|>": 128816, "<|/ref|>": 128817, "<|det|>": 128818,
    "<|/det|>": 128819, "<|grounding|>": 128820, "<td>": 128821, "</td>": 128822,
    "<tr>": 128823, "</tr>": 128824, "<|User|>": 128825, "<|Assistant|>": 128826,
}
CORPUS = [
    "Convert the document to markdown.", "OCR this image.", "Free OCR.", "Parse the figure.",
    "Describe this image in detail.", "Locate the title in the image.",
    "# Title\n\nSome text with a table: | a | b |\n", "The quick brown fox jumps over the lazy dog.",
    "[[12, 34, 567, 890]]", "0123456789 ,.;:!?()[]{}<>/\\-_=+*#'\"",
]


def build(vocab_size=400):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS, EOS, PAD],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    j = json.loads(tok.to_str())
    for t in j["added_tokens"]:
        t["special"] = True
    for text, tid in SPECIALS.items():
        j["model"]["vocab"][text] = tid     # else `tokenizers` renumbers them after the vocabulary
        j["added_tokens"].append(dict(id=tid, content=text, single_word=False, lstrip=False,
                                      rstrip=False, normalized=False, special=True))
    out = Tokenizer.from_str(json.dumps(j))
    check(out)
    return out


def check(tok):
    assert tok.token_to_id(BOS) == 0 and tok.token_to_id(EOS) == 1 and tok.token_to_id(PAD) == 2
    for text, tid in SPECIALS.items():
        assert tok.token_to_id(text) == tid, text
        assert tok.encode(text, add_special_tokens=False).ids == [tid], text


def tokenizer_config():
    """tokenizer_config.json as users have it (LlamaTokenizerFast, BOS added, no EOS)."""
    added = {str(i): dict(content=c, special=True) for i, c in enumerate([BOS, EOS, PAD])}
    added.update({str(v): dict(content=k, special=True) for k, v in SPECIALS.items()})
    return dict(tokenizer_class="LlamaTokenizerFast", bos_token=BOS, eos_token=EOS, pad_token=PAD,
                add_bos_token=True, add_eos_token=False, model_max_length=8192,
                added_tokens_decoder=added)
