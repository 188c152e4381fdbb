// Elementwise and row-reduction kernels: one block per row for RMSNorm and
// argmax, grid-stride loops for elementwise work. Accurate sinf/cosf/expf
// (no fast-math) so results follow the CPU kernels closely.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/dependent_launch.cuh"
#include "runtime/cuda/launch_helpers.cuh"
#include "runtime/cuda/layer_kernels.h"

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

__global__ void embedding_kernel(const void* table, int dtype, int64_t vocab, int64_t dim, const int32_t* ids,
                                 int64_t num_ids, float* out) {
  const int64_t t = blockIdx.y;
  if (t >= num_ids) return;
  const int64_t id = ids[t];
  for (int64_t d = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; d < dim;
       d += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v = 0.0f;
    if (id >= 0 && id < vocab) {
      const int64_t index = id * dim + d;
      if (dtype == 0) v = static_cast<const float*>(table)[index];
      if (dtype == 1) v = __half2float(static_cast<const __half*>(table)[index]);
      if (dtype == 2) v = __bfloat162float(static_cast<const __nv_bfloat16*>(table)[index]);
    }
    out[t * dim + d] = v;
  }
}

__global__ void rms_norm_kernel(const float* x, int64_t dim, const float* weight, float eps, float* y) {
  allow_dependent_launch();  // the projection after it may load its weights meanwhile
  wait_for_prerequisites();
  const float* in = x + static_cast<int64_t>(blockIdx.x) * dim;
  float* out = y + static_cast<int64_t>(blockIdx.x) * dim;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += in[i] * in[i];
  __shared__ float warp_sums[32];
  sum = warp_sum(sum);
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = sum;
  __syncthreads();
  if (threadIdx.x < 32) {
    float v = threadIdx.x < blockDim.x / 32 ? warp_sums[threadIdx.x] : 0.0f;
    v = warp_sum(v);
    if (threadIdx.x == 0) warp_sums[0] = v;
  }
  __syncthreads();
  const float inverse = 1.0f / sqrtf(warp_sums[0] / static_cast<float>(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) out[i] = in[i] * inverse * weight[i];
}

__global__ void rope_kernel(float* x, int64_t num_tokens, int64_t num_heads, int64_t head_dim,
                            const int32_t* positions, const float* inv_freq, int64_t half) {
  const int64_t total = num_tokens * num_heads * half;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t j = index % half;
    const int64_t row = index / half;  // token * heads + head
    const int64_t t = row / num_heads;
    const float angle = static_cast<float>(positions[t]) * inv_freq[j];
    const float c = cosf(angle), s = sinf(angle);
    float* v = x + row * head_dim;
    const float a = v[j], b = v[j + half];
    v[j] = a * c - b * s;
    v[j + half] = b * c + a * s;
  }
}

__global__ void silu_mul_kernel(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

__global__ void add_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    y[i] += x[i];
  }
}

// Rows over blockIdx.y (strided), columns over x: no division per element.
// kVector: four columns a thread with 16-byte loads (cols % 4 == 0, aligned).
template <bool kVector>
__global__ void add_bias_kernel(float* y, const float* bias, int64_t rows, int64_t cols) {
  const int64_t c = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * (kVector ? 4 : 1);
  if (c >= cols) return;
  if constexpr (kVector) {
    const float4 b = *reinterpret_cast<const float4*>(bias + c);
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
      float4* at = reinterpret_cast<float4*>(y + r * cols + c);
      float4 v = *at;
      v.x += b.x;
      v.y += b.y;
      v.z += b.z;
      v.w += b.w;
      *at = v;
    }
  } else {
    const float b = bias[c];
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) y[r * cols + c] += b;
  }
}

__global__ void to_half_kernel(const float* in, __half* out, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = __float2half_rn(in[i]);
  }
}

__global__ void to_bf16_kernel(const float* in, __nv_bfloat16* out, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = __float2bfloat16_rn(in[i]);
  }
}

__global__ void to_bf16_split_kernel(const float* in, __nv_bfloat16* high, __nv_bfloat16* low, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const __nv_bfloat16 h = __float2bfloat16_rn(in[i]);
    high[i] = h;
    low[i] = __float2bfloat16_rn(in[i] - __bfloat162float(h));
  }
}

