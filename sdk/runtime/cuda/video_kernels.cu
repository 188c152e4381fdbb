// Video transformer kernels (see video_kernels.h): one block per row for the
// norms, grid-stride loops for elementwise work, one warp per (query, head)
// for attention.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch_helpers.cuh"
#include "runtime/cuda/video_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::runtime::cuda {
namespace {

using launch::as_stream;
using launch::grid_for;
using launch::kBlock;
using launch::warp_sum;

constexpr int kMaxHeadDim = 256;

// Sum over the block (blockDim.x a multiple of 32, <= 1024).
__device__ float block_sum(float v, float* scratch) {
  v = warp_sum(v);
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    float w = threadIdx.x < blockDim.x / 32 ? scratch[threadIdx.x] : 0.0f;
    w = warp_sum(w);
    if (threadIdx.x == 0) scratch[32] = w;
  }
  __syncthreads();
  const float total = scratch[32];
  __syncthreads();
  return total;
}

__device__ __forceinline__ void store(float* out, int64_t i, float value) { out[i] = value; }
__device__ __forceinline__ void store(__half* out, int64_t i, float value) { out[i] = __float2half_rn(value); }

template <typename Out>
__global__ void layer_norm_modulate_kernel(const float* x, int64_t dim, const float* weight, const float* bias,
                                           const float* shift, const float* scale, int64_t stride,
                                           int64_t rows_per_group, float eps, Out* y) {
  __shared__ float scratch[33];
  const int64_t row = blockIdx.x;
  const float* in = x + row * dim;
  Out* out = y + row * dim;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += in[i];
  const float mean = block_sum(sum, scratch) / static_cast<float>(dim);
  float squares = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) squares += (in[i] - mean) * (in[i] - mean);
  const float inverse = rsqrtf(block_sum(squares, scratch) / static_cast<float>(dim) + eps);
  const int64_t group = row / rows_per_group;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    float value = (in[i] - mean) * inverse;
    if (weight != nullptr) value *= weight[i];
    if (bias != nullptr) value += bias[i];
    if (scale != nullptr) value = value * (1.0f + scale[group * stride + i]) + shift[group * stride + i];
    store(out, i, value);
  }
}

__global__ void gated_add_kernel(float* x, const float* delta, int64_t n, int64_t dim, const float* gate,
                                 int64_t stride, int64_t rows_per_group) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / dim, column = i % dim;
    x[i] += delta[i] * gate[(row / rows_per_group) * stride + column];
  }
}

__global__ void gelu_tanh_kernel(const float* x, int64_t n, float* out) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = x[i];
    out[i] = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
  }
}

__global__ void rope_3d_kernel(float* x, int64_t tokens, int64_t heads, int64_t head_dim, const float* cos,
                               const float* sin, int64_t max_positions, int64_t pairs_t, int64_t pairs_h,
                               const int32_t* frames, const int32_t* rows, const int32_t* columns) {
  const int64_t half = head_dim / 2;
  const int64_t n = tokens * heads * half;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t pair = i % half, t = i / (half * heads);
    const int axis = pair < pairs_t ? 0 : (pair < pairs_t + pairs_h ? 1 : 2);
    const int64_t position = axis == 0 ? frames[t] : (axis == 1 ? rows[t] : columns[t]);
    if (position < 0 || position >= max_positions) continue;  // the host wrapper checks positions
    const int64_t at = (axis * max_positions + position) * half + pair;
    float* p = x + (i / half) * head_dim + 2 * pair;
    const float c = cos[at], s = sin[at], x1 = p[0], x2 = p[1];
    p[0] = x1 * c - x2 * s;
    p[1] = x1 * s + x2 * c;
  }
}

