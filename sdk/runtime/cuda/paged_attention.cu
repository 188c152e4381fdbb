// Paged attention: one warp per (query row, head); lane l holds dims l, l+32,
// ... of q and of the output accumulator; each position's score is a warp
// reduction followed by an online-softmax update. KV writes: one thread per
// element. Block tables are device arrays of device block addresses.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/paged_attention.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <string>

namespace citadel::runtime::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

struct Geometry {
  int64_t tokens_per_block;
  int64_t num_kv_heads;
  int64_t head_dim;
  size_t k_offset;
  size_t v_offset;
};

__device__ __forceinline__ float load_element(const float* p) { return *p; }
__device__ __forceinline__ float load_element(const __half* p) { return __half2float(*p); }
__device__ __forceinline__ void store_element(float* p, float v) { *p = v; }
__device__ __forceinline__ void store_element(__half* p, float v) { *p = __float2half_rn(v); }

template <typename T>
__device__ __forceinline__ const T* kv_vector(void* const* table, const Geometry& g, size_t offset, int64_t position,
                                              int64_t kv_head) {
  const int64_t slot = position % g.tokens_per_block;
  const char* base = static_cast<const char*>(table[position / g.tokens_per_block]) + offset;
  return reinterpret_cast<const T*>(base) + (slot * g.num_kv_heads + kv_head) * g.head_dim;
}

template <typename T, int kDimsPerLane>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
attention_kernel(const float* __restrict__ q, int64_t rows, int64_t num_heads, int64_t group, void* const* tables,
                 int64_t table_stride, const int32_t* lengths, int64_t first_position, Geometry g, float scale,
                 float* __restrict__ out) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  const int64_t row = warp / num_heads;
  const int64_t head = warp % num_heads;
  if (row >= rows) return;
  void* const* table = tables + row * table_stride;
  const int64_t length = lengths != nullptr ? lengths[row] : first_position + row + 1;
  const int64_t kv_head = head / group;
  const float* q_row = q + (row * num_heads + head) * g.head_dim;
  float qv[kDimsPerLane], acc[kDimsPerLane];
#pragma unroll
  for (int k = 0; k < kDimsPerLane; ++k) {
    const int64_t d = lane + 32 * k;
    qv[k] = d < g.head_dim ? q_row[d] * scale : 0.0f;
    acc[k] = 0.0f;
  }
  float running_max = -INFINITY, denominator = 0.0f;
  for (int64_t p = 0; p < length; ++p) {
    const T* k_vec = kv_vector<T>(table, g, g.k_offset, p, kv_head);
    const T* v_vec = kv_vector<T>(table, g, g.v_offset, p, kv_head);
    float v_values[kDimsPerLane];
    float dot = 0.0f;
#pragma unroll
    for (int k = 0; k < kDimsPerLane; ++k) {
      const int64_t d = lane + 32 * k;
      const bool inside = d < g.head_dim;
      dot += inside ? qv[k] * load_element(k_vec + d) : 0.0f;
      v_values[k] = inside ? load_element(v_vec + d) : 0.0f;
    }
    for (int offset = 16; offset > 0; offset >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
    const float new_max = fmaxf(running_max, dot);
    const float correction = expf(running_max - new_max);
    const float weight = expf(dot - new_max);
    denominator = denominator * correction + weight;
#pragma unroll
    for (int k = 0; k < kDimsPerLane; ++k) acc[k] = acc[k] * correction + weight * v_values[k];
    running_max = new_max;
  }
  float* out_row = out + (row * num_heads + head) * g.head_dim;
  const float inverse = denominator > 0.0f ? 1.0f / denominator : 0.0f;
#pragma unroll
  for (int k = 0; k < kDimsPerLane; ++k) {
    const int64_t d = lane + 32 * k;
    if (d < g.head_dim) out_row[d] = acc[k] * inverse;
  }
}

template <typename T>
__global__ void kv_write_kernel(void* const* table, Geometry g, int64_t first_position, int64_t num_tokens,
                                const float* __restrict__ k, const float* __restrict__ v) {
  const int64_t per_token = g.num_kv_heads * g.head_dim;
  const int64_t total = num_tokens * per_token;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = index / per_token;
    const int64_t within = index % per_token;  // kv_head * head_dim + d
    const int64_t position = first_position + t;
    const int64_t slot = position % g.tokens_per_block;
    char* base = static_cast<char*>(table[position / g.tokens_per_block]);
    store_element(reinterpret_cast<T*>(base + g.k_offset) + slot * per_token + within, k[index]);
    store_element(reinterpret_cast<T*>(base + g.v_offset) + slot * per_token + within, v[index]);
  }
}

Geometry geometry_of(const KvBlockView& kv, const char* what) {
  if (kv.dtype != DType::f16 && kv.dtype != DType::f32) {
    fail_unsupported(std::string(what) + ": KV cache dtype is not supported (f16, f32)");
  }
  if (kv.tokens_per_block <= 0 || kv.num_kv_heads <= 0 || kv.head_dim <= 0) {
    fail_invalid(std::string(what) + ": KvBlockView has an empty geometry");
  }
  if (kv.head_dim > 256) {
    fail_unsupported(std::string(what) + ": head_dim " + std::to_string(kv.head_dim) + " exceeds 256");
  }
  return Geometry{kv.tokens_per_block, kv.num_kv_heads, kv.head_dim, kv.k_offset, kv.v_offset};
}

