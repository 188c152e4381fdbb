// Int4 tensor-core GEMM (int4_mma.h says what and how). Fragment layouts of
// mma.sync.m16n8k16 (PTX ISA): with g = lane / 4 and t = lane % 4, A (16x16,
// rows = output columns, k = inputs) registers hold (g, 2t..2t+1),
// (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..); B (16x8, n = rows of x) holds
// (2t..2t+1, g), (2t+8.., g); C holds (g, 2t..2t+1), (g+8, 2t..2t+1).
// A byte of a packed word is the nibble pair of inputs (2t, 2t+1): it is
// moved to both halves of a word (byte_perm), masked and OR'd into the f16
// 1024 (low half: 1024 + q, high half: 1024 + 16 q), and one fma2 with
// (1, 1/16) and -(1024 + z), -(64 + z) leaves (q - z) exactly in each half.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/int4_mma.h"
#include "runtime/cuda/int4_split_reduce.cuh"

#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::runtime::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kTile = static_cast<int>(kInt4TileColumns);
constexpr int kStageInputs = 64;
constexpr int kStages = 3;
constexpr int kStageWeightBytes = kStageInputs / 8 * kTile * 4;  // 4 KB
constexpr int kStageScaleBytes = 2 * kTile * 2;                   // two chunks of f16 scales
constexpr int kStageZeroBytes = 2 * kTile;                        // two chunks of u8 zeros

template <int NT>
__host__ __device__ constexpr int stage_bytes() {
  return kStageWeightBytes + kStageScaleBytes + kStageZeroBytes + 2 * NT * 8 * kStageInputs * 2;
}

struct Params {
  Int4TiledWeights w;
  const __half* x_hi;  // [NT * 8][in]
  const __half* x_lo;
  const float* bias;
  float* partials;
  int32_t* counters;
  LinearEpilogue epilogue;
  int64_t row0;
  int32_t rows;
  int32_t stages;            // in / 64
  int32_t stages_per_split;
  int32_t splits;
};

__device__ __forceinline__ int64_t group_of(const Int4TiledWeights& w, int64_t chunk) {
  return w.chunks_per_group > 0
             ? static_cast<int64_t>(static_cast<uint32_t>(chunk) / static_cast<uint32_t>(w.chunks_per_group))
             : static_cast<int64_t>(__ldg(w.chunk_group + chunk));
}

template <int NT>
__device__ __forceinline__ void issue_stage(const Params& p, char* buffer, int64_t tile, int64_t stage) {
  const int64_t in = p.w.in_features;
  const int64_t input0 = stage * kStageInputs;
  // Weights: 8 packed rows x 128 words, as 256 copies of 16 bytes.
  const uint32_t* weights = p.w.qweight + (tile * (in / 8) + input0 / 8) * kTile;
  for (int c = threadIdx.x; c < kStageWeightBytes / 16; c += kThreads) {
    __pipeline_memcpy_async(buffer + c * 16, weights + c * 4, 16);
  }
  // Scales and zeros of the stage's two chunks.
  char* scales = buffer + kStageWeightBytes;
  char* zeros = scales + kStageScaleBytes;
  for (int c = threadIdx.x; c < (kStageScaleBytes + kStageZeroBytes) / 16; c += kThreads) {
    const int chunk_in_stage = c < kStageScaleBytes / 16 ? c / (kTile * 2 / 16) : (c - kStageScaleBytes / 16) / (kTile / 16);
    const int64_t group = group_of(p.w, stage * 2 + chunk_in_stage);
    if (c < kStageScaleBytes / 16) {
      const int piece = c % (kTile * 2 / 16);
      __pipeline_memcpy_async(scales + c * 16, p.w.scales + group * p.w.padded_columns + tile * kTile + piece * 8, 16);
    } else {
      const int z = c - kStageScaleBytes / 16;
      const int piece = z % (kTile / 16);
      __pipeline_memcpy_async(zeros + z * 16, p.w.zeros + group * p.w.padded_columns + tile * kTile + piece * 16, 16);
    }
  }
  // x halves: NT * 8 rows x 64 inputs each, 8 copies of 16 bytes per row and part.
  char* x_parts = zeros + kStageZeroBytes;
  for (int c = threadIdx.x; c < 2 * NT * 8 * 8; c += kThreads) {
    const int part = c / (NT * 8 * 8), row = (c / 8) % (NT * 8), piece = c % 8;
    const __half* source = (part == 0 ? p.x_hi : p.x_lo) + row * in + input0 + piece * 8;
    __pipeline_memcpy_async(x_parts + c * 16, source, 16);
  }
  __pipeline_commit();
}

__device__ __forceinline__ uint32_t dequantize_pair(uint32_t word, uint32_t selector, __half2 minus_zero) {
  uint32_t bits = __byte_perm(word, 0u, selector);
  bits = (bits & 0x00F0000Fu) | 0x64006400u;
  const __half2 value = __hfma2(*reinterpret_cast<const __half2*>(&bits), __halves2half2(__float2half(1.0f),
                                                                                        __float2half(0.0625f)),
                                minus_zero);
  return *reinterpret_cast<const uint32_t*>(&value);
}

