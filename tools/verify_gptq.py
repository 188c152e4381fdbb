#!/usr/bin/env python3
"""Checks a GPTQ checkpoint against the fp16 model it was quantized from.

Format: quantization_config fields, every quantized linear's tensor dtypes and
shapes, g_idx consistency (i // group_size without act-order, equal-sized
groups with it), zero-point range. Content: unquantized tensors identical to the
source, dequantized weights close to the source (relative error per layer).
Optionally (--transformers) loads the directory with transformers' own GPTQ
support (needs gptqmodel/optimum) and compares its logits with reference.json.
Exit status 1 on any failure. Called by make_test_models.sh.
Usage: verify_gptq.py GPTQ_DIR --source FP16_DIR [--transformers]
"""
import argparse
import json
import pathlib
import sys

import numpy as np

import gptq_checkpoint
import hf_checkpoint

MAX_RELATIVE_ERROR = {2: 0.9, 4: 0.5, 8: 0.05}  # sanity bounds: real weights have outliers


def check_format(tensors, name, weight_shape, quant, problems):
    bits, group_size = quant["bits"], quant["group_size"]
    out_features, in_features = weight_shape
    groups = 1 if group_size == -1 else -(-in_features // group_size)
    expected = {
        "qweight": (np.int32, (in_features * bits // 32, out_features)),
        "qzeros": (np.int32, (groups, out_features * bits // 32)),
        "scales": (np.float16, (groups, out_features)),
        "g_idx": (np.int32, (in_features,)),
    }
    for suffix, (dtype, shape) in expected.items():
        tensor = tensors.get(f"{name}.{suffix}")
        if tensor is None:
            problems.append(f"{name}.{suffix}: missing")
        elif tensor.dtype != dtype or tensor.shape != shape:
            problems.append(f"{name}.{suffix}: {tensor.dtype}{list(tensor.shape)}, expected {np.dtype(dtype)}{list(shape)}")
    if problems:
        return
    g_idx = tensors[f"{name}.g_idx"]
    if not quant["desc_act"] and not np.array_equal(g_idx, np.arange(in_features) // (group_size if group_size > 0 else in_features)):
        problems.append(f"{name}.g_idx: not i // group_size without desc_act")
    counts = np.bincount(g_idx, minlength=groups)
    expected_counts = np.bincount(np.arange(in_features) // (group_size if group_size > 0 else in_features))
    if not np.array_equal(counts, expected_counts):
        problems.append(f"{name}.g_idx: group sizes {counts.tolist()}")
    q = gptq_checkpoint.from_tensors(tensors, name, bits, quant["checkpoint_format"])
    if q.zeros.min() < 0 or q.zeros.max() > (1 << bits) - 1:
        problems.append(f"{name}.qzeros: zero points outside [0, {(1 << bits) - 1}]")
    if quant["sym"] and not np.all(q.zeros == 1 << (bits - 1)):
        problems.append(f"{name}.qzeros: sym but zero points differ from {1 << (bits - 1)}")


def compare_transformers(model_dir):
    """Max relative logit error of transformers' GPTQ loading vs reference.json."""
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float16, device_map="cpu").eval()
    reference = json.loads((pathlib.Path(model_dir) / "reference.json").read_text())
    worst = 0.0
    for prompt in reference["prompts"]:
        with torch.no_grad():
            logits = model(torch.tensor([prompt["input_ids"]])).logits[0, -1].double().numpy()
        expected = np.array(prompt["last_logits"])
        worst = max(worst, np.abs(logits - expected).max() / np.abs(expected).max())
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("--source", required=True, help="the unquantized model directory")
    parser.add_argument("--transformers", action="store_true")
    args = parser.parse_args()
    config = hf_checkpoint.read_config(args.model_dir)
    quant = config.get("quantization_config") or {}
    problems = []
    for key, allowed in {"quant_method": ["gptq"], "bits": [2, 4, 8], "desc_act": [True, False],
                         "sym": [True, False], "checkpoint_format": ["gptq", "gptq_v2"]}.items():
        if quant.get(key) not in allowed:
            problems.append(f"config.json: quantization_config.{key} = {quant.get(key)!r}")
    if problems:
        sys.exit("\n".join(problems))
    tensors = hf_checkpoint.read_model_tensors(args.model_dir)
    source = hf_checkpoint.read_model_tensors(args.source)
    dense = gptq_checkpoint.dequantize_checkpoint(tensors, quant)
    errors = []
    for key, original in sorted(source.items()):
        name = key.rsplit(".", 1)[0]
        if f"{name}.qweight" in tensors and key.endswith(".weight"):
            check_format(tensors, name, original.shape, quant, problems)
            if not problems:
                o = original.astype(np.float64)
                errors.append((np.linalg.norm(dense[key] - o) / np.linalg.norm(o), key))
        elif key not in tensors:
            if not (key == "lm_head.weight" and config.get("tie_word_embeddings")):
                problems.append(f"{key}: missing")
        elif not np.allclose(tensors[key].astype(np.float32), original.astype(np.float32), rtol=8e-3, atol=1e-6):
            problems.append(f"{key}: differs from the source")  # tolerance: a bf16 re-save
    if errors:
        values = np.array([e for e, _ in errors])
        worst = max(errors)
        print(f"{len(errors)} quantized linears: relative weight error mean {values.mean():.4f}, "
              f"max {worst[0]:.4f} ({worst[1]})")
        if worst[0] > MAX_RELATIVE_ERROR[quant["bits"]]:
            problems.append(f"{worst[1]}: relative error {worst[0]:.3f} is too large for {quant['bits']} bits")
    if not errors and not problems:
        problems.append("no quantized linears found")
    if args.transformers:
        try:
            print(f"transformers GPTQ loading: max relative logit error {compare_transformers(args.model_dir):.2e}")
        except Exception as error:  # optional check: report, do not fail
            print(f"transformers GPTQ loading unavailable: {type(error).__name__}: {error}")
    if problems:
        sys.exit("\n".join(problems))
    print(f"{args.model_dir}: format ok")


if __name__ == "__main__":
    main()