__global__ void to_float_kernel(const __half* in, float* out, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = __half2float(in[i]);
  }
}

// Larger value wins; among equal values the lower index (NaN-free logits).
__device__ __forceinline__ void better(float& value, int& index, float other_value, int other_index) {
  if (other_value > value || (other_value == value && other_index < index)) {
    value = other_value;
    index = other_index;
  }
}

__global__ void argmax_kernel(const float* logits, int64_t vocab, int32_t* out) {
  const float* row = logits + static_cast<int64_t>(blockIdx.x) * vocab;
  float value = -INFINITY;
  int index = 0x7fffffff;
  if (vocab % 4 == 0 && reinterpret_cast<uintptr_t>(row) % 16 == 0) {
    // 16-byte loads, four in flight per thread: one block reads a whole
    // row of a 129k vocabulary, so the row's latency is the kernel's.
    const auto* row4 = reinterpret_cast<const float4*>(row);
    const int64_t quads = vocab / 4;
    int64_t q = threadIdx.x;
    for (; q + 3 * static_cast<int64_t>(blockDim.x) < quads; q += 4 * static_cast<int64_t>(blockDim.x)) {
      float4 v[4];
#pragma unroll
      for (int u = 0; u < 4; ++u) v[u] = row4[q + u * static_cast<int64_t>(blockDim.x)];
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        const int base = static_cast<int>(4 * (q + u * static_cast<int64_t>(blockDim.x)));
        better(value, index, v[u].x, base);
        better(value, index, v[u].y, base + 1);
        better(value, index, v[u].z, base + 2);
        better(value, index, v[u].w, base + 3);
      }
    }
    for (; q < quads; q += blockDim.x) {
      const float4 v = row4[q];
      const int base = static_cast<int>(4 * q);
      better(value, index, v.x, base);
      better(value, index, v.y, base + 1);
      better(value, index, v.z, base + 2);
      better(value, index, v.w, base + 3);
    }
  } else {
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) better(value, index, row[i], static_cast<int>(i));
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    better(value, index, __shfl_xor_sync(0xffffffffu, value, offset), __shfl_xor_sync(0xffffffffu, index, offset));
  }
  __shared__ float values[32];
  __shared__ int indices[32];
  if ((threadIdx.x & 31) == 0) {
    values[threadIdx.x >> 5] = value;
    indices[threadIdx.x >> 5] = index;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (unsigned w = 1; w < blockDim.x / 32; ++w) better(value, index, values[w], indices[w]);
    out[blockIdx.x] = index == 0x7fffffff ? 0 : index;
  }
}

}  // namespace

void embedding_lookup(const void* table, DType table_dtype, int64_t vocab, int64_t dim, const int32_t* ids,
                      int64_t num_ids, float* out, void* stream) {
  int code = -1;
  if (table_dtype == DType::f32) code = 0;
  if (table_dtype == DType::f16) code = 1;
  if (table_dtype == DType::bf16) code = 2;
  if (code < 0) fail_unsupported("cuda embedding lookup: table dtype is not supported (f32, f16, bf16)");
  if (num_ids <= 0) return;
  if (num_ids > 65535) fail_invalid("cuda embedding lookup: more than 65535 ids in one call");
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((dim + kBlock - 1) / kBlock, 64)), static_cast<unsigned>(num_ids));
  embedding_kernel<<<grid, kBlock, 0, as_stream(stream)>>>(table, code, vocab, dim, ids, num_ids, out);
  check_launch("embedding_lookup");
}

void rms_norm(const float* x, int64_t rows, int64_t dim, const float* weight, float eps, float* y, void* stream) {
  if (rows <= 0) return;
  if (rows > 2147483647) fail_invalid("cuda rms_norm: too many rows");
  const int threads = dim >= 1024 ? 1024 : dim >= 256 ? 256 : 128;
  launch_dependent(rms_norm_kernel, dim3(static_cast<unsigned>(rows)), dim3(threads), 0, as_stream(stream), "rms_norm", x,
                   dim, weight, eps, y);
  check_launch("rms_norm");
}

