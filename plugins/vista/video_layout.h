// VideoLayout: how one video request maps onto the host's scheduling units.
// The request's cache holds ring_frames latent frames of tokens_per_frame
// cache tokens each: the whole video, or with a rolling window (FrameWindow)
// window_frames when the video is longer. The plan asks for those tokens as
// the "prompt": chunk c (frames_per_chunk latent frames) is generated and
// committed in the step whose granted positions reach the end of its tokens.
// Chunks beyond the ring are generated one per "decode" step afterwards, and
// decode steps also drain the queued output items (one per step output), so
//   prompt_tokens  = ring_frames * tokens_per_frame
//   max_new_tokens = output items + chunks beyond the ring + 1.
// A recomputed (preempted) request is replayed by the committing passes of
// its stored chunks. Used by VideoRequest and the vista model's plan.
#pragma once

#include "chunk_denoiser.h"
#include "frame_kv.h"

#include <cstdint>

namespace citadel::vista {

struct VideoLayout {
  int64_t latent_frames = 0, latent_height = 0, latent_width = 0;
  int64_t tokens_per_frame = 0, frames_per_chunk = 3, num_chunks = 0;
  int64_t ring_frames = 0, prefill_chunks = 0;
  FrameWindow window;  // window_frames 0 when the whole video fits
  int64_t prompt_tokens = 0, max_new_tokens = 0;

  ChunkPosition chunk(int64_t c) const;
  // The host position that, once granted (step end >= due), makes chunk c due.
  int64_t due(int64_t c) const;
  // Chunks due once positions [0, end) are granted.
  int64_t chunks_due(int64_t end) const;
};

// window: the configured rolling window (window_frames 0: none); used only
// when the video has more latent frames than it. output_items: items the
// ChunkOutput makes for the whole video.
VideoLayout plan_video_layout(int64_t latent_frames, int64_t latent_height, int64_t latent_width,
                              int64_t tokens_per_frame, int64_t frames_per_chunk, const FrameWindow& window,
                              int64_t output_items);

}  // namespace citadel::vista
