#!/usr/bin/env bash
# End to end through the host (issue 10): the real citadel serving
# deepseek-ocr, driven over HTTP by ocr_load.py: CITADEL_OCR_PAGES (256)
# different generated page images, CITADEL_OCR_CONCURRENCY (64) at once,
# mode CITADEL_OCR_MODE (base), up to CITADEL_OCR_MAX_TOKENS (1000) output
# tokens each, greedy, the n-gram guard as the shipped example sets it
# (CITADEL_OCR_NGRAM, default 30; 0 turns it off), the vision encoder on
# the plugin's own thread or the step thread as CITADEL_OCR_ENCODER_THREAD
# (auto: its own on CUDA; true; false) sets option vision_encoder_thread,
# CITADEL_OCR_DEFER (false) option defer_unready_images;
# CITADEL_OCR_BATCH (default: the concurrency) the requests a step batches,
# CITADEL_OCR_STEP_TOKENS (8192) the tokens a step takes (a Base page's
# prompt is 283: fewer means fewer new pages a step, joining as they are
# encoded).
# Prints pages/s, output and total tokens/s, latencies and the host's step
# statistics; never passes or fails on time.
# Usage: bench/ocr_pages/end_to_end.sh BUILD_DIR [released|tiny] [DEVICE]
#   released (default): random weights of the released sizes (3.3B
#   parameters, bf16) made by tools/deepseek_ocr/make_random.py (needs torch
#   and safetensors; on the GPU when there is one), with the test
#   tokenizer (tests/data/deepseek-ocr/model: the special tokens at their
#   real ids); tiny: the committed tiny test checkpoint.
#   DEVICE: cuda:0 (default) or cpu.
set -euo pipefail
build=$(realpath "${1:?usage: bench/ocr_pages/end_to_end.sh BUILD_DIR [released|tiny] [DEVICE]}")
shape=${2:-released}
device=${3:-cuda:0}
pages=${CITADEL_OCR_PAGES:-256}
concurrency=${CITADEL_OCR_CONCURRENCY:-64}
batch=${CITADEL_OCR_BATCH:-$concurrency}  # max_batch_requests; below the concurrency, pages queue (opened, encoded ahead)
step_tokens=${CITADEL_OCR_STEP_TOKENS:-8192}
mode=${CITADEL_OCR_MODE:-base}
max_tokens=${CITADEL_OCR_MAX_TOKENS:-1000}
ngram=${CITADEL_OCR_NGRAM:-30}
port=${CITADEL_OCR_PORT:-18096}
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/bench/common/serve_host.sh"
root=$(mktemp -d)
# (pid is empty once the host has stopped: "kill 0" would signal this whole
# process group, the caller's shell included.)
trap '[ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null; rm -rf "$root"' EXIT
tiny=$repo/tests/data/deepseek-ocr/model
case $shape in
  tiny) weights=$tiny ;;
  released)
    weights=$root/model
    started=$(date +%s)
    (cd "$repo/tools" && python3 -m deepseek_ocr.make_random --out "$weights")
    cp "$tiny/tokenizer.json" "$tiny/tokenizer_config.json" "$weights/"
    echo "checkpoint made in $(( $(date +%s) - started )) s" ;;
  *) echo "unknown shape $shape" >&2; exit 2 ;;
esac
write_host_config
# f16 KV: 60 KB a token; a Base page with 1,000 output tokens holds ~1,300.
cache_mb=$([ "$shape" = tiny ] && echo 512 || echo 12288)
cat >"$root/models.d/ocr.yaml" <<YAML
name: ocr
plugin: deepseek-ocr
weights: $weights
device: "$device"
cache: {size_mb: $cache_mb, eviction: lru, gc_threshold: 0.7}
scheduler: {max_queue: 4096, max_batch_requests: $batch, max_step_tokens: $step_tokens}
options: {kv_cache_dtype: f16, default_mode: $mode, max_batch_requests: $batch, max_step_tokens: $step_tokens,
          ngram_size: $ngram, ngram_window: 90, vision_encoder_thread: ${CITADEL_OCR_ENCODER_THREAD:-auto},
          defer_unready_images: ${CITADEL_OCR_DEFER:-false}}
YAML
start_host ocr
steps() {
  metric_totals citadel_step_duration_seconds_count citadel_step_duration_seconds_sum \
    citadel_plugin_vision_encoder_wait_seconds_total citadel_plugin_vision_encoder_seconds_total \
    citadel_plugin_forward_seconds_total citadel_plugin_images_prepared_on_step_thread_total \
    citadel_plugin_images_encoded_on_step_thread_total citadel_step_deferred_items_total
}
read -r -a before < <(steps)
status=0
python3 "$repo/bench/ocr_pages/ocr_load.py" --port "$port" --model ocr --pages "$pages" \
  --concurrency "$concurrency" --mode "$mode" --max-tokens "$max_tokens" || status=$?
read -r -a after < <(steps)
# In steps: the step thread's wait for image rows (the encoder on its own
# thread: only what it had not finished; else the encoding itself), the
# decoder pass, the rest. The encoder's own time, wherever it ran, apart.
python3 -c "
import sys
n = (len(sys.argv) - 1) // 2
b, a = [float(v) for v in sys.argv[1:1 + n]], [float(v) for v in sys.argv[1 + n:]]
count, seconds, wait, encoder, forward, prepared, encoded, deferred = (a[i] - b[i] for i in range(n))
print(f'host steps: {count:.0f}, mean {1000 * seconds / max(count, 1):.3f} ms/step, {seconds:.2f} s in steps: '
      f'waiting for image rows {wait:.2f} s, decoder pass with its copies {forward:.2f} s, the rest {seconds - wait - forward:.2f} s; '
      f'vision encoder ran {encoder:.2f} s (its thread or the step thread); '
      f'images prepared / encoded on the step thread: {prepared:.0f} / {encoded:.0f}; '
      f'prefills deferred for their image: {deferred:.0f}')" \
  "${before[@]}" "${after[@]}"
grep -iE "error|warn" "$root/host.log" | head -5 || true
stop_host
exit $status