// One warp per (query, head): lanes hold head_dim / 32 (rounded up) dims.
__global__ void dense_attention_kernel(const float* q, int64_t num_queries, const float* k, const float* v,
                                       int64_t num_keys, int64_t heads, int64_t head_dim, float scale, float* out) {
  constexpr int kPerLane = kMaxHeadDim / 32;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (warp >= num_queries * heads) return;
  const int64_t t = warp / heads, h = warp % heads, row = heads * head_dim;
  float query[kPerLane], accumulator[kPerLane];
  for (int j = 0; j < kPerLane; ++j) {
    const int64_t d = lane + 32 * j;
    query[j] = d < head_dim ? q[t * row + h * head_dim + d] : 0.0f;
    accumulator[j] = 0.0f;
  }
  float running_max = -INFINITY, denominator = 0.0f;
  for (int64_t key = 0; key < num_keys; ++key) {
    const float* k_row = k + key * row + h * head_dim;
    float partial = 0.0f;
    for (int j = 0; j < kPerLane; ++j) {
      const int64_t d = lane + 32 * j;
      if (d < head_dim) partial += query[j] * k_row[d];
    }
    const float score = scale * warp_sum(partial);
    if (score > running_max) {
      const float correction = expf(running_max - score);
      for (int j = 0; j < kPerLane; ++j) accumulator[j] *= correction;
      denominator *= correction;
      running_max = score;
    }
    const float weight = expf(score - running_max);
    denominator += weight;
    const float* v_row = v + key * row + h * head_dim;
    for (int j = 0; j < kPerLane; ++j) {
      const int64_t d = lane + 32 * j;
      if (d < head_dim) accumulator[j] += weight * v_row[d];
    }
  }
  for (int j = 0; j < kPerLane; ++j) {
    const int64_t d = lane + 32 * j;
    if (d < head_dim) out[t * row + h * head_dim + d] = accumulator[j] / denominator;
  }
}

__device__ __forceinline__ float load_entry(const uint8_t* base, int dtype, int64_t index) {
  if (dtype == 0) return reinterpret_cast<const float*>(base)[index];
  if (dtype == 1) return __half2float(reinterpret_cast<const __half*>(base)[index]);
  return __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(base)[index]);
}

__device__ __forceinline__ void store_entry(uint8_t* base, int dtype, int64_t index, float value) {
  if (dtype == 0) reinterpret_cast<float*>(base)[index] = value;
  else if (dtype == 1) reinterpret_cast<__half*>(base)[index] = __float2half_rn(value);
  else reinterpret_cast<__nv_bfloat16*>(base)[index] = __float2bfloat16_rn(value);
}

template <bool kGather>
__global__ void kv_copy_kernel(void* const* blocks, int64_t tokens_per_block, int64_t row, int dtype, size_t k_offset,
                               size_t v_offset, const int32_t* positions, int64_t tokens, float* k, float* v) {
  const int64_t n = tokens * row;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = i / row, within = i % row;
    const int64_t position = positions[t];
    auto* base = static_cast<uint8_t*>(blocks[position / tokens_per_block]);
    const int64_t index = (position % tokens_per_block) * row + within;
    if (kGather) {
      k[i] = load_entry(base + k_offset, dtype, index);
      v[i] = load_entry(base + v_offset, dtype, index);
    } else {
      store_entry(base + k_offset, dtype, index, k[i]);
      store_entry(base + v_offset, dtype, index, v[i]);
    }
  }
}

int dtype_code(DType dtype) {
  if (dtype == DType::f32) return 0;
  if (dtype == DType::f16) return 1;
  if (dtype == DType::bf16) return 2;
  fail_unsupported("kv_gather/kv_scatter: KV dtype must be f32, f16 or bf16");
}

}  // namespace

void layer_norm_modulate(const float* x, int64_t rows, int64_t dim, const float* weight, const float* bias,
                         const float* shift, const float* scale, int64_t modulation_stride, int64_t rows_per_group,
                         float eps, float* y, void* stream) {
  if (rows <= 0) return;
  if ((scale == nullptr) != (shift == nullptr) || rows_per_group <= 0)
    fail_invalid("layer_norm_modulate: shift and scale go together, rows_per_group must be positive");
  layer_norm_modulate_kernel<<<static_cast<unsigned>(rows), kBlock, 0, as_stream(stream)>>>(
      x, dim, weight, bias, shift, scale, modulation_stride, rows_per_group, eps, y);
  check_launch("layer_norm_modulate");
}

