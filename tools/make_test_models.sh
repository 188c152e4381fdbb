#!/bin/sh
# Rebuilds the committed test models in tests/data/llm/ from scratch.
# Needs tools/requirements.txt (torch, transformers). Random-weight fp16 models are
# made in $WORK (default build-tools/models), quantized with the project's GPTQ,
# and every result gets a reference.json from transformers run in float32.
# Usage: tools/make_test_models.sh [model ...]   (default: all)
set -eu
cd "$(dirname "$0")/.."
TOOLS=tools
DATA=tests/data/llm
WORK=${WORK:-build-tools/models}
mkdir -p "$WORK" "$DATA"

base() {  # base SPEC: the random fp16 model of a spec, made once
    [ -f "$WORK/$1/model.safetensors" ] || python3 $TOOLS/make_tiny_model.py --spec "$1" --out "$WORK/$1"
}

build() {  # build NAME: one committed model directory
    rm -rf "${DATA:?}/$1"
    case "$1" in
    llama3-gptq)   # group 32, act-order, sym, v1 zeros
        SRC=llama3; base $SRC
        python3 $TOOLS/quantize_model.py --model-dir "$WORK/llama3" --out "$DATA/$1" \
            --group-size 32 --desc-act --format gptq ;;
    qwen2-gptq)    # group 64, asym, gptq_v2 zeros
        SRC=qwen2; base $SRC
        python3 $TOOLS/quantize_model.py --model-dir "$WORK/qwen2" --out "$DATA/$1" \
            --group-size 64 --asym --format gptq_v2 ;;
    qwen3-gptq)    # group 128, sym, v1, sharded checkpoint
        SRC=qwen3; base $SRC
        python3 $TOOLS/quantize_model.py --model-dir "$WORK/qwen3" --out "$DATA/$1" \
            --group-size 128 --format gptq --shard-mb 0.25 ;;
    llama-rtn-g-1) # plain round-to-nearest, one group per column (group_size -1)
        SRC=llama-fp16; base $SRC
        python3 $TOOLS/quantize_model.py --model-dir "$WORK/llama-fp16" --out "$DATA/$1" \
            --group-size -1 --method rtn --format gptq ;;
    qwen3-gptq-8bit) # 8-bit, group 128, act-order, asym, gptq_v2
        SRC=qwen3; base $SRC
        python3 $TOOLS/quantize_model.py --model-dir "$WORK/qwen3" --out "$DATA/$1" \
            --bits 8 --group-size 128 --desc-act --asym --format gptq_v2 ;;
    llama-fp16)    # unquantized fp16
        SRC=llama-fp16; base $SRC
        mkdir -p "$DATA/$1"
        cp "$WORK/llama-fp16"/* "$DATA/$1/" ;;
    gptqmodel-llama) # quantized by GPTQModel (PyPI), the format cross-check
        SRC=llama3; base $SRC
        python3 $TOOLS/gptqmodel_quantize.py --model-dir "$WORK/llama3" --out "$DATA/$1" ;;
    *) echo "unknown model $1" >&2; exit 2 ;;
    esac
    python3 $TOOLS/dump_reference.py "$DATA/$1"
    if [ "$1" != llama-fp16 ]; then
        python3 $TOOLS/verify_gptq.py "$DATA/$1" --source "$WORK/$SRC"
    fi
}

MODELS=${*:-"llama3-gptq qwen2-gptq qwen3-gptq llama-fp16 llama-rtn-g-1 qwen3-gptq-8bit gptqmodel-llama"}
for model in $MODELS; do
    build "$model"
done
du -sh "$DATA"
