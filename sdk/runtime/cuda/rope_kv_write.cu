// rope_kv_write (rope_kv_write.h): one grid-stride pass over, per token,
// the rotary pairs of q's heads (rotated in place), the rotary pairs of k's
// heads (rotated into the cache), and the remaining elements (k dims past the
// rotary ones, all of v) copied into the cache.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/dependent_launch.cuh"
#include "runtime/cuda/rope_kv_write.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::runtime::cuda {
namespace {

__device__ __forceinline__ void store(float* p, float v) { *p = v; }
__device__ __forceinline__ void store(__half* p, float v) { *p = __float2half_rn(v); }

template <typename T>
__global__ void rope_kv_write_kernel(float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                                     int64_t tokens, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                     const int32_t* __restrict__ positions, const float* __restrict__ inv_freq,
                                     int64_t half, void* const* slots, size_t k_offset, size_t v_offset) {
  allow_dependent_launch();
  wait_for_prerequisites();
  const int64_t q_pairs = heads * half, k_pairs = kv_heads * half;
  const int64_t k_rest = kv_heads * (head_dim - 2 * half), v_all = kv_heads * head_dim;
  const int64_t per_token = q_pairs + k_pairs + k_rest + v_all;
  const int64_t total = tokens * per_token;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = index / per_token;
    int64_t i = index % per_token;
    char* slot = static_cast<char*>(slots[t]);
    if (i < q_pairs + k_pairs) {
      const bool is_q = i < q_pairs;
      if (!is_q) i -= q_pairs;
      const int64_t head = i / half, j = i % half;
      const float angle = static_cast<float>(positions[t]) * inv_freq[j];
      const float c = cosf(angle), s = sinf(angle);
      if (is_q) {
        float* x = q + (t * heads + head) * head_dim;
        const float a = x[j], b = x[j + half];
        x[j] = a * c - b * s;
        x[j + half] = b * c + a * s;
      } else {
        const float* x = k + (t * kv_heads + head) * head_dim;
        const float a = x[j], b = x[j + half];
        T* out = reinterpret_cast<T*>(slot + k_offset) + head * head_dim;
        store(out + j, a * c - b * s);
        store(out + j + half, b * c + a * s);
      }
      continue;
    }
    i -= q_pairs + k_pairs;
    if (i < k_rest) {
      const int64_t rest = head_dim - 2 * half;
      const int64_t head = i / rest, d = 2 * half + i % rest;
      store(reinterpret_cast<T*>(slot + k_offset) + head * head_dim + d, k[(t * kv_heads + head) * head_dim + d]);
      continue;
    }
    i -= k_rest;
    store(reinterpret_cast<T*>(slot + v_offset) + i, v[t * kv_heads * head_dim + i]);
  }
}

}  // namespace

void rope_kv_write(float* q, const float* k, const float* v, int64_t tokens, int64_t heads,
                   const int32_t* positions, const float* inv_freq, int64_t rotary_half, const KvBlockView& slots,
                   void* stream) {
  if (tokens <= 0) return;
  if (slots.tokens_per_block != 1 || slots.blocks == nullptr || slots.num_blocks < tokens ||
      2 * rotary_half > slots.head_dim || rotary_half <= 0 || heads <= 0) {
    fail_invalid("cuda rope_kv_write: needs one slot per token and 2 * rotary_half <= head_dim");
  }
  if (slots.dtype != DType::f16 && slots.dtype != DType::f32) {
    fail_unsupported("cuda rope_kv_write: KV cache dtype is not supported (f16, f32)");
  }
  const int64_t per_token = (heads + slots.num_kv_heads) * rotary_half +
                            slots.num_kv_heads * (slots.head_dim - 2 * rotary_half) +
                            slots.num_kv_heads * slots.head_dim;
  const auto blocks = static_cast<unsigned>(std::clamp<int64_t>((tokens * per_token + 255) / 256, 1, 65535));
  const auto s = static_cast<cudaStream_t>(stream);
  if (slots.dtype == DType::f16) {
    launch_dependent(rope_kv_write_kernel<__half>, dim3(blocks), dim3(256), 0, s, "cuda rope_kv_write", q, k, v, tokens,
                     heads, slots.num_kv_heads, slots.head_dim, positions, inv_freq, rotary_half, slots.blocks,
                     slots.k_offset, slots.v_offset);
  } else {
    launch_dependent(rope_kv_write_kernel<float>, dim3(blocks), dim3(256), 0, s, "cuda rope_kv_write", q, k, v, tokens,
                     heads, slots.num_kv_heads, slots.head_dim, positions, inv_freq, rotary_half, slots.blocks,
                     slots.k_offset, slots.v_offset);
  }
  check_launch("cuda rope_kv_write");
}

}  // namespace citadel::runtime::cuda
