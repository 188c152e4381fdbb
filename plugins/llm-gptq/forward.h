// forward.h — the CPU forward pass of a Llama-family model over one step's
// batch: any mix of prefill chunks and decode tokens of different sequences,
// flattened into one matrix of rows for the projections, with each
// sequence's K/V written into and read from its cache blocks (kv_layout.h).
// Called by the model (llm_model.cpp) once per step, by the benchmark, and
// directly by the tests that compare logits with reference data.
#pragma once

#include "hf_config.h"
#include "kv_layout.h"
#include "weights.h"

#include "runtime/core/all_reduce.h"
#include "runtime/core/thread_pool.h"
#include "runtime/kernels/rope.h"

#include <cstdint>
#include <span>
#include <vector>

namespace citadel::llm {

// One sequence's share of a step: tokens at positions
// [first_position, first_position + tokens.size()); positions before
// first_position are in the blocks already.
// The config's RoPE settings in the runtime kernels' terms (CPU and CUDA).
runtime::RopeScaling rope_scaling(const RopeSettings& rope);

struct SequenceChunk {
  std::span<const int32_t> tokens;
  uint32_t first_position = 0;
  std::span<void* const> blocks;  // block i holds positions [16 i, 16 i + 16)
  bool want_logits = false;       // compute logits of the chunk's last token
  bool all_logits = false;        // compute logits of every token (prompt logprobs)
  // The caller picks the next token as the argmax of the chunk's logits row
  // (greedy, nothing applied to the row first): the CUDA pass copies the
  // row's argmax to the host instead of the row (CudaForwardPass::run_step).
  bool argmax_only = false;
  // The host's ids of `blocks` (empty where the caller has none, e.g. the
  // tests' own blocks): tensor parallelism keys the other ranks' K/V by them.
  std::span<const uint32_t> block_ids;
};

// Rows of logits the forward passes return for the chunk: every token's with
// all_logits, else the last token's with want_logits, else none.
inline size_t logits_rows(const SequenceChunk& chunk) {
  if (chunk.tokens.empty()) return 0;
  if (chunk.all_logits) return chunk.tokens.size();
  return chunk.want_logits ? 1 : 0;
}

// Throws when a chunk runs past the context length or past the cache blocks
// it was given (used by the CPU and CUDA forward passes alike).
void check_chunk_fits(const HfModelConfig& config, const SequenceChunk& chunk);

class ForwardPass {
 public:
  ForwardPass(const HfModelConfig& config, const ModelWeights& weights, KvGeometry kv);

  // Runs the chunks; returns logits [sum of logits_rows(chunk), vocab_size]
  // in chunk order. Throws runtime::RuntimeError when a chunk's
  // positions exceed its blocks or the context length.
  std::vector<float> run(std::span<const SequenceChunk> chunks, runtime::ThreadPool& pool);

  const KvGeometry& kv_geometry() const { return kv_; }

  // Rank `rank` of a tensor-parallel group (tensor_parallel_forward.h): the
  // weights are that rank's shard, and the row-split projections' partial
  // outputs (o, down) are summed over the group before the residual add.
  void set_tensor_parallel(runtime::AllReduce* group, int rank) {
    all_reduce_ = group;
    rank_ = rank;
  }

 private:
  void attention_layer(size_t layer, std::span<const SequenceChunk> chunks, runtime::ThreadPool& pool);
  void mlp_layer(size_t layer, runtime::ThreadPool& pool);

  const HfModelConfig& config_;
  const ModelWeights& weights_;
  KvGeometry kv_;
  runtime::AllReduce* all_reduce_ = nullptr;
  int rank_ = 0;
  std::vector<float> inv_freq_;
  // Scratch buffers, sized per step (rows = tokens of the step).
  std::vector<int32_t> positions_;
  std::vector<float> hidden_, normed_, q_, k_, v_, attn_, proj_, gate_, up_;
};

}  // namespace citadel::llm