void check_capacity(const KvBlockView& kv, int64_t positions_needed, const char* what) {
  if (kv.blocks == nullptr || positions_needed > kv.capacity_tokens()) {
    fail_invalid(std::string(what) + ": positions up to " + std::to_string(positions_needed) + " need more than the " +
                 std::to_string(kv.num_blocks) + " blocks of " + std::to_string(kv.tokens_per_block) +
                 " tokens given");
  }
}

template <typename T, int kDims>
void launch_attention_typed(const float* q, int64_t rows, int64_t num_heads, int64_t group, void* const* tables,
                            int64_t stride, const int32_t* lengths, int64_t first, const Geometry& g, float scale,
                            float* out, cudaStream_t stream) {
  const int64_t warps = rows * num_heads;
  const auto blocks = static_cast<unsigned>((warps + kWarpsPerBlock - 1) / kWarpsPerBlock);
  attention_kernel<T, kDims><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(q, rows, num_heads, group, tables, stride,
                                                                         lengths, first, g, scale, out);
}

template <typename T>
void launch_attention_dims(const float* q, int64_t rows, int64_t num_heads, int64_t group, void* const* tables,
                           int64_t stride, const int32_t* lengths, int64_t first, const Geometry& g, float scale,
                           float* out, cudaStream_t stream) {
  if (g.head_dim <= 32) {
    launch_attention_typed<T, 1>(q, rows, num_heads, group, tables, stride, lengths, first, g, scale, out, stream);
  } else if (g.head_dim <= 64) {
    launch_attention_typed<T, 2>(q, rows, num_heads, group, tables, stride, lengths, first, g, scale, out, stream);
  } else if (g.head_dim <= 128) {
    launch_attention_typed<T, 4>(q, rows, num_heads, group, tables, stride, lengths, first, g, scale, out, stream);
  } else {
    launch_attention_typed<T, 8>(q, rows, num_heads, group, tables, stride, lengths, first, g, scale, out, stream);
  }
}

void launch_attention(const KvBlockView& kv, const Geometry& g, const float* q, int64_t rows, int64_t num_heads,
                      void* const* tables, int64_t stride, const int32_t* lengths, int64_t first, float scale,
                      float* out, void* stream, const char* what) {
  if (num_heads <= 0 || num_heads % kv.num_kv_heads != 0) {
    fail_invalid(std::string(what) + ": " + std::to_string(num_heads) + " query heads are not a multiple of " +
                 std::to_string(kv.num_kv_heads) + " KV heads");
  }
  if (rows <= 0) return;
  const int64_t group = num_heads / kv.num_kv_heads;
  const auto s = static_cast<cudaStream_t>(stream);
  if (kv.dtype == DType::f16) {
    launch_attention_dims<__half>(q, rows, num_heads, group, tables, stride, lengths, first, g, scale, out, s);
  } else {
    launch_attention_dims<float>(q, rows, num_heads, group, tables, stride, lengths, first, g, scale, out, s);
  }
  check_launch(what);
}

}  // namespace

void kv_cache_write(const KvBlockView& kv, int64_t first_position, int64_t num_tokens, const float* k,
                    const float* v, void* stream) {
  const Geometry g = geometry_of(kv, "cuda kv_cache_write");
  check_capacity(kv, first_position + num_tokens, "cuda kv_cache_write");
  const int64_t total = num_tokens * kv.num_kv_heads * kv.head_dim;
  if (total <= 0) return;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((total + 255) / 256, 65535));
  const auto s = static_cast<cudaStream_t>(stream);
  if (kv.dtype == DType::f16) {
    kv_write_kernel<__half><<<blocks, 256, 0, s>>>(kv.blocks, g, first_position, num_tokens, k, v);
  } else {
    kv_write_kernel<float><<<blocks, 256, 0, s>>>(kv.blocks, g, first_position, num_tokens, k, v);
  }
  check_launch("cuda kv_cache_write");
}

void paged_attention(const float* q, int64_t num_tokens, int64_t num_heads, int64_t first_position,
                     const KvBlockView& kv, float scale, float* out, void* stream) {
  const Geometry g = geometry_of(kv, "cuda paged_attention");
  check_capacity(kv, first_position + num_tokens, "cuda paged_attention");
  launch_attention(kv, g, q, num_tokens, num_heads, kv.blocks, 0, nullptr, first_position, scale, out, stream,
                   "cuda paged_attention");
}

void paged_attention_decode(const float* q, int64_t num_sequences, int64_t num_heads, const KvBlockView& layout,
                            void* const* block_tables, int64_t max_blocks_per_sequence,
                            const int32_t* context_lengths, float scale, float* out, void* stream) {
  const Geometry g = geometry_of(layout, "cuda paged_attention_decode");
  if (block_tables == nullptr || context_lengths == nullptr || max_blocks_per_sequence <= 0) {
    fail_invalid("cuda paged_attention_decode: block tables and context lengths are required");
  }
  launch_attention(layout, g, q, num_sequences, num_heads, block_tables, max_blocks_per_sequence, context_lengths, 0,
                   scale, out, stream, "cuda paged_attention_decode");
}

}  // namespace citadel::runtime::cuda