__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <int NT>
__device__ __forceinline__ void compute_stage(const char* buffer, int warp, int g, int t, float (&result)[2][NT][4]) {
  const uint32_t* weights = reinterpret_cast<const uint32_t*>(buffer);
  const __half* scales = reinterpret_cast<const __half*>(buffer + kStageWeightBytes);
  const uint8_t* zeros = reinterpret_cast<const uint8_t*>(buffer + kStageWeightBytes + kStageScaleBytes);
  const __half* x_hi = reinterpret_cast<const __half*>(buffer + kStageWeightBytes + kStageScaleBytes + kStageZeroBytes);
  const __half* x_lo = x_hi + NT * 8 * kStageInputs;
  const uint32_t selector = 0x4040u | static_cast<uint32_t>(t) | (static_cast<uint32_t>(t) << 8);
#pragma unroll
  for (int chunk = 0; chunk < 2; ++chunk) {
    float scale[2][2];
    __half2 minus_zero[2][2];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int column = warp * 32 + mt * 16 + half * 8 + g;
        scale[mt][half] = __half2float(scales[chunk * kTile + column]);
        const float z = static_cast<float>(zeros[chunk * kTile + column]);
        minus_zero[mt][half] = __halves2half2(__float2half(-(1024.0f + z)), __float2half(-(64.0f + z)));
      }
    }
    float sums[2][NT][4];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) sums[mt][nt][i] = 0.0f;
      }
    }
#pragma unroll
    for (int step = 0; step < 2; ++step) {
      const int k0 = chunk * 32 + step * 16;  // first input of this k-step within the stage
      const int row0 = k0 / 8;                 // packed rows row0 (inputs k0..k0+7) and row0 + 1
      uint32_t a[2][4];
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        const int column = warp * 32 + mt * 16 + g;
        a[mt][0] = dequantize_pair(weights[row0 * kTile + column], selector, minus_zero[mt][0]);
        a[mt][1] = dequantize_pair(weights[row0 * kTile + column + 8], selector, minus_zero[mt][1]);
        a[mt][2] = dequantize_pair(weights[(row0 + 1) * kTile + column], selector, minus_zero[mt][0]);
        a[mt][3] = dequantize_pair(weights[(row0 + 1) * kTile + column + 8], selector, minus_zero[mt][1]);
      }
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int row = nt * 8 + g;
        const uint32_t hi0 = *reinterpret_cast<const uint32_t*>(x_hi + row * kStageInputs + k0 + 2 * t);
        const uint32_t hi1 = *reinterpret_cast<const uint32_t*>(x_hi + row * kStageInputs + k0 + 8 + 2 * t);
        const uint32_t lo0 = *reinterpret_cast<const uint32_t*>(x_lo + row * kStageInputs + k0 + 2 * t);
        const uint32_t lo1 = *reinterpret_cast<const uint32_t*>(x_lo + row * kStageInputs + k0 + 8 + 2 * t);
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
          mma(sums[mt][nt], a[mt], hi0, hi1);
          mma(sums[mt][nt], a[mt], lo0, lo1);
        }
      }
    }
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        result[mt][nt][0] = fmaf(scale[mt][0], sums[mt][nt][0], result[mt][nt][0]);
        result[mt][nt][1] = fmaf(scale[mt][0], sums[mt][nt][1], result[mt][nt][1]);
        result[mt][nt][2] = fmaf(scale[mt][1], sums[mt][nt][2], result[mt][nt][2]);
        result[mt][nt][3] = fmaf(scale[mt][1], sums[mt][nt][3], result[mt][nt][3]);
      }
    }
  }
}

template <int NT>
__global__ void __launch_bounds__(kThreads) int4_mma_kernel(Params p) {
  extern __shared__ uint4 shared4[];
  char* shared = reinterpret_cast<char*>(shared4);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int64_t tile = blockIdx.x;
  const int split = blockIdx.y;
  const int64_t stage0 = static_cast<int64_t>(split) * p.stages_per_split;
  const int stages = static_cast<int>(min(static_cast<int64_t>(p.stages) - stage0, static_cast<int64_t>(p.stages_per_split)));
  constexpr int kStageBytes = stage_bytes<NT>();

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < stages) {
      issue_stage<NT>(p, shared + s * kStageBytes, tile, stage0 + s);
    } else {
      __pipeline_commit();
    }
  }
  float result[2][NT][4];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
      for (int i = 0; i < 4; ++i) result[mt][nt][i] = 0.0f;
    }
  }
  for (int s = 0; s < stages; ++s) {
    __pipeline_wait_prior(kStages - 2);
    __syncthreads();  // stage s visible to all; stage s - 1's buffer free
    const int ahead = s + kStages - 1;
    if (ahead < stages) {
      issue_stage<NT>(p, shared + (ahead % kStages) * kStageBytes, tile, stage0 + ahead);
    } else {
      __pipeline_commit();
    }
    compute_stage<NT>(shared + (s % kStages) * kStageBytes, warp, g, t, result);
  }
  __pipeline_wait_prior(0);
  __syncthreads();  // stage buffers free: they hold final_values [NT * 8][128]

  float* final_values = reinterpret_cast<float*>(shared);
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int column = warp * 32 + mt * 16 + g, row = nt * 8 + 2 * t;
      final_values[row * kTile + column] = result[mt][nt][0];
      final_values[(row + 1) * kTile + column] = result[mt][nt][1];
      final_values[row * kTile + column + 8] = result[mt][nt][2];
      final_values[(row + 1) * kTile + column + 8] = result[mt][nt][3];
    }
  }
  __syncthreads();
  finish_split_tile<NT * 8, kThreads>(p.w, p.bias, p.partials, p.counters, p.epilogue, p.row0, p.rows, p.splits, split,
                                      tile, final_values);
}

