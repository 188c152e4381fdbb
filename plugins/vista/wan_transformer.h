// WanTransformer: diffusers' WanTransformer3DModel on the CPU (f32 compute
// over f32/f16/bf16 weights), run on one chunk of latent frames at a time:
// patch embedding (1, p, p); per-frame sinusoidal time embedding and the
// per-block scale_shift_table modulation; self-attention with q/k RMSNorm
// across heads and 3-D RoPE at the chunk's absolute frame index, over the
// cached K/V (ChunkKv) plus the chunk's own tokens; cross-attention to the
// prompt (its K/V made once per request by prepare_text); GELU(tanh) FFN;
// the modulated output head and unpatchify. Immutable after load: one
// instance serves every request. Used by the vista model and the tests.
#pragma once

#include "chunk_kv.h"
#include "model_config.h"
#include "wan_weights.h"

#include "runtime/core/thread_pool.h"
#include "runtime/kernels/rope_3d.h"

#include <cstdint>
#include <vector>

namespace citadel::vista {

// A prompt's cross-attention K/V for every block (per-request state).
struct TextContext {
  int64_t tokens = 0;
  std::vector<std::vector<float>> keys, values;  // [layer][tokens * dim]
};

// The latents of one chunk: [channels, frames, height, width] f32.
struct ChunkShape {
  int64_t frames = 0, height = 0, width = 0;  // latent sizes
};

// Where a chunk sits in its video.
struct ChunkPosition {
  int64_t index = 0;        // chunk number (for the noise)
  int64_t first_frame = 0;  // absolute latent frame index (RoPE)
  ChunkShape shape;
};

class WanTransformer {
 public:
  WanTransformer(const WanConfig& config, WanWeights weights);
  const WanConfig& config() const { return config_; }

  // text_embeds [tokens, text_dim] (the UMT5 output, padding rows zero).
  TextContext prepare_text(runtime::ThreadPool& pool, const float* text_embeds, int64_t tokens) const;

  // The flow prediction v [out_channels, frames, height, width] for latents
  // [in_channels, frames, height, width] whose first frame has absolute index
  // first_frame, frame f at timestep frame_timesteps[f] (0..1000). With
  // commit, the chunk's K/V are written to kv after each layer's attention.
  std::vector<float> forward(runtime::ThreadPool& pool, const float* latents, const ChunkShape& shape,
                             const float* frame_timesteps, int64_t first_frame, const TextContext& text,
                             ChunkKv& kv, bool commit) const;

  // Per-frame time embedding [frames, dim] and its projection [frames, 6*dim]
  // (the modulation before each block's scale_shift_table is added).
  struct FrameConditioning {
    std::vector<float> time_embedding;  // [frames, dim]
    std::vector<float> projection;      // [frames, 6 * dim]
  };
  FrameConditioning condition(runtime::ThreadPool& pool, const float* frame_timesteps, int64_t frames) const;
  const WanWeights& weights() const { return weights_; }

  // Tokens of one latent frame of height x width.
  int64_t tokens_per_frame(int64_t height, int64_t width) const {
    return (height / config_.patch[1]) * (width / config_.patch[2]);
  }

 private:
  void self_attention(runtime::ThreadPool& pool, const WanBlockWeights& block, int64_t layer, const float* normed,
                      const ChunkShape& shape, int64_t first_frame, ChunkKv& kv, bool commit, float* out) const;
  void cross_attention(runtime::ThreadPool& pool, const WanBlockWeights& block, int64_t layer, const float* normed,
                       int64_t n, const TextContext& text, float* out) const;

  WanConfig config_;
  WanWeights weights_;
  runtime::Rope3dTable rope_;
};

}  // namespace citadel::vista
