#!/usr/bin/env bash
# Side-by-side CPU decode of one GGUF file on this machine: Citadel's
# bench_llm_decode --gguf and llama.cpp's llama-batched-bench (the llama.cpp
# that PyPI's llama-cpp-python source package vendors, built by hand: it is
# no dependency of the project; bench/README.md says how). Runs the two in
# turn ROUNDS times at context 128 and prints every round and the best
# decode tokens/s of each at batch 1 and 16 (best: the least disturbed by
# other load on a shared machine). Prints figures; checks nothing.
# Usage: bench/llama_cpp_compare.sh BUILD_DIR LLAMA_BIN_DIR MODEL.gguf [THREADS] [ROUNDS] [STEPS]
set -euo pipefail
build=${1:?build dir (with bench/llm_decode/bench_llm_decode)}
llama=${2:?llama.cpp bin dir (with llama-batched-bench)}
model=${3:?model .gguf}
threads=${4:-2}
rounds=${5:-3}
steps=${6:-16}
ours=() theirs=()
for round in $(seq "$rounds"); do
  out=$("$build/bench/llm_decode/bench_llm_decode" --gguf "$model" --threads "$threads" --steps "$steps" \
        --context 128 --prefill 16)
  c1=$(awk '/decode batch  1:/ {print $4}' <<<"$out")
  c16=$(awk '/decode batch 16:/ {print $4}' <<<"$out")
  out=$(LD_LIBRARY_PATH="$llama" "$llama/llama-batched-bench" -m "$model" -c 4096 -npp 128 -ntg "$steps" \
        -npl 1,16 -t "$threads" 2>/dev/null)
  l1=$(awk -F'|' '$4+0 == 1 && $2+0 == 128 {gsub(/ /, "", $9); print $9}' <<<"$out")
  l16=$(awk -F'|' '$4+0 == 16 && $2+0 == 128 {gsub(/ /, "", $9); print $9}' <<<"$out")
  echo "round $round ($threads threads): citadel batch 1 $c1 tok/s, batch 16 $c16 tok/s; llama.cpp batch 1 $l1 tok/s, batch 16 $l16 tok/s"
  ours+=("$c1 $c16") theirs+=("$l1 $l16")
done
b1=$(printf '%s\n' "${ours[@]}" | awk '{if ($1 > m) m = $1} END {print m}')
b16=$(printf '%s\n' "${ours[@]}" | awk '{if ($2 > m) m = $2} END {print m}')
l1=$(printf '%s\n' "${theirs[@]}" | awk '{if ($1 > m) m = $1} END {print m}')
l16=$(printf '%s\n' "${theirs[@]}" | awk '{if ($2 > m) m = $2} END {print m}')
echo "best of $rounds ($threads threads, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)):" \
     "citadel $b1 / $b16 tok/s, llama.cpp $l1 / $l16 tok/s at batch 1 / 16;" \
     "llama.cpp / citadel at batch 1: $(awk -v a="$l1" -v b="$b1" 'BEGIN {printf "%.2f", a / b}')," \
     "citadel / llama.cpp at batch 16: $(awk -v a="$b16" -v b="$l16" 'BEGIN {printf "%.2f", a / b}')"
