#!/usr/bin/env python3
"""Makes small random-weight GGUF models (llama, qwen2, qwen3) for the C++ GGUF tests.

Each file is what llama.cpp's converter would write for such a model: general.*
and <arch>.* hyper-parameters, the tokenizer of a committed test model
(tests/data/llm/<source>/tokenizer.json: byte-level BPE tokens, merges, token
types, tokenizer.ggml.pre, BOS/EOS, add_bos_token, the chat template), and the
llama.cpp tensor names. Weights are random ggml blocks with sane fp16 scales
(tools/gguf_blocks.py), so no quantizer is involved: each projection of each
layer gets a different type, and together the files cover every type Citadel
reads (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K Q5_K Q6_K; F16/BF16/Q8_0/Q4_0 embeddings;
tied and untied output). llama-spm-gguf takes its SentencePiece ("llama")
vocabulary from tests/data/tokenizer/spm/gguf_llama/tokenizer.gguf instead. The llama file's Q/K rows are random too, so they are
"already permuted" as llama.cpp stores them; transformers un-permutes them on
load, which the C++ side must match.
Hidden size 256 (K-quant rows need multiples of 256). For qwen3 the head size
is 128 because transformers' GGUF loader takes Qwen3's default head_dim (it
does not read attention.key_length); 4 heads x 128 != hidden 256 still checks
the explicit key_length path.
Usage: make_gguf_models.py [--out tests/data/gguf] [--seed 3]; then
dump_gguf_reference.py for each (tools/make_gguf_models.sh runs both).
"""
import argparse
import json
import pathlib

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFReader, GGUFValueType, GGUFWriter, TokenType

import gguf_blocks

ROOT = pathlib.Path(__file__).resolve().parent.parent

SPECS = {
    "llama-gguf": dict(arch="llama", tokenizer="llama3-gptq", pre="llama-bpe", heads=4, kv_heads=2, head_dim=64,
                       layers=2, ffn=512, theta=500000.0, embed=T.F16, output=T.Q6_K,
                       types=[[T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K],
                              [T.Q6_K, T.Q8_0, T.Q4_K, T.Q6_K, T.Q4_1, T.Q5_1, T.Q4_0]]),
    # SentencePiece ("llama") vocabulary with scores and byte fallback, 1 layer.
    "llama-spm-gguf": dict(arch="llama", tokenizer_gguf="tests/data/tokenizer/spm/gguf_llama/tokenizer.gguf",
                           heads=4, kv_heads=4, head_dim=64, layers=1, ffn=512, theta=10000.0, embed=T.Q4_0,
                           output=T.Q5_0, types=[[T.Q5_K, T.Q4_0, T.Q6_K, T.Q8_0, T.Q5_1, T.Q4_1, T.Q5_0]]),
    "qwen2-gguf": dict(arch="qwen2", tokenizer="qwen2-gptq", pre="qwen2", heads=4, kv_heads=2, head_dim=64,
                       layers=2, ffn=512, theta=1000000.0, embed=T.Q8_0, output=None, bias=True,
                       types=[[T.Q5_K, T.Q6_K, T.Q4_0, T.Q8_0, T.Q4_K, T.Q5_0, T.Q4_1],
                              [T.Q5_1, T.Q4_K, T.Q8_0, T.Q5_K, T.Q6_K, T.Q4_0, T.Q5_0]]),
    "qwen3-gguf": dict(arch="qwen3", tokenizer="qwen3-gptq", pre="qwen2", heads=4, kv_heads=2, head_dim=128,
                       layers=2, ffn=512, theta=1000000.0, embed=T.BF16, output=T.Q4_K, qk_norm=True,
                       types=[[T.Q8_0, T.Q5_1, T.Q6_K, T.Q4_1, T.Q5_0, T.Q6_K, T.Q4_K],
                              [T.Q4_0, T.Q5_K, T.Q5_1, T.Q4_0, T.Q8_0, T.Q5_K, T.Q6_K]]),
}
HIDDEN = 256
PROJECTIONS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]


def tokenizer_metadata(writer, folder, pre):
    spec = json.loads((folder / "tokenizer.json").read_text())
    config = json.loads((folder / "tokenizer_config.json").read_text())
    vocab = dict(spec["model"]["vocab"])
    specials = {}
    for added in spec.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
        specials[added["id"]] = TokenType.CONTROL if added.get("special") else TokenType.USER_DEFINED
    size = max(vocab.values()) + 1
    tokens = [f"[PAD{i}]" for i in range(size)]
    types = [TokenType.UNUSED] * size
    for token, index in vocab.items():
        tokens[index] = token
        types[index] = specials.get(index, TokenType.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)

    def token_of(value):
        return value["content"] if isinstance(value, dict) else value

    for key, adder in (("bos_token", writer.add_bos_token_id), ("eos_token", writer.add_eos_token_id),
                       ("pad_token", writer.add_pad_token_id)):
        if config.get(key):
            adder(vocab[token_of(config[key])])
    post = json.dumps(spec.get("post_processor"))
    writer.add_add_bos_token("SpecialToken" in post)
    template = config.get("chat_template")
    if template is None and (folder / "chat_template.jinja").exists():
        template = (folder / "chat_template.jinja").read_text()
    if template:
        writer.add_chat_template(template)
    return size