// x_hi[r, k] + x_lo[r, k] ~ x[r, perm[k]] for r < rows, 0 for rows <= r < padded_rows.
__global__ void split_halves_kernel(const float* __restrict__ x, int64_t rows, int64_t padded_rows, int64_t in,
                                    const int32_t* __restrict__ perm, __half* __restrict__ hi, __half* __restrict__ lo) {
  const int64_t total = padded_rows * in;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = index / in, k = index % in;
    const float value = r < rows ? x[r * in + (perm != nullptr ? perm[k] : k)] : 0.0f;
    const __half high = __float2half_rn(value);
    hi[index] = high;
    lo[index] = __float2half_rn(value - __half2float(high));
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

struct Split {
  int32_t stages_per_split;
  int32_t splits;
};

Split split_for(const Int4TiledWeights& w) {
  const int64_t tiles = w.padded_columns / kTile;
  const int64_t stages = w.in_features / kStageInputs;
  const int64_t wanted = (3 * multiprocessor_count() + tiles - 1) / tiles;
  const int64_t splits = std::clamp<int64_t>(wanted, 1, std::max<int64_t>(1, stages / 4));
  const int64_t per_split = (stages + splits - 1) / splits;
  return {static_cast<int32_t>(per_split), static_cast<int32_t>((stages + per_split - 1) / per_split)};
}

template <int NT>
void launch(const Params& p, int64_t tiles, cudaStream_t stream) {
  constexpr int kBytes = std::max(kStages * stage_bytes<NT>(), NT * 8 * kTile * 4);
  static_assert(kBytes <= 48 * 1024 - 64, "int4_mma: shared memory over the default limit");
  int4_mma_kernel<NT><<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(p.splits)), kThreads, kBytes, stream>>>(
      p);
}

}  // namespace

bool int4_mma_supported(const Int4TiledWeights& w) {
  return w.qweight != nullptr && w.in_features > 0 && w.in_features % kStageInputs == 0;
}

Int4MmaScratchSize int4_mma_scratch_size(const Int4TiledWeights& w, int64_t rows) {
  const Split split = split_for(w);
  const int64_t pass = std::min(rows, kInt4MmaRowsPerPass);
  return {static_cast<size_t>(split.splits * pass * w.padded_columns), static_cast<size_t>(w.padded_columns / kTile),
          static_cast<size_t>(2 * kInt4MmaRowsPerPass * w.in_features)};
}

void int4_mma(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
              const LinearEpilogue& epilogue, uint16_t* x_halves, float* partials, int32_t* counters, void* stream) {
  if (rows <= 0) return;
  if (!int4_mma_supported(w) || w.padded_columns % kTile != 0 || x_halves == nullptr) {
    fail_invalid("int4_mma: invalid tiled layer (in " + std::to_string(w.in_features) + ")");
  }
  const auto s = static_cast<cudaStream_t>(stream);
  const int64_t tiles = w.padded_columns / kTile;
  const Split split = split_for(w);
  if (split.splits > 1 && (partials == nullptr || counters == nullptr)) {
    fail_invalid("int4_mma: split-K needs partials and counters");
  }
  for (int64_t row0 = 0; row0 < rows; row0 += kInt4MmaRowsPerPass) {
    const int64_t pass = std::min(kInt4MmaRowsPerPass, rows - row0);
    const int nt = pass <= 8 ? 1 : pass <= 16 ? 2 : 4;
    const int64_t padded = nt * 8;
    auto* hi = reinterpret_cast<__half*>(x_halves);
    __half* lo = hi + padded * w.in_features;
    const auto blocks = static_cast<unsigned>(std::clamp<int64_t>((padded * w.in_features + 255) / 256, 1, 65535));
    split_halves_kernel<<<blocks, 256, 0, s>>>(x + row0 * w.in_features, pass, padded, w.in_features, w.input_perm,
                                               hi, lo);
    check_launch("int4_mma (x halves)");
    Params p{w, hi, lo, bias, partials, counters, epilogue, row0, static_cast<int32_t>(pass),
             static_cast<int32_t>(w.in_features / kStageInputs), split.stages_per_split, split.splits};
    switch (nt) {
      case 1: launch<1>(p, tiles, s); break;
      case 2: launch<2>(p, tiles, s); break;
      default: launch<4>(p, tiles, s); break;
    }
    check_launch("int4_mma");
  }
}

}  // namespace citadel::runtime::cuda