void layer_norm_modulate_half(const float* x, int64_t rows, int64_t dim, const float* weight, const float* bias,
                              const float* shift, const float* scale, int64_t modulation_stride,
                              int64_t rows_per_group, float eps, uint16_t* y, void* stream) {
  if (rows <= 0) return;
  if ((scale == nullptr) != (shift == nullptr) || rows_per_group <= 0)
    fail_invalid("layer_norm_modulate_half: shift and scale go together, rows_per_group must be positive");
  layer_norm_modulate_kernel<<<static_cast<unsigned>(rows), kBlock, 0, as_stream(stream)>>>(
      x, dim, weight, bias, shift, scale, modulation_stride, rows_per_group, eps, reinterpret_cast<__half*>(y));
  check_launch("layer_norm_modulate_half");
}

void gated_add(float* x, const float* delta, int64_t rows, int64_t dim, const float* gate, int64_t gate_stride,
               int64_t rows_per_group, void* stream) {
  if (rows <= 0) return;
  gated_add_kernel<<<grid_for(rows * dim), kBlock, 0, as_stream(stream)>>>(x, delta, rows * dim, dim, gate,
                                                                           gate_stride, rows_per_group);
  check_launch("gated_add");
}

void gelu_tanh(const float* x, int64_t n, float* out, void* stream) {
  if (n <= 0) return;
  gelu_tanh_kernel<<<grid_for(n), kBlock, 0, as_stream(stream)>>>(x, n, out);
  check_launch("gelu_tanh");
}

void apply_rope_3d(float* x, int64_t tokens, int64_t heads, int64_t head_dim, const float* cos, const float* sin,
                   int64_t max_positions, int64_t part_t, int64_t part_h, const int32_t* frames, const int32_t* rows,
                   const int32_t* columns, void* stream) {
  if (tokens <= 0) return;
  rope_3d_kernel<<<grid_for(tokens * heads * head_dim / 2), kBlock, 0, as_stream(stream)>>>(
      x, tokens, heads, head_dim, cos, sin, max_positions, part_t / 2, part_h / 2, frames, rows, columns);
  check_launch("apply_rope_3d");
}

void dense_attention(const float* q, int64_t num_queries, const float* k, const float* v, int64_t num_keys,
                     int64_t heads, int64_t head_dim, float scale, float* out, void* stream) {
  if (head_dim > kMaxHeadDim) fail_unsupported("dense_attention: head_dim " + std::to_string(head_dim) + " > 256");
  if (num_keys <= 0) fail_invalid("dense_attention: no keys to attend to");
  if (num_queries <= 0) return;
  const int64_t threads = num_queries * heads * 32;
  dense_attention_kernel<<<static_cast<unsigned>((threads + kBlock - 1) / kBlock), kBlock, 0, as_stream(stream)>>>(
      q, num_queries, k, v, num_keys, heads, head_dim, scale, out);
  check_launch("dense_attention");
}

void kv_gather(const KvBlocksDevice& kv, const int32_t* positions, int64_t tokens, float* k, float* v, void* stream) {
  if (tokens <= 0) return;
  const int64_t row = kv.heads * kv.head_dim;
  kv_copy_kernel<true><<<grid_for(tokens * row), kBlock, 0, as_stream(stream)>>>(
      kv.blocks, kv.tokens_per_block, row, dtype_code(kv.dtype), kv.k_offset, kv.v_offset, positions, tokens, k, v);
  check_launch("kv_gather");
}

void kv_scatter(const KvBlocksDevice& kv, const int32_t* positions, int64_t tokens, const float* k, const float* v,
                void* stream) {
  if (tokens <= 0) return;
  const int64_t row = kv.heads * kv.head_dim;
  kv_copy_kernel<false><<<grid_for(tokens * row), kBlock, 0, as_stream(stream)>>>(
      kv.blocks, kv.tokens_per_block, row, dtype_code(kv.dtype), kv.k_offset, kv.v_offset, positions, tokens,
      const_cast<float*>(k), const_cast<float*>(v));
  check_launch("kv_scatter");
}

}  // namespace citadel::runtime::cuda
