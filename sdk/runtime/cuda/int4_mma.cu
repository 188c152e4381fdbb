// Int4 tensor-core GEMM (int4_mma.h says what and how). Fragment layouts of
// mma.sync.m16n8k16 (PTX ISA): with g = lane / 4 and t = lane % 4, A (16x16,
// rows = output columns, k = inputs) registers hold (g, 2t..2t+1),
// (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..); B (16x8, n = rows of x) holds
// (2t..2t+1, g), (2t+8.., g); C holds (g, 2t..2t+1), (g+8, 2t..2t+1).
// A byte of a packed word is the nibble pair of inputs (2t, 2t+1): it is
// moved to both halves of a word (byte_perm), masked and OR'd into the f16
// 1024 (low half: 1024 + q, high half: 1024 + 16 q), and one fma2 with
// (1, 1/16) and -(1024 + z), -(64 + z) leaves (q - z) exactly in each half.
// x rows sit in shared memory kXStride halves apart (64 inputs + 16 bytes of
// padding), so the eight rows of a B fragment fall in distinct banks; each
// ldmatrix.x4 loads the B fragments of two 8-row tiles.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/int4_mma.h"
#include "runtime/cuda/int4_split_reduce.cuh"

#include <cooperative_groups.h>
#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <string>

namespace citadel::runtime::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kTile = static_cast<int>(kInt4TileColumns);
constexpr int kStageInputs = 64;
constexpr int kStages = 3;
constexpr int kMaxClusterSplits = 8;  // the portable cluster size
constexpr int kStageWeightBytes = kStageInputs / 8 * kTile * 4;  // 4 KB
constexpr int kStageScaleBytes = 2 * kTile * 2;                   // two chunks of f16 scales
constexpr int kStageZeroBytes = 2 * kTile;                        // two chunks of u8 zeros
constexpr int kXStride = kStageInputs + 8;                        // halves between x rows in shared memory

// NT: 8-row tiles of x per pass; kParts: 2 when x = hi + lo (f32-exact), 1 when x is rounded to f16.
template <int NT, int kParts>
__host__ __device__ constexpr int stage_bytes() {
  return kStageWeightBytes + kStageScaleBytes + kStageZeroBytes + kParts * NT * 8 * kXStride * 2;
}

struct Params {
  Int4TiledWeights w;
  const __half* x_hi;  // [NT * 8][in]
  const __half* x_lo;  // null with kParts 1
  const float* bias;
  LinearEpilogue epilogue;
  int64_t row0;
  int32_t rows;
  int32_t stages;            // in / 64
  int32_t stages_per_split;
  int32_t splits;            // blocks of one cluster (one column tile)
};

__device__ __forceinline__ int64_t group_of(const Int4TiledWeights& w, int64_t chunk) {
  return w.chunks_per_group > 0
             ? static_cast<int64_t>(static_cast<uint32_t>(chunk) / static_cast<uint32_t>(w.chunks_per_group))
             : static_cast<int64_t>(__ldg(w.chunk_group + chunk));
}

template <int NT, int kParts>
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
  // x parts: NT * 8 rows x 64 inputs each, 8 copies of 16 bytes per row and part.
  char* x_parts = zeros + kStageZeroBytes;
  for (int c = threadIdx.x; c < kParts * NT * 8 * 8; c += kThreads) {
    const int part = c / (NT * 8 * 8), row = (c / 8) % (NT * 8), piece = c % 8;
    const __half* source = (part == 0 ? p.x_hi : p.x_lo) + row * in + input0 + piece * 8;
    __pipeline_memcpy_async(x_parts + ((part * NT * 8 + row) * kXStride + piece * 8) * 2, source, 16);
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

// B fragments of 8-row tiles nt and nt + 1 (only nt when NT is 1) at inputs
// k0..k0+15 of one x part: lanes 8i..8i+7 address the rows of matrix i
// (tile nt + i / 2, inputs k0 + 8 (i % 2)..).
template <int NT>
__device__ __forceinline__ void load_b(const __half* x_part, int nt, int k0, int lane, uint32_t (&b)[4]) {
  const int matrix = lane >> 3, row = lane & 7;
  const int tile = NT == 1 ? nt : nt + (matrix >> 1);
  const __half* address = x_part + (tile * 8 + row) * kXStride + k0 + (matrix & 1) * 8;
  const auto shared_address = static_cast<uint32_t>(__cvta_generic_to_shared(address));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3])
               : "r"(shared_address));
}

