// FrameKv: the self-attention cache of one video request inside the host's
// cache blocks (a ChunkKv for WanTransformer). A cache token is one
// latent-frame patch token; frame f occupies tokens_per_frame consecutive
// cache positions starting at slot(f) * tokens_per_frame. Each block holds,
// for every layer in order, K then V of its tokens_per_block positions
// ([tokens, heads, head_dim] in the KV dtype: runtime's standard layout,
// kv_block_view_for_layer).
//
// FrameWindow decides which frames a chunk attends to and where frames live:
// without a window every finished frame, at slot f; with a rolling window of
// W frames and S pinned ("sink") first frames (Self-Forcing's local_attn_size
// and sink_size), frames < S stay at slot f and later ones cycle through the
// W - S other slots, so a chunk sees the sink plus the most recent frames
// that fit beside it (keys keep their absolute RoPE). Used by the vista model.
#pragma once

#include "chunk_kv.h"

#include "runtime/core/dtype.h"

#include <cstdint>
#include <vector>

namespace citadel::vista {

struct FrameWindow {
  int64_t window_frames = 0;  // 0: unlimited (every frame keeps its own slot)
  int64_t sink_frames = 0;

  // Cache slot (in frames) of frame f.
  int64_t slot(int64_t frame) const;
  // The finished frames a chunk of `frames` frames starting at first_frame
  // attends to, oldest first.
  std::vector<int64_t> history(int64_t first_frame, int64_t frames) const;
};

struct KvGeometry {
  int64_t num_layers = 0, heads = 0, head_dim = 0, tokens_per_block = 0;
  runtime::DType dtype = runtime::DType::bf16;
};

class FrameKv : public ChunkKv {
 public:
  // blocks: the request's block addresses (valid for this step only).
  FrameKv(const KvGeometry& geometry, void* const* blocks, int64_t num_blocks, int64_t tokens_per_frame,
          const FrameWindow& window, int64_t first_frame, int64_t frames);

  int64_t history_tokens() const override;
  void read_history(int64_t layer, float* k, float* v) const override;
  void write_chunk(int64_t layer, const float* k, const float* v) override;

 private:
  KvGeometry geometry_;
  void* const* blocks_;
  int64_t num_blocks_, tokens_per_frame_, first_frame_, frames_;
  FrameWindow window_;
  std::vector<int64_t> history_;
};

}  // namespace citadel::vista
