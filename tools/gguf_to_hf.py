#!/usr/bin/env python3
"""Converts a Llama-architecture GGUF file into a Hugging Face model directory (fp16).

Reads with the `gguf` package (PyPI): metadata -> config.json
(LlamaForCausalLM), the GPT-2 style tokenizer (tokenizer.ggml.*) ->
tokenizer.json (byte-level BPE with merges, special tokens) and
tokenizer_config.json (chat template), tensors dequantized (Q4_0/Q4_1/Q8_0/
F16/F32/... as the gguf package supports) with llama.cpp's Q/K row permutation
for rotary undone, saved as fp16 safetensors. Setup-time tool: numpy, gguf,
tokenizers, safetensors only.
Usage: gguf_to_hf.py MODEL.gguf OUT_DIR
"""
import argparse
import pathlib

import gguf
import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

import hf_checkpoint
import tokenizer_files

TENSOR_NAMES = {  # GGUF name (after "blk.N.") -> HF name (after "model.layers.N.")
    "attn_norm.weight": "input_layernorm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
GLOBAL_NAMES = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                "output.weight": "lm_head.weight"}
CONTROL, USER_DEFINED = 3, 4  # gguf token types


def field(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def unpermute(weight, heads):
    """Undo llama.cpp's convert permute(): rows per head interleaved (pairs) -> halves."""
    rows = weight.shape[0]
    return weight.reshape(heads, rows // heads // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def convert_config(reader):
    arch = field(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(f"general.architecture {arch!r}: only llama is supported")
    heads = int(field(reader, "llama.attention.head_count"))
    hidden = int(field(reader, "llama.embedding_length"))
    tensor_names = {t.name for t in reader.tensors}
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": hidden, "intermediate_size": int(field(reader, "llama.feed_forward_length")),
        "num_hidden_layers": int(field(reader, "llama.block_count")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(field(reader, "llama.attention.head_count_kv", heads)),
        "head_dim": int(field(reader, "llama.rope.dimension_count", hidden // heads)),
        "max_position_embeddings": int(field(reader, "llama.context_length")),
        "rms_norm_eps": float(field(reader, "llama.attention.layer_norm_rms_epsilon")),
        "rope_theta": float(field(reader, "llama.rope.freq_base", 10000.0)),
        "rope_scaling": None, "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
        "tie_word_embeddings": "output.weight" not in tensor_names,
        "vocab_size": len(field(reader, "tokenizer.ggml.tokens")),
        "bos_token_id": int(field(reader, "tokenizer.ggml.bos_token_id")),
        "eos_token_id": int(field(reader, "tokenizer.ggml.eos_token_id")),
        "torch_dtype": "float16",
    }


def convert_tensors(reader, config):
    tensors = {}
    for t in reader.tensors:
        name = t.name
        if name.startswith("blk."):
            _, layer, rest = name.split(".", 2)
            if rest not in TENSOR_NAMES:
                raise ValueError(f"tensor {name}: no Hugging Face counterpart known")
            hf_name = f"model.layers.{layer}.{TENSOR_NAMES[rest]}"
        elif name in GLOBAL_NAMES:
            hf_name = GLOBAL_NAMES[name]
        elif name == "rope_freqs.weight":
            continue  # derived from the config on load
        else:
            raise ValueError(f"tensor {name}: no Hugging Face counterpart known")
        value = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        value = value.reshape([int(d) for d in reversed(t.shape)])  # GGUF lists dims innermost first
        if rest_is(name, "attn_q.weight"):
            value = unpermute(value, config["num_attention_heads"])
        elif rest_is(name, "attn_k.weight"):
            value = unpermute(value, config["num_key_value_heads"])
        tensors[hf_name] = value.astype(np.float16)
    return tensors


def rest_is(name, suffix):
    return name.startswith("blk.") and name.endswith("." + suffix)


def convert_tokenizer(reader, out_dir, config):
    if field(reader, "tokenizer.ggml.model") != "gpt2":
        raise ValueError(f"tokenizer.ggml.model {field(reader, 'tokenizer.ggml.model')!r}: only gpt2 (byte-level BPE)")
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in field(reader, "tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    pre = field(reader, "tokenizer.ggml.pre", "default")
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    if pre in ("smollm", "starcoder", "refact"):  # digits split one by one, then GPT-2's regex
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    elif pre in ("default", "gpt-2", "gpt2"):
        tok.pre_tokenizer = byte_level
    else:
        raise ValueError(f"tokenizer.ggml.pre {pre!r}: pre-tokenizer not supported by this converter")
    tok.decoder = decoders.ByteLevel()
    specials = [(i, t) for i, (t, k) in enumerate(zip(tokens, types)) if k in (CONTROL, USER_DEFINED)]
    tok.add_special_tokens([t for i, t in specials if types[i] == CONTROL])
    tok.add_tokens([t for i, t in specials if types[i] == USER_DEFINED])
    tok.save(str(out_dir / "tokenizer.json"))
    template = field(reader, "tokenizer.chat_template")
    eos = "<|im_end|>" if template and "<|im_end|>" in template and "<|im_end|>" in tokens else tokens[config["eos_token_id"]]
    bos = tokens[config["bos_token_id"]]
    tokenizer_files.write_tokenizer_config(
        out_dir / "tokenizer_config.json", [(i, t, types[i] == CONTROL) for i, t in specials],
        bos, eos, template, pad_token=tokens[int(field(reader, "tokenizer.ggml.padding_token_id", 0))],
        model_max_length=config["max_position_embeddings"])
    stops = [tokens.index(eos)] + [tokens.index(t) for t in ("<|endoftext|>",) if t in tokens and t != eos]
    tokenizer_files.write_generation_config(out_dir / "generation_config.json", config["bos_token_id"], stops)
    config["eos_token_id"] = stops[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gguf_file")
    parser.add_argument("out_dir")
    args = parser.parse_args()
    reader = gguf.GGUFReader(args.gguf_file)
    out_dir = pathlib.Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = convert_config(reader)
    convert_tokenizer(reader, out_dir, config)
    hf_checkpoint.write_model_tensors(out_dir, convert_tensors(reader, config))
    hf_checkpoint.write_config(out_dir, config)
    print(f"wrote {out_dir}: {config['num_hidden_layers']} layers, hidden {config['hidden_size']}, "
          f"vocab {config['vocab_size']}")


if __name__ == "__main__":
    main()
