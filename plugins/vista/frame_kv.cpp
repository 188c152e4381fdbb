// Frame slots, window history and block-backed K/V (see frame_kv.h).
#include "frame_kv.h"

#include "runtime/kernels/attention.h"

#include <algorithm>

namespace citadel::vista {

int64_t FrameWindow::slot(int64_t frame) const {
  if (window_frames <= 0 || frame < sink_frames) return frame;
  return sink_frames + (frame - sink_frames) % (window_frames - sink_frames);
}

std::vector<int64_t> FrameWindow::history(int64_t first_frame, int64_t frames) const {
  std::vector<int64_t> out;
  int64_t recent_from = 0;
  if (window_frames > 0) {
    for (int64_t f = 0; f < std::min(sink_frames, first_frame); ++f) out.push_back(f);
    recent_from = std::max(sink_frames, first_frame - (window_frames - sink_frames - frames));
  }
  for (int64_t f = recent_from; f < first_frame; ++f) out.push_back(f);
  return out;
}

FrameKv::FrameKv(const KvGeometry& geometry, void* const* blocks, int64_t num_blocks, int64_t tokens_per_frame,
                 const FrameWindow& window, int64_t first_frame, int64_t frames)
    : geometry_(geometry), blocks_(blocks), num_blocks_(num_blocks), tokens_per_frame_(tokens_per_frame),
      first_frame_(first_frame), frames_(frames), window_(window), history_(window.history(first_frame, frames)) {}

int64_t FrameKv::history_tokens() const { return static_cast<int64_t>(history_.size()) * tokens_per_frame_; }

void FrameKv::read_history(int64_t layer, float* k, float* v) const {
  const runtime::KvBlockView view =
      runtime::kv_block_view_for_layer(blocks_, num_blocks_, geometry_.tokens_per_block, layer, geometry_.heads,
                                       geometry_.head_dim, geometry_.dtype);
  const int64_t frame_floats = tokens_per_frame_ * geometry_.heads * geometry_.head_dim;
  for (size_t i = 0; i < history_.size(); ++i) {
    runtime::kv_cache_read(view, window_.slot(history_[i]) * tokens_per_frame_, tokens_per_frame_,
                           k + static_cast<int64_t>(i) * frame_floats, v + static_cast<int64_t>(i) * frame_floats);
  }
}

void FrameKv::write_chunk(int64_t layer, const float* k, const float* v) {
  const runtime::KvBlockView view =
      runtime::kv_block_view_for_layer(blocks_, num_blocks_, geometry_.tokens_per_block, layer, geometry_.heads,
                                       geometry_.head_dim, geometry_.dtype);
  const int64_t frame_floats = tokens_per_frame_ * geometry_.heads * geometry_.head_dim;
  for (int64_t j = 0; j < frames_; ++j) {
    runtime::kv_cache_write(view, window_.slot(first_frame_ + j) * tokens_per_frame_, tokens_per_frame_,
                            k + j * frame_floats, v + j * frame_floats);
  }
}

}  // namespace citadel::vista
