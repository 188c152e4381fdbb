// tensor_shards.h — the slice of a Llama-family checkpoint that one rank of a
// tensor-parallel group (Megatron-style) loads. q/k/v and gate/up are split by
// output features (each rank computes some heads / some of the FFN), o and
// down by input features (each rank's partial sum is added over the ranks by
// runtime::AllReduce); everything else (embeddings, norms, lm_head) is shared.
// Works on dense f16/bf16/f32 and on GPTQ-packed projections (qweight,
// qzeros, scales, g_idx), so that
//   load_model_weights(shard_config(config, R), shard_finder(find, config, r, R), source)
// loads rank r's shard with the ordinary loader. Called by the tensor-parallel
// model setup and the tests. Errors are runtime::RuntimeError
// (CITADEL_ERR_INVALID_ARGUMENT) naming the config field or tensor that cannot
// be split. The returned finder is as thread-safe as the one it wraps.
#pragma once

#include "hf_config.h"
#include "weights.h"

namespace citadel::llm {

// Throws unless `config` splits over `ranks` (>= 1; 1 always does):
// num_heads, num_kv_heads and intermediate_size divisible by `ranks`, and for
// GPTQ every column shard (q: num_heads*head_dim/ranks, k/v:
// num_kv_heads*head_dim/ranks, gate/up: intermediate_size/ranks) a multiple of
// the packing (32/bits), every row shard (o: num_heads*head_dim/ranks, down:
// intermediate_size/ranks inputs) a multiple of the packing and of group_size
// (unless group_size is -1). The message names the field that does not divide.
void check_tensor_parallel(const HfModelConfig& config, int ranks);

// The config one rank loads: num_heads, num_kv_heads and intermediate_size
// divided by `ranks`; head_dim, hidden_size, vocab_size and the rest unchanged.
// Throws as check_tensor_parallel does.
HfModelConfig shard_config(const HfModelConfig& config, int ranks);

// A TensorFinder over the full checkpoint `full` that returns rank `rank`'s
// slice of each tensor (`config` is the FULL model's config):
//  - column split (model.layers.N.self_attn.{q,k,v}_proj, model.layers.N.mlp.{gate,up}_proj):
//    .weight [out, in] -> rows [rank*out/R, (rank+1)*out/R); .bias [out] the same;
//    .qweight [in/pack, out] and .scales [groups, out] -> those columns;
//    .qzeros [groups, out/pack] -> columns [rank*out/R/pack, ...); .g_idx unchanged.
//  - row split (model.layers.N.self_attn.o_proj, model.layers.N.mlp.down_proj):
//    .weight [out, in] -> columns [rank*in/R, ...); .qweight -> rows
//    [rank*in/R/pack, ...); .scales and .qzeros -> group rows
//    [rank*in/R/group_size, ...) (group_size -1: the one row, whole); .g_idx ->
//    the rank's inputs, each minus the rank's first group (a value then outside
//    the rank's groups means an act-order checkpoint whose groups cross ranks:
//    throws naming the tensor); .bias -> rank 0 only (undefined elsewhere, so
//    the sum over ranks adds it once).
//  - any other tensor: `full`'s own (shared, not copied).
// Slices are new owning tensors in the source dtype; a tensor `full` lacks
// stays undefined. A split tensor whose full shape disagrees with `config`
// throws naming it (from the finder's call, as the act-order case does).
// With ranks 1 the finder is `full` itself. Construction throws as
// check_tensor_parallel does, or for `rank` outside [0, ranks).
TensorFinder shard_finder(TensorFinder full, const HfModelConfig& config, int rank, int ranks);

}  // namespace citadel::llm
