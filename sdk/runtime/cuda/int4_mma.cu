// Int4 tensor-core GEMM (int4_mma.h says what and how): the kernel around
// the stage work of int4_mma_stage.cuh (pipeline, cluster reduction,
// epilogue), x converted to f16, the split plan and the launch.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/int4_mma.h"
#include "runtime/cuda/int4_mma_stage.cuh"
#include "runtime/cuda/int4_split_reduce.cuh"
#include "runtime/cuda/int4_wgmma.h"

#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <type_traits>

namespace citadel::runtime::cuda {
namespace {

using namespace int4_mma_detail;

constexpr int kMaxClusterSplits = 8;  // the portable cluster size

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
  // Stage s sits in buffer s % kStages; kStages stages per iteration, so
  // every buffer's offset is a constant in the shared-memory addresses.
  for (int s0 = 0; s0 < stages; s0 += kStages) {
#pragma unroll
    for (int slot = 0; slot < kStages; ++slot) {
      const int s = s0 + slot;
      if (s < stages) {
        __pipeline_wait_prior(kStages - 2);
        __syncthreads();  // stage s visible to all; stage s - 1's buffer free
        const int ahead = s + kStages - 1;
        if (ahead < stages) {
          issue_stage<NT, kParts>(p, shared + ((slot + kStages - 1) % kStages) * kStageBytes, tile, stage0 + ahead);
        } else {
          __pipeline_commit();
        }
        compute_stage<NT, kParts>(shared + slot * kStageBytes, warp, lane, result);
      }
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
    row_begin = split * p.rows / p.splits;
    row_end = (split + 1) * p.rows / p.splits;
    cluster_reduce_rows<kThreads, kMaxClusterSplits>(final_values, row_begin, row_end, p.splits);
  }
#endif
  if (row_end > row_begin) {
    finish_split_tile<NT * 8, kThreads>(p.w, p.bias, nullptr, nullptr, p.epilogue, p.row0 + row_begin,
                                        row_end - row_begin, 1, 0, tile, final_values + row_begin * kTile);
  }
}

// x_hi[r, k] + x_lo[r, k] ~ x[r, perm[i(k)]] for r < rows, 0 for rows <= r < padded_rows;
// without lo, x_hi[r, k] is x[r, perm[i(k)]] rounded to f16. i(k) deals the
// inputs of each group of 8 in the order the stage's fragments take them
// (int4_mma_stage.cuh): 0, 4, 2, 6, 1, 5, 3, 7 (the 3-bit reversal of k % 8).
__global__ void split_halves_kernel(const float* __restrict__ x, int64_t rows, int64_t padded_rows, int64_t in,
                                    const int32_t* __restrict__ perm, __half* __restrict__ hi, __half* __restrict__ lo) {
  const int64_t total = padded_rows * in;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = index / in, slot = index % in;
    const int64_t k = (slot & ~int64_t{7}) | ((slot & 1) << 2) | (slot & 2) | ((slot >> 2) & 1);
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

// Calls f(NT, kParts) (as integral constants) for the kernel instance of
// nt 8-row tiles in this mode.
template <typename F>
decltype(auto) with_instance(int nt, bool exact, F&& f) {
  using One = std::integral_constant<int, 1>;
  using Two = std::integral_constant<int, 2>;
  using Four = std::integral_constant<int, 4>;
  using Eight = std::integral_constant<int, 8>;
  if (exact) return nt == 1 ? f(One{}, Two{}) : nt == 2 ? f(Two{}, Two{}) : f(Four{}, Two{});
  return nt == 1 ? f(One{}, One{}) : nt == 2 ? f(Two{}, One{}) : nt == 4 ? f(Four{}, One{}) : f(Eight{}, One{});
}

int occupancy_for(int nt, bool exact) {
  return with_instance(nt, exact, [](auto tiles, auto parts) {
    return occupancy<decltype(tiles)::value, decltype(parts)::value>();
  });
}

struct Split {
  int32_t stages_per_split;
  int32_t splits;
};

std::atomic<int> min_stages_per_split{4};  // int4_mma_tuning
std::atomic<int> split_blocks_per_sm{0};   // int4_mma_tuning (0: the occupancy)
std::atomic<int> split_cap{kMaxClusterSplits};  // int4_mma_tuning
std::atomic<bool> on_wgmma{false};              // int4_mma_set_wgmma

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
// resident blocks (at least min_stages_per_split stages per split, at most
// 8, the portable cluster): more splits only add a partial wave and partial
// sums to reduce (H200: bench/README.md "Int4 GEMM: whole words per lane").
// `occupancy`: resident blocks per multiprocessor of the kernel instance.
Split split_for(const Int4TiledWeights& w, int occupancy) {
  const int64_t tiles = w.padded_columns / kTile;
  const int64_t stages = w.in_features / kStageInputs;
  const int blocks_per_sm = split_blocks_per_sm.load();
  const int64_t wave = static_cast<int64_t>(multiprocessor_count()) * (blocks_per_sm > 0 ? blocks_per_sm : occupancy);
  const int64_t most =
      cluster_launch() ? std::min<int64_t>(split_cap.load(), stages / min_stages_per_split.load()) : 1;
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

void int4_mma_set_wgmma(bool on) { on_wgmma.store(on); }

bool int4_mma_wgmma() { return on_wgmma.load(); }

void int4_mma_tuning(int stages_per_split, int blocks_per_multiprocessor, int most_splits) {
  min_stages_per_split.store(std::max(1, stages_per_split));
  split_blocks_per_sm.store(std::max(0, blocks_per_multiprocessor));
  split_cap.store(std::clamp(most_splits, 1, kMaxClusterSplits));
}

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
  const bool wgmma = int4_mma_wgmma() && int4_wgmma_available();
  for (int64_t row0 = 0; row0 < rows; row0 += per_pass) {
    const int64_t pass = std::min(per_pass, rows - row0);
    if (wgmma) {
      const Split split = split_for(w, int4_wgmma_blocks_per_multiprocessor(int4_wgmma_rows_tile(pass), activations));
      int4_wgmma(w, x, {row0, static_cast<int32_t>(pass), split.stages_per_split, split.splits}, bias, epilogue,
                 x_halves, stream, activations);
      continue;
    }
    const int nt = tiles_of_rows(pass);
    const Split split = split_for(w, occupancy_for(nt, exact));
    const int64_t padded = nt * 8;
    auto* hi = reinterpret_cast<__half*>(x_halves);
    __half* lo = exact ? hi + padded * w.in_features : nullptr;
    const auto blocks = static_cast<unsigned>(std::clamp<int64_t>((padded * w.in_features + 255) / 256, 1, 65535));
    split_halves_kernel<<<blocks, 256, 0, s>>>(x + row0 * w.in_features, pass, padded, w.in_features, w.input_perm,
                                               hi, lo);
    check_launch("int4_mma (x halves)");
    Params p{w, hi, lo, bias, epilogue, row0, static_cast<int32_t>(pass),
             static_cast<int32_t>(w.in_features / kStageInputs), split.stages_per_split, split.splits};
    with_instance(nt, exact, [&](auto tiles_c, auto parts) {
      launch<decltype(tiles_c)::value, decltype(parts)::value>(p, tiles, s);
    });
    check_launch("int4_mma");
  }
}

}  // namespace citadel::runtime::cuda
