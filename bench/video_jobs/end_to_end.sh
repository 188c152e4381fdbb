#!/usr/bin/env bash
# End to end through the host: the real citadel serving the vista plugin
# (Wan2.1 text to video, causal chunks) on a random-weight checkpoint, driven
# over HTTP by video_load.py: CITADEL_VIDEO_JOBS (1) jobs at once of
# CITADEL_VIDEO_FRAMES (81; tiny: 33) frames at CITADEL_VIDEO_SIZE (832x480;
# tiny: 64x64), fixed seeds, the plugin's defaults (4 denoising steps a chunk
# of 3 latent frames).
# The issue's goal, for the record (nothing here passes or fails on time):
# 81 frames at 480x832 faster than real time, >= 24 frames/s with the text
# encoding excluded, and the first frames out within 1 s.
# Prints per job the seconds from submit to done, frames/s, the seconds to
# the first frame out and the plugin's seconds per chunk (host log); then the
# host's figures from /metrics: chunks, latent frames, the last step's
# seconds per chunk, scheduler steps and their seconds. The plugin has no
# metric of the prompt's UMT5 encoding: it runs in the first step, before
# the first chunk, and the first chunk's log line excludes it, so it is
# printed as the first frame's time less the first chunk's (see
# video_load.py). Fails (non-zero) when a job fails or its content is empty.
# Usage: bench/video_jobs/end_to_end.sh BUILD_DIR [released|tiny] [DEVICE]
#   released (default): random weights of the Wan2.1-T2V-1.3B sizes (the
#   1.3B transformer, the UMT5-XXL encoder, the Wan VAE: 7.2B parameters,
#   bf16, 14.5 GB) made by tools/vista/make_random.py (torch, on the GPU
#   when there is one); tiny: the committed tests/data/vista/tiny.
#   CITADEL_VIDEO_MAKE_ARGS: more make_random.py arguments (e.g.
#   "--layers 1 --text-layers 1 --vocab 1002": the released widths, small
#   enough for a CPU); CITADEL_VIDEO_WEIGHTS: serve this checkpoint folder
#   instead.
#   CITADEL_VIDEO_OPTIONS: more plugin options, YAML flow-map entries (e.g.
#   "cuda_attention: wgmma, vae_convolutions: cudnn").
#   DEVICE: cuda:0 (default) or cpu.
#   CITADEL_VIDEO_API: videos (/v1/videos jobs, MP4 content) or inference
#   (/inference streamed frames); by default videos, except for a citadel
#   built without FFmpeg (CITADEL_VIDEO_FILES=OFF, as the GPU build is),
#   which fails every video job at its first frame (media_error), so there
#   the same requests go through /inference. CITADEL_VIDEO_SAVE: a folder
#   for the MP4s (or raw RGB). CITADEL_VIDEO_THREADS: the plugin's CPU
#   threads (0: the host's).
set -euo pipefail
build=$(realpath "${1:?usage: bench/video_jobs/end_to_end.sh BUILD_DIR [released|tiny] [DEVICE]}")
shape=${2:-released}
device=${3:-cuda:0}
jobs=${CITADEL_VIDEO_JOBS:-1}
# The tiny model's RoPE table (32 patches a side) stops at 512 pixels a side.
frames=${CITADEL_VIDEO_FRAMES:-$([ "$shape" = tiny ] && echo 33 || echo 81)}
size=${CITADEL_VIDEO_SIZE:-$([ "$shape" = tiny ] && echo 64x64 || echo 832x480)}
port=${CITADEL_VIDEO_PORT:-18097}
threads=${CITADEL_VIDEO_THREADS:-0}
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/bench/common/serve_host.sh"
root=$(mktemp -d)
# (pid is empty once the host has stopped: "kill 0" would signal this whole
# process group, the caller's shell included.)
trap '[ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null; rm -rf "$root"' EXIT
case $shape in
  tiny|released) ;;
  *) echo "unknown shape $shape" >&2; exit 2 ;;
esac
if [ -n "${CITADEL_VIDEO_WEIGHTS:-}" ]; then
  weights=$(realpath "$CITADEL_VIDEO_WEIGHTS")
elif [ "$shape" = tiny ]; then
  weights=$repo/tests/data/vista/tiny
