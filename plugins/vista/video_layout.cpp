// Mapping a video's chunks onto cache tokens and steps (see video_layout.h).
#include "video_layout.h"

#include <algorithm>

namespace citadel::vista {

ChunkPosition VideoLayout::chunk(int64_t c) const {
  ChunkPosition position;
  position.index = c;
  position.first_frame = c * frames_per_chunk;
  position.shape.frames = std::min(frames_per_chunk, latent_frames - position.first_frame);
  position.shape.height = latent_height;
  position.shape.width = latent_width;
  return position;
}

int64_t VideoLayout::due(int64_t c) const {
  if (c < prefill_chunks) {
    const ChunkPosition position = chunk(c);
    return (position.first_frame + position.shape.frames) * tokens_per_frame;
  }
  return prompt_tokens + (c - prefill_chunks) + 1;
}

int64_t VideoLayout::chunks_due(int64_t end) const {
  int64_t count = 0;
  while (count < num_chunks && due(count) <= end) ++count;
  return count;
}

VideoLayout plan_video_layout(int64_t latent_frames, int64_t latent_height, int64_t latent_width,
                              int64_t tokens_per_frame, int64_t frames_per_chunk, const FrameWindow& window,
                              int64_t output_items) {
  VideoLayout layout;
  layout.latent_frames = latent_frames;
  layout.latent_height = latent_height;
  layout.latent_width = latent_width;
  layout.tokens_per_frame = tokens_per_frame;
  layout.frames_per_chunk = frames_per_chunk;
  layout.num_chunks = (latent_frames + frames_per_chunk - 1) / frames_per_chunk;
  const bool rolling = window.window_frames > 0 && latent_frames > window.window_frames;
  if (rolling) layout.window = window;
  layout.ring_frames = rolling ? window.window_frames : latent_frames;
  layout.prefill_chunks = 0;
  while (layout.prefill_chunks < layout.num_chunks) {
    const ChunkPosition next = layout.chunk(layout.prefill_chunks);
    if (next.first_frame + next.shape.frames > layout.ring_frames) break;
    ++layout.prefill_chunks;
  }
  layout.prompt_tokens = layout.ring_frames * tokens_per_frame;
  layout.max_new_tokens = output_items + (layout.num_chunks - layout.prefill_chunks) + 1;
  return layout;
}

}  // namespace citadel::vista
