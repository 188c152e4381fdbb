// ChunkKv: what one forward pass of a video chunk sees of the self-attention
// cache. The chunk's queries attend to history_tokens() cached tokens (keys
// after q/k RMSNorm and RoPE, values as projected) followed by its own; a
// committing pass (timestep 0 after the last denoising step) then stores the
// chunk's K/V. Implemented over the host's cache blocks by FrameKv
// (frame_kv.h) and in memory by the tests. Used by WanTransformer.
#pragma once

#include <cstdint>

namespace citadel::vista {

class ChunkKv {
 public:
  virtual ~ChunkKv() = default;
  // Cached tokens the chunk attends to before its own.
  virtual int64_t history_tokens() const = 0;
  // k, v: [history_tokens, heads, head_dim] f32.
  virtual void read_history(int64_t layer, float* k, float* v) const = 0;
  // The chunk's own K/V [chunk tokens, heads, head_dim] f32, on a committing pass.
  virtual void write_chunk(int64_t layer, const float* k, const float* v) = 0;
};

// A cache with nothing in it (the first chunk, or a plain bidirectional pass).
class EmptyChunkKv : public ChunkKv {
 public:
  int64_t history_tokens() const override { return 0; }
  void read_history(int64_t, float*, float*) const override {}
  void write_chunk(int64_t, const float*, const float*) override {}
};

}  // namespace citadel::vista
