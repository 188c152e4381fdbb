// The UMT5 text encoder of Wan2.1 (transformers' UMT5EncoderModel): token
// embedding, then per layer x += SelfAttention(RMSNorm(x)) with T5's unscaled
// dot products plus the layer's own relative-position bias (bidirectional
// log buckets), and x += wo(gelu_tanh(wi_0 x) * wi_1 x) on RMSNorm(x); a final
// RMSNorm. Padding is masked as keys and its rows are zeroed on output, so
// only the prompt's tokens are computed. f32 compute over f32/f16/bf16 weights.
// Used by the vista model once per request (through TextEncoder, below);
// checked against transformers. encode keeps no state between calls; the
// TextEncoders are called one thread at a time (VistaModel's step).
#pragma once

#include "model_config.h"
#include "weight_store.h"

#include "runtime/core/thread_pool.h"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace citadel::vista {

// T5's bucket of a key at `relative_position` (key - query) from its query,
// bidirectional, computed in f32 like transformers.
int64_t t5_relative_bucket(int64_t relative_position, int64_t num_buckets, int64_t max_distance);

class Umt5Encoder {
 public:
  // Loads the encoder's tensors (names of transformers' UMT5EncoderModel).
  Umt5Encoder(const Umt5Config& config, const WeightStore& weights);
  const Umt5Config& config() const { return config_; }

  // Embeddings [padded_length, d_model] of ids (the first `valid` of them
  // are the prompt; rows from `valid` on are zero).
  std::vector<float> encode(runtime::ThreadPool& pool, std::span<const int32_t> ids, int64_t valid) const;

  // The loaded weights (matrices as mapped from the files), read by
  // CudaUmt5Encoder to upload them.
  struct Layer {
    std::vector<float> attention_norm, ffn_norm;
    Linear q, k, v, o, wi_0, wi_1, wo;
    std::vector<float> relative_bias;  // [num_buckets, num_heads]
  };
  const runtime::Tensor& embedding() const { return embedding_; }
  const std::vector<Layer>& layers() const { return layers_; }
  const std::vector<float>& final_norm() const { return final_norm_; }

 private:
  void attention(runtime::ThreadPool& pool, const Layer& layer, const float* normed, int64_t n, float* out) const;

  Umt5Config config_;
  runtime::Tensor embedding_;  // [vocab, d_model]
  std::vector<Layer> layers_;
  std::vector<float> final_norm_;
};

// The prompt encoder of a model, chosen once: Umt5Encoder on the CPU or, in
// CUDA builds on a CUDA device, CudaUmt5Encoder (umt5_encoder_cuda.h). Both
// return Umt5Encoder::encode's [ids.size(), d_model] f32 host rows.
class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  virtual const Umt5Config& config() const = 0;
  virtual std::vector<float> encode(std::span<const int32_t> ids, int64_t valid) = 0;
  // Device bytes its weights take (0 on the CPU).
  virtual uint64_t device_weight_bytes() const { return 0; }
};

// `pool` must outlive the result.
std::unique_ptr<TextEncoder> make_cpu_text_encoder(std::unique_ptr<Umt5Encoder> encoder, runtime::ThreadPool& pool);
// CUDA builds only (umt5_encoder_cuda.cpp): `encoder`'s weights uploaded as
// bf16; the result keeps its embedding table (host, mapped), not `encoder`.
std::unique_ptr<TextEncoder> make_cuda_text_encoder(const Umt5Encoder& encoder, void* stream);

}  // namespace citadel::vista