template <int NT, int kParts>
__device__ __forceinline__ void compute_stage(const char* buffer, int warp, int lane, float (&result)[2][NT][4]) {
  const int g = lane >> 2, t = lane & 3;
  const uint32_t* weights = reinterpret_cast<const uint32_t*>(buffer);
  const __half* scales = reinterpret_cast<const __half*>(buffer + kStageWeightBytes);
  const uint8_t* zeros = reinterpret_cast<const uint8_t*>(buffer + kStageWeightBytes + kStageScaleBytes);
  const __half* x_parts = reinterpret_cast<const __half*>(buffer + kStageWeightBytes + kStageScaleBytes + kStageZeroBytes);
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
      for (int part = 0; part < kParts; ++part) {
#pragma unroll
        for (int nt = 0; nt < NT; nt += 2) {
          uint32_t b[4];
          load_b<NT>(x_parts + part * NT * 8 * kXStride, nt, k0, lane, b);
#pragma unroll
          for (int mt = 0; mt < 2; ++mt) {
            mma(sums[mt][nt], a[mt], b[0], b[1]);
            if (NT > 1) mma(sums[mt][nt + 1 < NT ? nt + 1 : nt], a[mt], b[2], b[3]);
          }
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

// f16 activations: the weight operand is (q - z) * scale rounded to f16 once
// (as the dequantize + cuBLAS path rounds it), so the tensor cores
// accumulate the whole split in f32 with no per-chunk sums to scale.
template <int NT>
__device__ __forceinline__ void compute_stage_f16(const char* buffer, int warp, int lane, float (&result)[2][NT][4]) {
  const int g = lane >> 2, t = lane & 3;
  const uint32_t* weights = reinterpret_cast<const uint32_t*>(buffer);
  const __half* scales = reinterpret_cast<const __half*>(buffer + kStageWeightBytes);
  const uint8_t* zeros = reinterpret_cast<const uint8_t*>(buffer + kStageWeightBytes + kStageScaleBytes);
  const __half* x = reinterpret_cast<const __half*>(buffer + kStageWeightBytes + kStageScaleBytes + kStageZeroBytes);
  const uint32_t selector = 0x4040u | static_cast<uint32_t>(t) | (static_cast<uint32_t>(t) << 8);
#pragma unroll
  for (int chunk = 0; chunk < 2; ++chunk) {
    __half2 scale[2][2], minus_zero[2][2];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int column = warp * 32 + mt * 16 + half * 8 + g;
        scale[mt][half] = __half2half2(scales[chunk * kTile + column]);
        const float z = static_cast<float>(zeros[chunk * kTile + column]);
        minus_zero[mt][half] = __halves2half2(__float2half(-(1024.0f + z)), __float2half(-(64.0f + z)));
      }
    }
#pragma unroll
    for (int step = 0; step < 2; ++step) {
      const int k0 = chunk * 32 + step * 16;
      const int row0 = k0 / 8;
      uint32_t a[2][4];
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        const int column = warp * 32 + mt * 16 + g;
        const uint32_t words[4] = {weights[row0 * kTile + column], weights[row0 * kTile + column + 8],
                                   weights[(row0 + 1) * kTile + column], weights[(row0 + 1) * kTile + column + 8]};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const uint32_t exact = dequantize_pair(words[i], selector, minus_zero[mt][i & 1]);
          const __half2 scaled = __hmul2(*reinterpret_cast<const __half2*>(&exact), scale[mt][i & 1]);
          a[mt][i] = *reinterpret_cast<const uint32_t*>(&scaled);
        }
      }
#pragma unroll
      for (int nt = 0; nt < NT; nt += 2) {
        uint32_t b[4];
        load_b<NT>(x, nt, k0, lane, b);
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
          mma(result[mt][nt], a[mt], b[0], b[1]);
          if (NT > 1) mma(result[mt][nt + 1 < NT ? nt + 1 : nt], a[mt], b[2], b[3]);
        }
      }
    }
  }
}

