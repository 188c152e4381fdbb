"""Chat templates, pre-tokenizer patterns and tokenizer_config.json writing.

Shared by tiny_tokenizer.py (test models) and gguf_to_hf.py (the default
model) so both write the same Hugging Face tokenizer files. Needs no torch.
"""
import json

# Pre-tokenizer split patterns as published in the Llama-3 and Qwen2
# tokenizer.json files (Llama-3 groups digits by up to three, Qwen by one).
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

LLAMA3_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)

CHATML_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)


def write_tokenizer_config(path, added_tokens, bos_token, eos_token, chat_template,
                           pad_token=None, model_max_length=4096, add_bos_token=False):
    """Writes tokenizer_config.json.

    added_tokens: list of (id, content, special) for every added token.
    """
    decoder = {
        str(token_id): {
            "content": content, "lstrip": False, "normalized": False,
            "rstrip": False, "single_word": False, "special": special,
        }
        for token_id, content, special in added_tokens
    }
    config = {
        "add_bos_token": add_bos_token,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "bos_token": bos_token,
        "chat_template": chat_template,
        "clean_up_tokenization_spaces": False,
        "eos_token": eos_token,
        "model_max_length": model_max_length,
        "pad_token": pad_token,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_generation_config(path, bos_token_id, eos_token_ids):
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"bos_token_id": bos_token_id, "eos_token_id": eos_token_ids,
                   "do_sample": False}, f, indent=2)
        f.write("\n")
