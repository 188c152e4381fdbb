// GPTQ GEMV (decode) kernels and the f16 dequantization for prefill.
// Fast path (4 bits, no g_idx, group size -1 or a multiple of 32): each thread
// owns 4 adjacent output columns and reads 16-byte packed rows (coalesced along
// the output dim); a warp takes 32-input chunks (one group each), the 8 warps
// of a block and the blocks of a K split share the input dim, partial sums
// meet in shared memory and then (K split > 1) in y through atomicAdd.
// Nibbles become floats by the 2^23 exponent trick; (q - z) sums are scaled
// once per chunk. Generic path: one column per thread, per-element group lookup.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/gptq_kernels.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::runtime::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kColumnsPerBlock = 32 * 4;
constexpr int kChunkInputs = 32;
constexpr int kChunkRows = kChunkInputs / 8;
constexpr int kMaxRowsPerPass = 8;
constexpr float kMagic = 8388608.0f;  // 2^23: float bits 0x4B000000 | n == 2^23 + n

__device__ __forceinline__ float nibble_plus_magic(uint32_t word, int shift) {
  return __uint_as_float(((word >> shift) & 0xFu) | 0x4B000000u);
}

__device__ __forceinline__ void load_chunk(const int32_t* __restrict__ qweight, int64_t out, int64_t col, int64_t chunk,
                                           uint4 (&q)[kChunkRows]) {
#pragma unroll
  for (int r = 0; r < kChunkRows; ++r) {
    q[r] = __ldg(reinterpret_cast<const uint4*>(qweight + (chunk * kChunkRows + r) * out + col));
  }
}

template <int M>
__global__ void __launch_bounds__(kThreads, M == 1 ? 4 : M == 2 ? 3 : M <= 4 ? 2 : 1)
gemv_int4_fast(const int32_t* __restrict__ qweight, const int32_t* __restrict__ qzeros,
               const uint16_t* __restrict__ scales, int64_t in, int64_t out, int64_t group_size,
               float zero_offset, const float* __restrict__ x, float* __restrict__ y,
               const float* __restrict__ bias, int64_t chunks_per_split, bool accumulate) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kColumnsPerBlock + lane * 4;
  const int64_t total_chunks = in / kChunkInputs;
  const int64_t chunk_begin = static_cast<int64_t>(blockIdx.y) * chunks_per_split;
  const int64_t chunk_end = min(total_chunks, chunk_begin + chunks_per_split);
  float result[M][4];
#pragma unroll
  for (int m = 0; m < M; ++m) {
#pragma unroll
    for (int c = 0; c < 4; ++c) result[m][c] = 0.0f;
  }
  if (col < out) {
    // Software pipelining for few rows (memory-bound): the next chunk's packed
    // rows are in flight while this chunk is computed. More rows are
    // compute-heavy and would run out of registers.
    constexpr bool kPrefetch = M <= 2;
    int64_t chunk = chunk_begin + warp;
    uint4 q[kChunkRows];
    if (chunk < chunk_end) load_chunk(qweight, out, col, chunk, q);
    for (; chunk < chunk_end; chunk += kWarps) {
      const int64_t input0 = chunk * kChunkInputs;
      uint4 q_next[kChunkRows];
      if constexpr (kPrefetch) {
        if (chunk + kWarps < chunk_end) load_chunk(qweight, out, col, chunk + kWarps, q_next);
      }
      const int64_t group = group_size > 0 ? input0 / group_size : 0;
      const uint2 scale_bits = __ldg(reinterpret_cast<const uint2*>(scales + group * out + col));
      const float2 s01 = __half22float2(*reinterpret_cast<const __half2*>(&scale_bits.x));
      const float2 s23 = __half22float2(*reinterpret_cast<const __half2*>(&scale_bits.y));
      const uint32_t zero_word =
          static_cast<uint32_t>(__ldg(qzeros + group * (out / 8) + col / 8)) >> ((col % 8) * 4);
      float zero[4];
#pragma unroll
      for (int c = 0; c < 4; ++c) zero[c] = kMagic + static_cast<float>((zero_word >> (4 * c)) & 0xFu) + zero_offset;
      float acc[M][4];
#pragma unroll
      for (int m = 0; m < M; ++m) {
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[m][c] = 0.0f;
      }
#pragma unroll
      for (int r = 0; r < kChunkRows; ++r) {
        const uint32_t words[4] = {q[r].x, q[r].y, q[r].z, q[r].w};
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          float4 xv[M];
#pragma unroll
          for (int m = 0; m < M; ++m) {
            xv[m] = __ldg(reinterpret_cast<const float4*>(x + m * in + input0 + r * 8 + half * 4));
          }
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            const int shift = (half * 4 + j) * 4;
#pragma unroll
            for (int c = 0; c < 4; ++c) {
              const float w = nibble_plus_magic(words[c], shift) - zero[c];
#pragma unroll
              for (int m = 0; m < M; ++m) {
                const float xj = j == 0 ? xv[m].x : j == 1 ? xv[m].y : j == 2 ? xv[m].z : xv[m].w;
                acc[m][c] = fmaf(xj, w, acc[m][c]);
              }
            }
          }
        }
      }
      const float s[4] = {s01.x, s01.y, s23.x, s23.y};