template <int NT, int kParts>
__global__ void __launch_bounds__(kThreads) int4_mma_kernel(Params p) {
  extern __shared__ uint4 shared4[];
  char* shared = reinterpret_cast<char*>(shared4);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int64_t tile = blockIdx.x;
  const int split = blockIdx.y;
  const int64_t stage0 = static_cast<int64_t>(split) * p.stages_per_split;
  const int stages = static_cast<int>(min(static_cast<int64_t>(p.stages) - stage0, static_cast<int64_t>(p.stages_per_split)));
  constexpr int kStageBytes = stage_bytes<NT, kParts>();

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < stages) {
      issue_stage<NT, kParts>(p, shared + s * kStageBytes, tile, stage0 + s);
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
      issue_stage<NT, kParts>(p, shared + (ahead % kStages) * kStageBytes, tile, stage0 + ahead);
    } else {
      __pipeline_commit();
    }
    if constexpr (kParts == 1) {
      compute_stage_f16<NT>(shared + (s % kStages) * kStageBytes, warp, lane, result);
    } else {
      compute_stage<NT, kParts>(shared + (s % kStages) * kStageBytes, warp, lane, result);
    }
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
  int row_begin = 0, row_end = p.rows;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (p.splits > 1) {
    // The splits of this tile are one cluster: block `split` adds up rows
    // [row_begin, row_end) of every block's final_values (distributed shared
    // memory, in split order: deterministic) and finishes those rows.
    namespace cg = cooperative_groups;
    cg::cluster_group cluster = cg::this_cluster();
    cluster.sync();  // every block's final_values written
    row_begin = split * p.rows / p.splits;
    row_end = (split + 1) * p.rows / p.splits;
    // Only this block reads its own rows' values: each sum replaces its value in place.
    for (int index = row_begin * kTile + threadIdx.x; index < row_end * kTile; index += kThreads) {
      float sum = 0.0f;
#pragma unroll
      for (int r = 0; r < kMaxClusterSplits; ++r) {
        if (r < p.splits) sum += cluster.map_shared_rank(final_values, r)[index];
      }
      final_values[index] = sum;
    }
    cluster.sync();  // no block reads another's final_values any more
    __syncthreads();
  }
#endif
  if (row_end > row_begin) {
    finish_split_tile<NT * 8, kThreads>(p.w, p.bias, nullptr, nullptr, p.epilogue, p.row0 + row_begin,
                                        row_end - row_begin, 1, 0, tile, final_values + row_begin * kTile);
  }
}

// x_hi[r, k] + x_lo[r, k] ~ x[r, perm[k]] for r < rows, 0 for rows <= r < padded_rows;
// without lo, x_hi[r, k] is x[r, perm[k]] rounded to f16.
__global__ void split_halves_kernel(const float* __restrict__ x, int64_t rows, int64_t padded_rows, int64_t in,
                                    const int32_t* __restrict__ perm, __half* __restrict__ hi, __half* __restrict__ lo) {
  const int64_t total = padded_rows * in;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = index / in, k = index % in;
    const float value = r < rows ? x[r * in + (perm != nullptr ? perm[k] : k)] : 0.0f;
    const __half high = __float2half_rn(value);
    hi[index] = high;
    if (lo != nullptr) lo[index] = __float2half_rn(value - __half2float(high));
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

template <int NT, int kParts>
constexpr int shared_bytes() {
  return std::max(kStages * stage_bytes<NT, kParts>(), NT * 8 * kTile * 4);
}

// Resident blocks per multiprocessor of one kernel instance (registers and shared memory).
template <int NT, int kParts>
int occupancy() {
  static const int blocks = [] {
    int count = 0;
    check_cuda(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&count, int4_mma_kernel<NT, kParts>, kThreads,
                                                             shared_bytes<NT, kParts>()),
               "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
    return std::max(1, count);
  }();
  return blocks;
}

int tiles_of_rows(int64_t pass) { return pass <= 8 ? 1 : pass <= 16 ? 2 : pass <= 32 ? 4 : 8; }

int occupancy_for(int nt, bool exact) {
  if (exact) return nt == 1 ? occupancy<1, 2>() : nt == 2 ? occupancy<2, 2>() : occupancy<4, 2>();
  return nt == 1 ? occupancy<1, 1>() : nt == 2 ? occupancy<2, 1>() : nt == 4 ? occupancy<4, 1>() : occupancy<8, 1>();
}

struct Split {
  int32_t stages_per_split;
  int32_t splits;
};

std::atomic<int> min_stages_per_split{4};  // int4_mma_tuning

// Thread-block clusters (Hopper on): the splits of a tile reduce through distributed shared memory.
bool cluster_launch() {
  static const bool supported = [] {
    int device = 0, value = 0;
    check_cuda(cudaGetDevice(&device), "cudaGetDevice");
    check_cuda(cudaDeviceGetAttribute(&value, cudaDevAttrClusterLaunch, device), "cudaDeviceGetAttribute");
    return value != 0;
  }();
  return supported;
}

// Splits of the inputs so that tiles x splits blocks fill one wave of
// resident blocks (at least min_stages_per_split stages per split): more
// splits only add a partial wave and partial sums to reduce.
Split split_for(const Int4TiledWeights& w, int nt, bool exact) {
  const int64_t tiles = w.padded_columns / kTile;
  const int64_t stages = w.in_features / kStageInputs;
  const int64_t wave = static_cast<int64_t>(multiprocessor_count()) * occupancy_for(nt, exact);
  const int64_t most = cluster_launch() ? std::min<int64_t>(kMaxClusterSplits, stages / min_stages_per_split.load()) : 1;
  const int64_t splits = std::clamp<int64_t>(wave / tiles, 1, std::max<int64_t>(1, most));
  const int64_t per_split = (stages + splits - 1) / splits;
  return {static_cast<int32_t>(per_split), static_cast<int32_t>((stages + per_split - 1) / per_split)};
}

template <int NT, int kParts>
void launch(const Params& p, int64_t tiles, cudaStream_t stream) {
  constexpr int kBytes = shared_bytes<NT, kParts>();
  static_assert(kBytes <= 48 * 1024 - 64, "int4_mma: shared memory over the default limit");
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(p.splits));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = kBytes;
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeClusterDimension;
  attribute[0].val.clusterDim.x = 1;
  attribute[0].val.clusterDim.y = static_cast<unsigned>(p.splits);
  attribute[0].val.clusterDim.z = 1;
  config.attrs = attribute;
  config.numAttrs = p.splits > 1 ? 1 : 0;
  check_cuda(cudaLaunchKernelEx(&config, int4_mma_kernel<NT, kParts>, p), "cudaLaunchKernelEx (int4_mma)");
}

