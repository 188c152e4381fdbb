#!/usr/bin/env python3
"""Makes small random-weight Llama / Qwen2 / Qwen3 models with transformers (fp16).

Each spec covers checkpoint features the C++ loader must handle (llama3 RoPE
scaling, tied embeddings, Qwen2 q/k/v biases, Qwen3 q/k norm with head_dim !=
hidden/heads, GQA, old and new config spellings). The output is an HF directory
that quantize_model.py turns into GPTQ and dump_reference.py checks.
Usage: make_tiny_model.py --spec llama3 --out DIR [--seed N]
"""
import argparse
import json
import pathlib

import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

import tiny_tokenizer

LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}

SPECS = {
    # Llama-3.2 style: llama3 rope scaling, tied embeddings, GQA 4:2.
    "llama3": dict(arch=(LlamaConfig, LlamaForCausalLM), tokenizer="llama3", vocab=900,
                   merges_as_strings=False, ignore_merges=True, old_config_spelling=False,
                   config=dict(hidden_size=128, intermediate_size=256, num_hidden_layers=3,
                               num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
                               max_position_embeddings=131072, rope_parameters=LLAMA3_ROPE,
                               tie_word_embeddings=True)),
    # Qwen2 style: q/k/v biases, GQA 8:2 (head_dim 16), untied lm_head, vocab padded
    # beyond the tokenizer, old config spelling (rope_theta, torch_dtype), string merges.
    "qwen2": dict(arch=(Qwen2Config, Qwen2ForCausalLM), tokenizer="qwen", vocab=700, pad_vocab_to=64,
                  merges_as_strings=True, ignore_merges=False, old_config_spelling=True,
                  config=dict(hidden_size=128, intermediate_size=256, num_hidden_layers=3,
                              num_attention_heads=8, num_key_value_heads=2, rms_norm_eps=1e-6,
                              max_position_embeddings=32768,
                              rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                              tie_word_embeddings=False)),
    # Qwen3 style: explicit head_dim 64 != 128/4, q/k RMSNorm, tied, GQA 4:2.
    "qwen3": dict(arch=(Qwen3Config, Qwen3ForCausalLM), tokenizer="qwen", vocab=700, pad_vocab_to=64,
                  merges_as_strings=False, ignore_merges=False, old_config_spelling=False,
                  config=dict(hidden_size=128, intermediate_size=384, num_hidden_layers=3,
                              num_attention_heads=4, num_key_value_heads=2, head_dim=64,
                              rms_norm_eps=1e-6, max_position_embeddings=40960,
                              rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                              tie_word_embeddings=True)),
    # Plain fp16 Llama: multi-head (no GQA), default RoPE, untied.
    "llama-fp16": dict(arch=(LlamaConfig, LlamaForCausalLM), tokenizer="llama3", vocab=900,
                       merges_as_strings=False, ignore_merges=True, old_config_spelling=False,
                       config=dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=4, rms_norm_eps=1e-5,
                                   max_position_embeddings=4096,
                                   rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                                   tie_word_embeddings=False)),
}

INIT_STD = 0.25   # linear weights (scaled to fan-in 128): layers dominate the residual stream
EMBED_STD = 0.3  # embeddings / lm_head: logits std ~3, neither flat nor echoing the input


def randomize(model, generator):
    """Random weights that give peaked, input-dependent logits; non-trivial norms and biases."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.copy_(0.7 + 0.6 * torch.rand(param.shape, generator=generator))
            elif name.endswith(".bias"):
                param.copy_(0.3 * torch.randn(param.shape, generator=generator))
            elif name.endswith("embed_tokens.weight") or name.endswith("lm_head.weight"):
                param.copy_(EMBED_STD * torch.randn(param.shape, generator=generator))
            else:
                param.copy_(INIT_STD * torch.randn(param.shape, generator=generator) * (128 / param.shape[1]) ** 0.5)


def to_old_spelling(config):
    """Rewrites newer config keys into the older ones (rope_theta, rope_scaling, torch_dtype)."""
    rope = config.pop("rope_parameters")
    config["rope_theta"] = rope.pop("rope_theta")
    config["rope_scaling"] = None if rope.get("rope_type") == "default" else rope
    config["torch_dtype"] = config.pop("dtype")
    return config


def make(spec_name, out_dir, seed):
    spec = SPECS[spec_name]
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok = tiny_tokenizer.train(spec["tokenizer"], spec["vocab"])
    bos_id, stop_ids = tiny_tokenizer.save(tok, spec["tokenizer"], out_dir, spec["merges_as_strings"],
                                           spec["ignore_merges"])
    vocab = tok.get_vocab_size()
    pad = spec.get("pad_vocab_to")
    if pad:
        vocab = (vocab + pad - 1) // pad * pad
    config_cls, model_cls = spec["arch"]
    config = config_cls(vocab_size=vocab, bos_token_id=bos_id, eos_token_id=stop_ids[0], **spec["config"])
    torch.manual_seed(seed)
    model = model_cls(config)
    randomize(model, torch.Generator().manual_seed(seed))
    model = model.to(torch.float16)
    model.save_pretrained(out_dir)
    config_path = out_dir / "config.json"
    saved = json.loads(config_path.read_text())
    if spec["old_config_spelling"]:
        saved = to_old_spelling(saved)
    config_path.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    # save_pretrained writes its own generation_config.json; keep ours (all stop tokens).
    tiny_tokenizer.save(tok, spec["tokenizer"], out_dir, spec["merges_as_strings"], spec["ignore_merges"])
    print(f"{spec_name}: {sum(p.numel() for p in model.parameters())} parameters, vocab {vocab} -> {out_dir}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", required=True, choices=sorted(SPECS))
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    make(args.spec, args.out, args.seed)


if __name__ == "__main__":
    main()