def copy_tokenizer_metadata(writer, path):
    """The tokenizer.* keys of another GGUF file, as they are."""
    reader = GGUFReader(str(path))
    size = 0
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), value_type, sub_type)
        if key == "tokenizer.ggml.tokens":
            size = len(field.contents())
    return size


def make_model(name, spec, out_dir, rng):
    out = out_dir / name
    out.mkdir(parents=True, exist_ok=True)
    path = out / "model.gguf"
    arch = spec["arch"]
    writer = GGUFWriter(str(path), arch=arch)
    writer.add_name(name)
    writer.add_context_length(4096)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(spec["layers"])
    writer.add_feed_forward_length(spec["ffn"])
    writer.add_head_count(spec["heads"])
    writer.add_head_count_kv(spec["kv_heads"])
    writer.add_rope_freq_base(spec["theta"])
    writer.add_layer_norm_rms_eps(1e-6)
    if arch == "llama":
        writer.add_rope_dimension_count(spec["head_dim"])
    if arch == "qwen3":
        writer.add_key_length(spec["head_dim"])
        writer.add_value_length(spec["head_dim"])
    if "tokenizer_gguf" in spec:
        vocab = copy_tokenizer_metadata(writer, ROOT / spec["tokenizer_gguf"])
    else:
        vocab = tokenizer_metadata(writer, ROOT / "tests/data/llm" / spec["tokenizer"], spec["pre"])
    writer.add_vocab_size(vocab)

    def blocks(qtype, rows, cols, scale):
        return gguf_blocks.random_blocks(rng, qtype, rows, cols, scale)

    def dense(qtype, array):
        if qtype == T.F32:
            return array.astype(np.float32), None
        if qtype == T.F16:
            return array.astype(np.float16), None
        if qtype == T.BF16:
            bits = (array.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
            return bits.view(np.uint8).reshape(array.shape[0], -1), T.BF16
        raise ValueError(qtype)

    embed = spec["embed"]
    if embed in gguf_blocks.QUANTIZED:
        writer.add_tensor("token_embd.weight", blocks(embed, vocab, HIDDEN, 1.0), raw_dtype=embed)
    else:
        data, raw = dense(embed, rng.standard_normal((vocab, HIDDEN)) * 0.6)
        writer.add_tensor("token_embd.weight", data, raw_dtype=raw)
    writer.add_tensor("output_norm.weight", (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32))
    if spec["output"] is not None:
        writer.add_tensor("output.weight", blocks(spec["output"], vocab, HIDDEN, 0.25), raw_dtype=spec["output"])
    q_dim, kv_dim = spec["heads"] * spec["head_dim"], spec["kv_heads"] * spec["head_dim"]
    shapes = {"attn_q": (q_dim, HIDDEN), "attn_k": (kv_dim, HIDDEN), "attn_v": (kv_dim, HIDDEN),
              "attn_output": (HIDDEN, q_dim), "ffn_gate": (spec["ffn"], HIDDEN), "ffn_up": (spec["ffn"], HIDDEN),
              "ffn_down": (HIDDEN, spec["ffn"])}
    for layer in range(spec["layers"]):
        p = f"blk.{layer}."
        writer.add_tensor(p + "attn_norm.weight", (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32))
        writer.add_tensor(p + "ffn_norm.weight", (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32))
        if spec.get("qk_norm"):
            for norm in ("attn_q_norm", "attn_k_norm"):
                writer.add_tensor(p + norm + ".weight",
                                  (1.0 + 0.1 * rng.standard_normal(spec["head_dim"])).astype(np.float32))
        for proj, qtype in zip(PROJECTIONS, spec["types"][layer]):
            rows, cols = shapes[proj]
            writer.add_tensor(p + proj + ".weight", blocks(qtype, rows, cols, 2.0 / np.sqrt(cols)), raw_dtype=qtype)
        if spec.get("bias"):
            for proj in ("attn_q", "attn_k", "attn_v"):
                writer.add_tensor(p + proj + ".bias", (0.3 * rng.standard_normal(shapes[proj][0])).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "tests/data/gguf"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("names", nargs="*", default=list(SPECS))
    args = parser.parse_args()
    for name in args.names:  # one generator per model: any subset remakes the same files
        rng = np.random.default_rng([args.seed, list(SPECS).index(name)])
        make_model(name, SPECS[name], pathlib.Path(args.out), rng)


if __name__ == "__main__":
    main()