#pragma unroll
      for (int m = 0; m < M; ++m) {
#pragma unroll
        for (int c = 0; c < 4; ++c) result[m][c] = fmaf(s[c], acc[m][c], result[m][c]);
      }
      if constexpr (kPrefetch) {
#pragma unroll
        for (int r = 0; r < kChunkRows; ++r) q[r] = q_next[r];
      } else if (chunk + kWarps < chunk_end) {
        load_chunk(qweight, out, col, chunk + kWarps, q);
      }
    }
  }
  __shared__ float4 partial[kWarps][M][32];
#pragma unroll
  for (int m = 0; m < M; ++m) partial[warp][m][lane] = make_float4(result[m][0], result[m][1], result[m][2], result[m][3]);
  __syncthreads();
  const float* flat = reinterpret_cast<const float*>(partial);
  for (int index = threadIdx.x; index < M * kColumnsPerBlock; index += kThreads) {
    const int m = index / kColumnsPerBlock;
    const int column_in_block = index % kColumnsPerBlock;
    const int64_t o = static_cast<int64_t>(blockIdx.x) * kColumnsPerBlock + column_in_block;
    if (o >= out) continue;
    float sum = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += flat[(w * M + m) * kColumnsPerBlock + column_in_block];
    if (bias != nullptr && blockIdx.y == 0) sum += bias[o];
    if (accumulate) {
      atomicAdd(y + m * out + o, sum);
    } else {
      y[m * out + o] = sum;
    }
  }
}

// Any bits/g_idx: one column per thread, group looked up per input.
__global__ void gemv_generic(GptqDeviceWeights w, const float* __restrict__ x, int m, float* __restrict__ y,
                             const float* __restrict__ bias, int64_t rows_per_split, bool accumulate) {
  const int64_t col = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (col >= w.out_features) return;
  const int per_word = 32 / w.bits;
  const uint32_t mask = (1u << w.bits) - 1u;
  const int64_t rows = w.in_features / per_word;
  const int64_t row_begin = static_cast<int64_t>(blockIdx.y) * rows_per_split;
  const int64_t row_end = min(rows, row_begin + rows_per_split);
  const int64_t zero_words = w.out_features / per_word;
  const int zero_shift = static_cast<int>((col % per_word) * w.bits);
  float acc[kMaxRowsPerPass] = {};
  const bool one_group = w.g_idx == nullptr && (w.group_size <= 0 || w.group_size % per_word == 0);
  int64_t current_group = -1;
  float scale = 0.0f, zero = 0.0f;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint32_t word = static_cast<uint32_t>(__ldg(w.qweight + r * w.out_features + col));
    for (int j = 0; j < per_word; ++j) {
      const int64_t i = r * per_word + j;
      if (!one_group || j == 0) {  // else: the group of input r * per_word
        const int64_t g = w.g_idx != nullptr ? __ldg(w.g_idx + i) : (w.group_size > 0 ? i / w.group_size : 0);
        if (g != current_group) {
          current_group = g;
          scale = __half2float(__ushort_as_half(__ldg(w.scales + g * w.out_features + col)));
          const uint32_t z =
              (static_cast<uint32_t>(__ldg(w.qzeros + g * zero_words + col / per_word)) >> zero_shift) & mask;
          zero = static_cast<float>(z) + (w.zeros_minus_one ? 1.0f : 0.0f);
        }
      }
      const float value = (static_cast<float>((word >> (j * w.bits)) & mask) - zero) * scale;
#pragma unroll
      for (int t = 0; t < kMaxRowsPerPass; ++t) {
        if (t < m) acc[t] = fmaf(__ldg(x + t * w.in_features + i), value, acc[t]);
      }
    }
  }
  for (int t = 0; t < m; ++t) {
    float sum = acc[t] + (bias != nullptr && blockIdx.y == 0 ? bias[col] : 0.0f);
    if (accumulate) {
      atomicAdd(y + t * w.out_features + col, sum);
    } else {
      y[t * w.out_features + col] = sum;
    }
  }
}