int64_t rows_per_pass(Int4MmaActivations activations) {
  return activations == Int4MmaActivations::f32_exact ? kInt4MmaRowsPerPass : kInt4MmaF16RowsPerPass;
}

}  // namespace

void int4_mma_tuning(int stages_per_split) { min_stages_per_split.store(std::max(1, stages_per_split)); }

bool int4_mma_supported(const Int4TiledWeights& w) {
  return w.qweight != nullptr && w.in_features > 0 && w.in_features % kStageInputs == 0;
}

size_t int4_mma_scratch_halves(const Int4TiledWeights& w, Int4MmaActivations activations) {
  const int64_t parts = activations == Int4MmaActivations::f32_exact ? 2 : 1;
  return static_cast<size_t>(parts * rows_per_pass(activations) * w.in_features);
}

void int4_mma(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
              const LinearEpilogue& epilogue, uint16_t* x_halves, void* stream, Int4MmaActivations activations) {
  if (rows <= 0) return;
  if (!int4_mma_supported(w) || w.padded_columns % kTile != 0 || x_halves == nullptr) {
    fail_invalid("int4_mma: invalid tiled layer (in " + std::to_string(w.in_features) + ")");
  }
  const auto s = static_cast<cudaStream_t>(stream);
  const int64_t tiles = w.padded_columns / kTile;
  const bool exact = activations == Int4MmaActivations::f32_exact;
  const int64_t per_pass = rows_per_pass(activations);
  for (int64_t row0 = 0; row0 < rows; row0 += per_pass) {
    const int64_t pass = std::min(per_pass, rows - row0);
    const int nt = tiles_of_rows(pass);
    const Split split = split_for(w, nt, exact);
    const int64_t padded = nt * 8;
    auto* hi = reinterpret_cast<__half*>(x_halves);
    __half* lo = exact ? hi + padded * w.in_features : nullptr;
    const auto blocks = static_cast<unsigned>(std::clamp<int64_t>((padded * w.in_features + 255) / 256, 1, 65535));
    split_halves_kernel<<<blocks, 256, 0, s>>>(x + row0 * w.in_features, pass, padded, w.in_features, w.input_perm,
                                               hi, lo);
    check_launch("int4_mma (x halves)");
    Params p{w, hi, lo, bias, epilogue, row0, static_cast<int32_t>(pass),
             static_cast<int32_t>(w.in_features / kStageInputs), split.stages_per_split, split.splits};
    if (exact) {
      switch (nt) {
        case 1: launch<1, 2>(p, tiles, s); break;
        case 2: launch<2, 2>(p, tiles, s); break;
        default: launch<4, 2>(p, tiles, s); break;
      }
    } else {
      switch (nt) {
        case 1: launch<1, 1>(p, tiles, s); break;
        case 2: launch<2, 1>(p, tiles, s); break;
        case 4: launch<4, 1>(p, tiles, s); break;
        default: launch<8, 1>(p, tiles, s); break;
      }
    }
    check_launch("int4_mma");
  }
}

}  // namespace citadel::runtime::cuda