void apply_rope(float* x, int64_t num_tokens, int64_t num_heads, int64_t head_dim, const int32_t* positions,
                const float* inv_freq, int64_t rotary_half, void* stream) {
  if (2 * rotary_half > head_dim) {
    fail_invalid("cuda apply_rope: rotary dims " + std::to_string(2 * rotary_half) + " exceed head_dim " +
                 std::to_string(head_dim));
  }
  const int64_t total = num_tokens * num_heads * rotary_half;
  if (total <= 0) return;
  rope_kernel<<<grid_for(total), kBlock, 0, as_stream(stream)>>>(x, num_tokens, num_heads, head_dim, positions,
                                                                  inv_freq, rotary_half);
  check_launch("apply_rope");
}

void silu_mul(const float* gate, const float* up, int64_t n, float* out, void* stream) {
  if (n <= 0) return;
  silu_mul_kernel<<<grid_for(n), kBlock, 0, as_stream(stream)>>>(gate, up, n, out);
  check_launch("silu_mul");
}

void add_in_place(float* y, const float* x, int64_t n, void* stream) {
  if (n <= 0) return;
  add_kernel<<<grid_for(n), kBlock, 0, as_stream(stream)>>>(y, x, n);
  check_launch("add_in_place");
}

void add_bias(float* y, const float* bias, int64_t rows, int64_t cols, void* stream) {
  if (rows <= 0 || cols <= 0) return;
  const bool vector = cols % 4 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0 &&
                      reinterpret_cast<uintptr_t>(bias) % 16 == 0;
  const int64_t threads = vector ? cols / 4 : cols;
  // About 8 rows a thread: enough blocks to fill the device, few re-reads of the bias.
  const dim3 grid(static_cast<unsigned>((threads + kBlock - 1) / kBlock),
                  static_cast<unsigned>(std::clamp<int64_t>((rows + 7) / 8, 1, 65535)));
  if (vector) {
    add_bias_kernel<true><<<grid, kBlock, 0, as_stream(stream)>>>(y, bias, rows, cols);
  } else {
    add_bias_kernel<false><<<grid, kBlock, 0, as_stream(stream)>>>(y, bias, rows, cols);
  }
  check_launch("add_bias");
}

void float_to_half(const float* in, uint16_t* out, int64_t n, void* stream) {
  if (n <= 0) return;
  to_half_kernel<<<grid_for(n), kBlock, 0, as_stream(stream)>>>(in, reinterpret_cast<__half*>(out), n);
  check_launch("float_to_half");
}

void float_to_bf16(const float* in, uint16_t* out, int64_t n, void* stream) {
  if (n <= 0) return;
  to_bf16_kernel<<<grid_for(n), kBlock, 0, as_stream(stream)>>>(in, reinterpret_cast<__nv_bfloat16*>(out), n);
  check_launch("float_to_bf16");
}

void float_to_bf16_split(const float* in, uint16_t* high, uint16_t* low, int64_t n, void* stream) {
  if (n <= 0) return;
  to_bf16_split_kernel<<<grid_for(n), kBlock, 0, as_stream(stream)>>>(
      in, reinterpret_cast<__nv_bfloat16*>(high), reinterpret_cast<__nv_bfloat16*>(low), n);
  check_launch("float_to_bf16_split");
}

void half_to_float(const uint16_t* in, float* out, int64_t n, void* stream) {
  if (n <= 0) return;
  to_float_kernel<<<grid_for(n), kBlock, 0, as_stream(stream)>>>(reinterpret_cast<const __half*>(in), out, n);
  check_launch("half_to_float");
}

void argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* out, void* stream) {
  if (rows <= 0) return;
  if (vocab <= 0 || vocab > 2147483647) fail_invalid("cuda argmax: vocab size out of range");
  argmax_kernel<<<static_cast<unsigned>(rows), 1024, 0, as_stream(stream)>>>(logits, vocab, out);
  check_launch("argmax_rows");
}

}  // namespace citadel::runtime::cuda