__global__ void dequantize_f16(GptqDeviceWeights w, __half* __restrict__ dst) {
  const int64_t col = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t r = blockIdx.y;
  if (col >= w.out_features) return;
  const int per_word = 32 / w.bits;
  const uint32_t mask = (1u << w.bits) - 1u;
  const int64_t zero_words = w.out_features / per_word;
  const int zero_shift = static_cast<int>((col % per_word) * w.bits);
  const uint32_t word = static_cast<uint32_t>(w.qweight[r * w.out_features + col]);
  // Without g_idx and with groups that hold whole packed words, one group per word.
  const bool one_group = w.g_idx == nullptr && (w.group_size <= 0 || w.group_size % per_word == 0);
  int64_t current_group = -1;
  float scale = 0.0f, zero = 0.0f;
  for (int j = 0; j < per_word; ++j) {
    const int64_t i = r * per_word + j;
    if (!one_group || j == 0) {
      const int64_t g = w.g_idx != nullptr ? w.g_idx[i] : (w.group_size > 0 ? i / w.group_size : 0);
      if (g != current_group) {
        current_group = g;
        scale = __half2float(__ushort_as_half(w.scales[g * w.out_features + col]));
        const uint32_t z = (static_cast<uint32_t>(w.qzeros[g * zero_words + col / per_word]) >> zero_shift) & mask;
        zero = static_cast<float>(z) + (w.zeros_minus_one ? 1.0f : 0.0f);
      }
    }
    dst[i * w.out_features + col] = __float2half_rn((static_cast<float>((word >> (j * w.bits)) & mask) - zero) * scale);
  }
}

