// CUDA kernels of video diffusion transformers (Wan2.1 in the vista plugin),
// each the device counterpart of a CPU kernel with the same arguments:
//  - layer_norm_modulate: LayerNorm (optional affine) then per-group
//    y * (1 + scale) + shift, a group being rows_per_group consecutive rows
//    (one latent frame's tokens), as WanTransformer's modulated norms
//    (layer_norm_modulate_half: the result in f16);
//  - gated_add: x += gate[group] * delta;
//  - gelu_tanh (runtime::gelu_tanh);
//  - apply_rope_3d (runtime::apply_rope_3d) over a device copy of a
//    Rope3dTable's cos/sin;
//  - dense_attention (runtime::dense_attention): unmasked, one warp per
//    (query, head), online softmax in fp32, head_dim <= 256;
//  - kv_gather / kv_scatter: K/V of runtime's standard block layout
//    (kv_block_view_for_layer) read into / written from contiguous f32
//    [tokens, heads, head_dim], positions listed per token, blocks given as a
//    device array of block base addresses; f32, f16 or bf16 entries.
// All pointers are device pointers; work is queued on `stream` (a
// cudaStream_t). Accurate expf/tanhf/sincos (no fast-math). Tests:
// tests/runtime_cuda/video_kernels_cuda_test.cpp.
#pragma once

#include "runtime/core/dtype.h"

#include <cstddef>
#include <cstdint>

namespace citadel::runtime::cuda {

void layer_norm_modulate(const float* x, int64_t rows, int64_t dim, const float* weight, const float* bias,
                         const float* shift, const float* scale, int64_t modulation_stride, int64_t rows_per_group,
                         float eps, float* y, void* stream);

// The same written as f16 bits (the input of a cuBLAS f16 GEMM, which
// would round it to f16 anyway).
void layer_norm_modulate_half(const float* x, int64_t rows, int64_t dim, const float* weight, const float* bias,
                              const float* shift, const float* scale, int64_t modulation_stride,
                              int64_t rows_per_group, float eps, uint16_t* y, void* stream);
void gated_add(float* x, const float* delta, int64_t rows, int64_t dim, const float* gate, int64_t gate_stride,
               int64_t rows_per_group, void* stream);

void gelu_tanh(const float* x, int64_t n, float* out, void* stream);

// cos/sin: [3 * max_positions, head_dim / 2] as Rope3dTable stores them;
// part_t, part_h: the t and h parts (w is the rest).
void apply_rope_3d(float* x, int64_t tokens, int64_t heads, int64_t head_dim, const float* cos, const float* sin,
                   int64_t max_positions, int64_t part_t, int64_t part_h, const int32_t* frames, const int32_t* rows,
                   const int32_t* columns, void* stream);

void dense_attention(const float* q, int64_t num_queries, const float* k, const float* v, int64_t num_keys,
                     int64_t heads, int64_t head_dim, float scale, float* out, void* stream);

struct KvBlocksDevice {
  void* const* blocks = nullptr;  // device array of block base addresses
  int64_t tokens_per_block = 0, heads = 0, head_dim = 0;
  DType dtype = DType::bf16;
  size_t k_offset = 0, v_offset = 0;  // bytes from a block's base to this layer's K / V
};

// k, v [tokens, heads, head_dim] f32 <-> cache positions positions[0..tokens).
void kv_gather(const KvBlocksDevice& kv, const int32_t* positions, int64_t tokens, float* k, float* v, void* stream);
void kv_scatter(const KvBlocksDevice& kv, const int32_t* positions, int64_t tokens, const float* k, const float* v,
                void* stream);

}  // namespace citadel::runtime::cuda