else
  weights=$root/model
  # shellcheck disable=SC2206
  python3 "$repo/tools/vista/make_random.py" --out "$weights" ${CITADEL_VIDEO_MAKE_ARGS:-}
fi
api=${CITADEL_VIDEO_API:-}
if [ -z "$api" ]; then
  api=videos
  # The message of host/media/absent/video_file_writer_absent.cpp, linked only without FFmpeg.
  grep -aq "built without FFmpeg (CITADEL_VIDEO_FILES=OFF)" "$build/host/citadel" && api=inference
fi
echo "video API: $api"

width=${size%x*}
height=${size#*x}
# The cache: every job's latent frames (1 + ceil((frames-1)/4)) x (H/16)(W/16)
# tokens, plus its drain positions (one per frame, README "The cache and the
# steps"), at 2 (K, V) x dim x 2 B (bf16) x layers a token (184,320 B for the
# 1.3B: 5.62 GiB for 81 frames at 832x480); 25% and 4 MiB over for the
# blocks' rounding, in whole 2 MiB pages.
cache_mb=$(python3 -c "
import json, math, sys
c = json.load(open(sys.argv[1] + '/transformer/config.json'))
jobs, frames, width, height = (int(v) for v in sys.argv[2:6])
tokens = (1 + math.ceil((frames - 1) / 4)) * (height // 16) * (width // 16) + frames + 16
per_token = 2 * c['num_attention_heads'] * c['attention_head_dim'] * 2 * c['num_layers']
mb = math.ceil(jobs * tokens * per_token * 1.25 / 2**20) + 4
print(mb + mb % 2)" "$weights" "$jobs" "$frames" "$width" "$height")
echo "cache: $cache_mb MiB for $jobs job(s) of $frames frames at $size"
write_host_config
# The whole video's latent frames (the plugin's default max is 21: 81 frames).
latent_frames=$(( 1 + (frames - 1 + 3) / 4 ))
cat >"$root/models.d/vista.yaml" <<YAML
name: vista
plugin: vista
weights: $weights
device: "$device"
cache: {size_mb: $cache_mb, eviction: size_aware_lru, gc_threshold: 0.8}
scheduler: {max_queue: 256}
options: {threads: $threads, default_width: $width, default_height: $height, default_frames: $frames,
          max_latent_frames: $(( latent_frames > 21 ? latent_frames : 21 ))${CITADEL_VIDEO_OPTIONS:+, $CITADEL_VIDEO_OPTIONS}}
YAML
start_host vista
host_figures() {
  metric_totals citadel_plugin_video_chunks_total citadel_plugin_latent_frames_generated_total \
    citadel_plugin_chunk_seconds citadel_step_duration_seconds_count citadel_step_duration_seconds_sum \
    citadel_video_frames_total citadel_video_chunk_seconds_count citadel_video_chunk_seconds_sum
}
read -r -a before < <(host_figures)
status=0
save=()
[ -n "${CITADEL_VIDEO_SAVE:-}" ] && save=(--save "$CITADEL_VIDEO_SAVE")
python3 "$repo/bench/video_jobs/video_load.py" --port "$port" --model vista --jobs "$jobs" --frames "$frames" \
  --size "$size" --api "$api" --host-log "$root/host.log" "${save[@]}" || status=$?
read -r -a after < <(host_figures)
python3 -c "
import sys
b, a = [float(v) for v in sys.argv[1:9]], [float(v) for v in sys.argv[9:17]]
d = [a[i] - b[i] for i in range(8)]
chunks, latent, steps, step_s, frames, host_chunks, host_chunk_s = d[0], d[1], d[3], d[4], d[5], d[6], d[7]
print(f'host: {chunks:.0f} chunks, {latent:.0f} latent frames generated; last step {a[2]:.3f} s a chunk; '
      f'{steps:.0f} steps, {step_s:.2f} s in steps (mean {1000 * step_s / max(steps, 1):.1f} ms)')
if host_chunks:
    print(f'video jobs: {frames:.0f} frames; {host_chunks:.0f} chunks closed, mean {host_chunk_s / host_chunks:.3f} s '
          'from one finished chunk to the next')" "${before[@]}" "${after[@]}"
grep -iE "error|warn" "$root/host.log" | head -5 || true
stop_host
exit $status