int multiprocessor_count() {
  static const int count = [] {
    int device = 0, value = 0;
    check_cuda(cudaGetDevice(&device), "cudaGetDevice");
    check_cuda(cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
    return value;
  }();
  return count;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_weights(const GptqDeviceWeights& w, const char* what) {
  if ((w.bits != 4 && w.bits != 8) || w.in_features <= 0 || w.out_features <= 0 ||
      w.in_features % (32 / w.bits) != 0 || w.out_features % (32 / w.bits) != 0 || w.qweight == nullptr ||
      w.qzeros == nullptr || w.scales == nullptr || w.num_groups <= 0) {
    fail_invalid(std::string(what) + ": invalid GPTQ layer (bits " + std::to_string(w.bits) + ", in " +
                 std::to_string(w.in_features) + ", out " + std::to_string(w.out_features) + ")");
  }
}

template <int M>
void launch_fast(const GptqDeviceWeights& w, const float* x, float* y, const float* bias, cudaStream_t stream) {
  // K splits: as many blocks as fit on the GPU at once (one wave, no tail),
  // at least one chunk per warp.
  static const int64_t resident_blocks = [] {
    int per_multiprocessor = 1;
    check_cuda(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_multiprocessor, gemv_int4_fast<M>, kThreads, 0),
               "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
    return static_cast<int64_t>(std::max(1, per_multiprocessor)) * multiprocessor_count();
  }();
  const int64_t column_blocks = ceil_div(w.out_features, kColumnsPerBlock);
  const int64_t total_chunks = w.in_features / kChunkInputs;
  const int64_t wanted_splits = resident_blocks / column_blocks;
  const int64_t splits_max = ceil_div(total_chunks, kWarps);
  const int64_t chunks_per_split = ceil_div(total_chunks, std::clamp<int64_t>(wanted_splits, 1, splits_max));
  const int64_t splits = ceil_div(total_chunks, chunks_per_split);
  if (splits > 1) {
    check_cuda(cudaMemsetAsync(y, 0, sizeof(float) * M * w.out_features, stream), "gptq_gemv: clearing y");
  }
  const float zero_offset = w.zeros_minus_one ? 1.0f : 0.0f;
  gemv_int4_fast<M><<<dim3(static_cast<unsigned>(column_blocks), static_cast<unsigned>(splits)), kThreads, 0, stream>>>(
      w.qweight, w.qzeros, w.scales, w.in_features, w.out_features, w.group_size, zero_offset, x, y, bias,
      chunks_per_split, splits > 1);
  check_launch("gptq_gemv (int4 fast path)");
}

void launch_fast_rows(int rows, const GptqDeviceWeights& w, const float* x, float* y, const float* bias,
                      cudaStream_t stream) {
  switch (rows) {
    case 1: return launch_fast<1>(w, x, y, bias, stream);
    case 2: return launch_fast<2>(w, x, y, bias, stream);
    case 3: return launch_fast<3>(w, x, y, bias, stream);
    case 4: return launch_fast<4>(w, x, y, bias, stream);
    case 5: return launch_fast<5>(w, x, y, bias, stream);
    case 6: return launch_fast<6>(w, x, y, bias, stream);
    case 7: return launch_fast<7>(w, x, y, bias, stream);
    default: return launch_fast<8>(w, x, y, bias, stream);
  }
}

void launch_generic(int rows, const GptqDeviceWeights& w, const float* x, float* y, const float* bias,
                    cudaStream_t stream) {
  constexpr int kBlock = 256;
  const int64_t column_blocks = ceil_div(w.out_features, kBlock);
  const int64_t packed_rows = w.in_features / (32 / w.bits);
  const int64_t wanted_splits = ceil_div(4 * multiprocessor_count(), column_blocks);
  const int64_t rows_per_split = ceil_div(packed_rows, std::clamp<int64_t>(wanted_splits, 1, packed_rows));
  const int64_t splits = ceil_div(packed_rows, rows_per_split);
  if (splits > 1) {
    check_cuda(cudaMemsetAsync(y, 0, sizeof(float) * rows * w.out_features, stream), "gptq_gemv: clearing y");
  }
  gemv_generic<<<dim3(static_cast<unsigned>(column_blocks), static_cast<unsigned>(splits)), kBlock, 0, stream>>>(
      w, x, rows, y, bias, rows_per_split, splits > 1);
  check_launch("gptq_gemv (generic path)");
}

}  // namespace

bool gptq_gemv_fast_path(const GptqDeviceWeights& w) {
  return w.bits == 4 && w.g_idx == nullptr && w.in_features % kChunkInputs == 0 &&
         (w.group_size == -1 || (w.group_size > 0 && w.group_size % kChunkInputs == 0));
}

void gptq_gemv(const GptqDeviceWeights& w, const float* x, int64_t m, float* y, const float* bias, void* stream) {
  check_weights(w, "gptq_gemv");
  const auto s = static_cast<cudaStream_t>(stream);
  const bool fast = gptq_gemv_fast_path(w);
  for (int64_t row0 = 0; row0 < m; row0 += kMaxRowsPerPass) {
    const int rows = static_cast<int>(std::min<int64_t>(kMaxRowsPerPass, m - row0));
    const float* x_pass = x + row0 * w.in_features;
    float* y_pass = y + row0 * w.out_features;
    if (fast) {
      launch_fast_rows(rows, w, x_pass, y_pass, bias, s);
    } else {
      launch_generic(rows, w, x_pass, y_pass, bias, s);
    }
  }
}

void gptq_dequantize_f16(const GptqDeviceWeights& w, uint16_t* weight_in_out, void* stream) {
  check_weights(w, "gptq_dequantize_f16");
  constexpr int kBlock = 256;
  const int64_t packed_rows = w.in_features / (32 / w.bits);
  dequantize_f16<<<dim3(static_cast<unsigned>(ceil_div(w.out_features, kBlock)), static_cast<unsigned>(packed_rows)),
                   kBlock, 0, static_cast<cudaStream_t>(stream)>>>(w, reinterpret_cast<__half*>(weight_in_out));
  check_launch("gptq_dequantize_f16");
}

}  // namespace citadel::runtime::cuda
