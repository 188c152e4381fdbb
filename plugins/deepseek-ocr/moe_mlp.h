// moe_mlp.h — the feed-forward half of a DeepSeek-MoE decoder layer on the
// CPU: a dense SwiGLU MLP, or the MoE block (router softmax over f32 logits,
// greedy top-k, weights not renormalised unless norm_topk_prob, times
// routed_scaling_factor; each routed expert runs once on the rows routed to
// it; plus the shared experts as one SwiGLU over every row). Called by the
// decoder pass (decoder_pass.cpp) once per layer and step; the routing alone
// by the tests.
#pragma once

#include "decoder_config.h"
#include "decoder_weights.h"

#include "runtime/core/thread_pool.h"

#include <cstdint>
#include <vector>

namespace citadel::deepseek_ocr {

// The experts chosen for each row: expert[r * k + j] with weight[r * k + j],
// best first (ties to the lower expert id).
struct Routing {
  uint32_t experts_per_row = 0;
  std::vector<int32_t> expert;
  std::vector<float> weight;
};

// Routes rows by their router logits [rows, n_routed_experts] (f32; turned
// into softmax scores in place). Used by the CPU and CUDA decoder passes.
Routing route_from_logits(const DecoderConfig& config, float* logits, int64_t rows);

// Routes x [rows, hidden] with the layer's router.
Routing route_tokens(runtime::ThreadPool& pool, const DecoderConfig& config, const DecoderLayerWeights& layer,
                     const float* x, int64_t rows);

class FeedForward {
 public:
  explicit FeedForward(const DecoderConfig& config) : config_(config) {}
  // out[rows, hidden] = the layer's MLP (dense or MoE) of x[rows, hidden].
  void run(runtime::ThreadPool& pool, const DecoderLayerWeights& layer, const float* x, int64_t rows, float* out);

 private:
  // out += weight_r * mlp(x[rows_of_mlp]) (weights null: 1), over the listed rows.
  void mlp_rows(runtime::ThreadPool& pool, const GatedMlp& mlp, const float* x, const std::vector<int64_t>& rows,
                const std::vector<float>* weights, float* out);

  const DecoderConfig& config_;
  std::vector<float> gathered_, gate_, up_, down_;
  std::vector<int64_t> all_rows_;
};

}  // namespace citadel::deepseek_ocr
