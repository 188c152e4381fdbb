// Int4 GEMM on wgmma in int4_mma's two modes (int4_wgmma.h says what).
// Built for sm_90a only (sdk/CMakeLists.txt): the kernel bodies are empty in
// any other device pass.
//
// A block is two warpgroups on one 128-column tile (one 64-column half each)
// and a split of the inputs, in stages of 64 inputs (int4_mma_stage.cuh's
// weights, scales and zeros, then x as wgmma's B operand), two stages copied
// ahead of the one computed and four stage buffers, so a buffer is refilled
// only after the wgmma groups that read it have finished. Per 32-input chunk
// each warp dequantizes its 16 columns for both k-steps (A fragments),
// issues the chunk's wgmmas (m64 x N x k16; over x hi and lo in f32-exact
// mode) as one group and waits for the previous chunk's group: the next
// chunk's dequantization overlaps the tensor cores.
//
// Inputs are dealt to k as int4_mma_stage.cuh deals them to the A fragment
// (lane t: packed row t of the chunk, k-step s: nibbles s, s+4 at k = 2t,
// 2t+1 and s+2, s+6 at 2t+8, 2t+9), so x is stored in the matching order:
// slot p = 16 s + 8 h + 2 t + e of a chunk holds input 8 t + s + 2 h + 4 e.
// In shared memory x is laid out as wgmma's core matrices: 16-byte piece kc
// (slots 8 kc .. 8 kc + 7 of the stage) of row r at
// (kc * N / 8 + r / 8) * 128 + (r % 8) * 16, so k-step (c, s) starts at core
// matrix 4 c + 2 s with its second half N / 8 core matrices on.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/int4_mma_stage.cuh"
#include "runtime/cuda/int4_split_reduce.cuh"
#include "runtime/cuda/int4_wgmma.h"
#include "runtime/cuda/shared_memory_opt_in.h"
#include "runtime/cuda/sm90a/wgmma_primitives.cuh"

#include <cuda_fp16.h>
#include <cuda_pipeline.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <type_traits>

namespace citadel::runtime::cuda {
namespace {

using namespace int4_mma_detail;

// Stages copied ahead of the one computed; kAhead + 2 buffers: + the stage
// computed + the one whose wgmmas may still run. Two warpgroups a block, one
// 64-column half of the tile each. (H200: 4 or 6 stages ahead and one
// warpgroup a block for the whole tile were no faster; bench/README.md.)
constexpr int kAhead = 2;
constexpr int kWarpgroups = 2;
constexpr int kBlockThreads = kThreads * kWarpgroups;
constexpr int kMt = 2 / kWarpgroups;  // 64-column halves of the tile per warpgroup
constexpr int kMaxClusterSplits = 8;
constexpr int kXOffset = kStageWeightBytes + kStageScaleBytes + kStageZeroBytes;
static_assert(kXOffset % 128 == 0, "x core matrices start 128-byte aligned");

// kParts 1: x rounded to f16 (f16 mode); 2: x = hi + lo (f32-exact mode).
template <int N, int kParts>
__host__ __device__ constexpr int wgmma_stage_bytes() {
  return kXOffset + kParts * N * kStageInputs * 2;
}

template <int N, int kParts>
constexpr int wgmma_shared_bytes() {
  return std::max((kAhead + 2) * wgmma_stage_bytes<N, kParts>(), N * kTile * 4);
}

// kBlockThreads: 128 per warpgroup; the first 128 copy the weights, scales and zeros.
template <int N, int kParts, int kBlockThreads>
__device__ __forceinline__ void issue_wgmma_stage(const Params& p, char* buffer, int64_t tile, int64_t stage) {
  if (threadIdx.x < kThreads) issue_stage_weights(p.w, buffer, tile, stage);
  const int64_t in = p.w.in_features;
  const int64_t input0 = stage * kStageInputs;
  // Each part: N rows x 8 pieces; a warp's 32 copies cover 8 rows x 4 pieces
  // (64 contiguous bytes of each row; 8 distinct bank groups in shared memory).
  constexpr int kXCopies = kParts * N * 8;
  char* x_part = buffer + kXOffset;
#pragma unroll
  for (int i = 0; i < (kXCopies + kBlockThreads - 1) / kBlockThreads; ++i) {
    const int c = static_cast<int>(threadIdx.x) + i * kBlockThreads;
    if (kXCopies % kBlockThreads == 0 || c < kXCopies) {
      const int part = c / (N * 8), q = c % 32, block = (c % (N * 8)) / 32;
      const int piece = (block % 2) * 4 + q / 8, row = (block / 2) * 8 + q % 8;
      __pipeline_memcpy_async(x_part + part * N * 128 + (piece * (N / 8) + row / 8) * 128 + (row % 8) * 16,
                              (part == 0 ? p.x_hi : p.x_lo) + row * in + input0 + piece * 8, 16);
    }
  }
  __pipeline_commit();
}

// A warp's sums over its kMt 64-column halves of the tile (2 with one
// warpgroup a block, 1 with two). f16 mode: the tensor cores accumulate
// straight into `acc` with scaled weights. f32-exact mode: each 32-input
// chunk's sums over the exact (q - z) go to chunk[chunk % 2] and are added
// to `acc` with the chunk's f32 scales once its wgmmas have finished (one
// chunk later), as int4_mma's exact mode scales per chunk.
template <int N, int kParts, int kMt>
struct WarpSums {
  float acc[kMt][N / 2];
  float chunk[kParts == 2 ? 2 : 1][kMt][N / 2];
  float pending_scale[kMt][2];  // [mt][half] of the chunk not yet added (exact mode)
};

template <int N, int kMt>
__device__ __forceinline__ void fold_chunk(float (&acc)[kMt][N / 2], float (&chunk)[kMt][N / 2],
                                           const float (&scale)[kMt][2]) {
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt) {
    wgmma::fence_operands(chunk[mt]);
#pragma unroll
    for (int i = 0; i < N / 2; ++i) acc[mt][i] = fmaf(scale[mt][(i >> 1) & 1], chunk[mt][i], acc[mt][i]);
  }
}

// One stage for warp `warp` of the block: in warpgroup warp / 4, columns
// (kMt (warp / 4) + mt) * 64 + 16 (warp % 4) .. + 15 of the tile. `first`:
// the block's first stage (its first wgmma starts the f16 sums; no earlier
// chunk to add in exact mode).
template <int N, int kParts, int kMt>
__device__ __forceinline__ void compute_wgmma_stage(const char* buffer, int warp, int lane, bool first,
                                                    WarpSums<N, kParts, kMt>& sums) {
  constexpr bool kExact = kParts == 2;
  const int g = lane >> 2, t = lane & 3;
  const int column0 = (warp / 4) * kMt * 64 + (warp % 4) * 16 + g;
  const StageView view = stage_view(buffer);
  const char* x_part = buffer + kXOffset;
#pragma unroll
  for (int chunk = 0; chunk < 2; ++chunk) {
    const int row = chunk * 4 + t;
    uint32_t words[kMt][2];
    MinusZero mz[kMt][2];
    __half2 scale[kMt][2];
    float scale_f32[kMt][2];
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int column = column0 + mt * 64 + half * 8;
        words[mt][half] = view.weights[weight_slot(row, column)];
        mz[mt][half] = minus_zero_of(view.zeros[chunk * kTile + column]);
        const __half s = view.scales[chunk * kTile + column];
        scale[mt][half] = __half2half2(s);
        scale_f32[mt][half] = __half2float(s);
      }
    }
    uint32_t a[2][kMt][4];  // [k-step][mt]
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt) {
      a_fragment<0, !kExact>(a[0][mt], words[mt], mz[mt], scale[mt]);
      a_fragment<1, !kExact>(a[1][mt], words[mt], mz[mt], scale[mt]);
    }
    float (&target)[kMt][N / 2] = kExact ? sums.chunk[kExact ? chunk : 0] : sums.acc;
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt) wgmma::fence_operands(target[mt]);
    wgmma::fence();
#pragma unroll
    for (int step = 0; step < 2; ++step) {
#pragma unroll
      for (int part = 0; part < kParts; ++part) {
        const uint64_t b = wgmma::descriptor(x_part + part * N * 128 + (4 * chunk + 2 * step) * (N / 8) * 128,
                                             (N / 8) * 128, 128);
        // The first wgmma of a sum starts it: each chunk's (exact), the block's (f16).
        const int accumulate = kExact ? (step > 0 || part > 0) : !(first && chunk == 0 && step == 0);
#pragma unroll
        for (int mt = 0; mt < kMt; ++mt) wgmma::mma_f16<N>(target[mt], a[step][mt], b, accumulate);
      }
    }
    wgmma::commit();
    wgmma::wait<1>();  // the previous chunk's group has finished: its registers and stage are free
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt) wgmma::fence_operands(target[mt]);
    if constexpr (kExact) {
      if (chunk == 1 || !first) fold_chunk<N, kMt>(sums.acc, sums.chunk[1 - chunk], sums.pending_scale);
#pragma unroll
      for (int mt = 0; mt < kMt; ++mt) {
        sums.pending_scale[mt][0] = scale_f32[mt][0];
        sums.pending_scale[mt][1] = scale_f32[mt][1];
      }
    }
  }
}

// The warpgroups of a block share its stages, each with kMt of the tile's 64-column halves.
template <int N, int kParts>
__global__ void __launch_bounds__(kBlockThreads) int4_wgmma_kernel(Params p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr int kBuffers = kAhead + 2;
  extern __shared__ __align__(128) uint4 shared4[];
  char* shared = reinterpret_cast<char*>(shared4);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int64_t tile = blockIdx.x;
  const int split = blockIdx.y;
  const int64_t stage0 = static_cast<int64_t>(split) * p.stages_per_split;
  const int stages = static_cast<int>(min(static_cast<int64_t>(p.stages) - stage0, static_cast<int64_t>(p.stages_per_split)));
  constexpr int kStageBytes = wgmma_stage_bytes<N, kParts>();

#pragma unroll
  for (int s = 0; s < kAhead; ++s) {
    if (s < stages) {
      issue_wgmma_stage<N, kParts, kBlockThreads>(p, shared + s * kStageBytes, tile, stage0 + s);
    } else {
      __pipeline_commit();
    }
  }
  // f16 mode: acc is set by the first wgmma (accumulate 0; every split has a stage).
  WarpSums<N, kParts, kMt> sums;
  if constexpr (kParts == 2) {
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt) {
#pragma unroll
      for (int i = 0; i < N / 2; ++i) sums.acc[mt][i] = 0.0f;
    }
  }
  // Stage s sits in buffer s % kBuffers; kBuffers stages per iteration, so
  // every buffer's offset is a constant in the shared-memory addresses.
  for (int s0 = 0; s0 < stages; s0 += kBuffers) {
#pragma unroll
    for (int slot = 0; slot < kBuffers; ++slot) {
      const int s = s0 + slot;
      if (s < stages) {
        __pipeline_wait_prior(kAhead - 1);  // this thread's copies of stage s have landed
        wgmma::fence_shared_for_async();    // ... and are visible to the tensor cores
        __syncthreads();  // everyone's copies of stage s; stage s - 2's wgmmas finished in every warp
        const int ahead = s + kAhead;
        if (ahead < stages) {
          issue_wgmma_stage<N, kParts, kBlockThreads>(p, shared + ((slot + kAhead) % kBuffers) * kStageBytes, tile, stage0 + ahead);
        } else {
          __pipeline_commit();
        }
        compute_wgmma_stage<N, kParts, kMt>(shared + slot * kStageBytes, warp, lane, s == 0, sums);
      }
    }
  }
  wgmma::wait<0>();
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt) wgmma::fence_operands(sums.acc[mt]);
  if constexpr (kParts == 2) fold_chunk<N, kMt>(sums.acc, sums.chunk[1], sums.pending_scale);  // the last chunk
  __pipeline_wait_prior(0);
  __syncthreads();  // stage buffers free: they hold final_values [N][128]

  float* final_values = reinterpret_cast<float*>(shared);
#pragma unroll
  for (int mt = 0; mt < kMt; ++mt) {
#pragma unroll
    for (int j = 0; j < N / 8; ++j) {
      const int column = ((warp / 4) * kMt + mt) * 64 + (warp % 4) * 16 + g, row = j * 8 + 2 * t;
      final_values[row * kTile + column] = sums.acc[mt][4 * j];
      final_values[(row + 1) * kTile + column] = sums.acc[mt][4 * j + 1];
      final_values[row * kTile + column + 8] = sums.acc[mt][4 * j + 2];
      final_values[(row + 1) * kTile + column + 8] = sums.acc[mt][4 * j + 3];
    }
  }
  __syncthreads();
  int row_begin = 0, row_end = p.rows;
  if (p.splits > 1) {
    row_begin = split * p.rows / p.splits;
    row_end = (split + 1) * p.rows / p.splits;
    cluster_reduce_rows<kBlockThreads, kMaxClusterSplits>(final_values, row_begin, row_end, p.splits);
  }
  if (row_end > row_begin) {
    finish_split_tile<N, kBlockThreads>(p.w, p.bias, nullptr, nullptr, p.epilogue, p.row0 + row_begin,
                                   row_end - row_begin, 1, 0, tile, final_values + row_begin * kTile);
  }
#endif
}

// x_hi[r, slot] (+ x_lo[r, slot]) = x[r, perm[k(slot)]] for r < rows, 0 up
// to padded_rows, as int4_mma's split_halves_kernel (lo null: one f16
// rounding); k(slot) deals each 32-input chunk as the header says.
__global__ void wgmma_halves_kernel(const float* __restrict__ x, int64_t rows, int64_t padded_rows, int64_t in,
                                    const int32_t* __restrict__ perm, __half* __restrict__ hi, __half* __restrict__ lo) {
  const int64_t total = padded_rows * in;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = index / in, slot = index % in;
    const int64_t p = slot & 31;
    const int64_t k = (slot & ~int64_t{31}) + 8 * ((p >> 1) & 3) + (p >> 4) + 2 * ((p >> 3) & 1) + 4 * (p & 1);
    const float value = r < rows ? x[r * in + (perm != nullptr ? perm[k] : k)] : 0.0f;
    const __half high = __float2half_rn(value);
    hi[index] = high;
    if (lo != nullptr) lo[index] = __float2half_rn(value - __half2float(high));
  }
}

// Calls f(N, kParts) (as integral constants) for the instance of rows_tile rows in this mode.
template <typename F>
decltype(auto) with_shape(int rows_tile, bool exact, F&& f) {
  using One = std::integral_constant<int, 1>;
  using Two = std::integral_constant<int, 2>;
  switch (rows_tile) {
    case 8: return exact ? f(std::integral_constant<int, 8>{}, Two{}) : f(std::integral_constant<int, 8>{}, One{});
    case 16: return exact ? f(std::integral_constant<int, 16>{}, Two{}) : f(std::integral_constant<int, 16>{}, One{});
    case 32: return exact ? f(std::integral_constant<int, 32>{}, Two{}) : f(std::integral_constant<int, 32>{}, One{});
    default: return f(std::integral_constant<int, 64>{}, One{});  // f16 mode only
  }
}

// True when the device has an image of the kernel instance (an sm_90a device).
template <int N, int kParts>
bool has_image() {
  static const bool present = [] {
    cudaFuncAttributes attributes{};
    if (cudaFuncGetAttributes(&attributes, int4_wgmma_kernel<N, kParts>) == cudaSuccess) return true;
    (void)cudaGetLastError();
    return false;
  }();
  return present;
}

// The instance's shared-memory opt-in on the current device.
template <int N, int kParts>
int prepared_shared_bytes() {
  constexpr int bytes = wgmma_shared_bytes<N, kParts>();
  opt_in_shared_memory(reinterpret_cast<const void*>(int4_wgmma_kernel<N, kParts>), bytes,
                       "cudaFuncSetAttribute (int4_wgmma)");
  return bytes;
}

int most_rows(Int4MmaActivations activations) {
  return activations == Int4MmaActivations::f32_exact ? static_cast<int>(kInt4MmaRowsPerPass)
                                                      : static_cast<int>(kInt4MmaF16RowsPerPass);
}

}  // namespace

bool int4_wgmma_available() {
  int device = 0, major = 0, minor = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return false;
  check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
  check_cuda(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute");
  if (major != 9 || minor != 0) return false;
  static const bool images = [] {
    bool all = true;
    for (const bool exact : {false, true}) {
      for (const int rows : {8, 16, 32, 64}) {
        if (exact && rows > kInt4MmaRowsPerPass) continue;
        all = all && with_shape(rows, exact, [](auto n, auto parts) {
                return has_image<decltype(n)::value, decltype(parts)::value>();
              });
      }
    }
    return all;
  }();
  return images;
}

int int4_wgmma_rows_tile(int64_t rows) { return rows <= 8 ? 8 : rows <= 16 ? 16 : rows <= 32 ? 32 : 64; }

int int4_wgmma_blocks_per_multiprocessor(int rows_tile, Int4MmaActivations activations) {
  return with_shape(rows_tile, activations == Int4MmaActivations::f32_exact, [](auto n, auto parts) {
    constexpr int N = decltype(n)::value, kParts = decltype(parts)::value;
    static const int blocks = [] {
      int count = 0;
      if (!has_image<N, kParts>()) return 1;
      const int bytes = prepared_shared_bytes<N, kParts>();
      check_cuda(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&count, int4_wgmma_kernel<N, kParts>, kBlockThreads,
                                                               bytes),
                 "cudaOccupancyMaxActiveBlocksPerMultiprocessor (int4_wgmma)");
      return std::max(1, count);
    }();
    return blocks;
  });
}

void int4_wgmma(const Int4TiledWeights& w, const float* x, const Int4WgmmaPass& pass, const float* bias,
                const LinearEpilogue& epilogue, uint16_t* x_halves, void* stream, Int4MmaActivations activations) {
  if (pass.rows <= 0) return;
  if (!int4_mma_supported(w) || w.padded_columns % kTile != 0 || x_halves == nullptr ||
      pass.rows > most_rows(activations) || pass.splits < 1 || pass.splits > kMaxClusterSplits) {
    fail_invalid("int4_wgmma: invalid layer or pass (in " + std::to_string(w.in_features) + ", rows " +
                 std::to_string(pass.rows) + ", splits " + std::to_string(pass.splits) + ")");
  }
  if (!int4_wgmma_available()) fail_invalid("int4_wgmma: not an sm_90a device");
  const auto s = static_cast<cudaStream_t>(stream);
  const bool exact = activations == Int4MmaActivations::f32_exact;
  const int rows_tile = int4_wgmma_rows_tile(pass.rows);
  auto* hi = reinterpret_cast<__half*>(x_halves);
  __half* lo = exact ? hi + rows_tile * w.in_features : nullptr;
  const auto blocks = static_cast<unsigned>(std::clamp<int64_t>((rows_tile * w.in_features + 255) / 256, 1, 65535));
  wgmma_halves_kernel<<<blocks, 256, 0, s>>>(x + pass.row0 * w.in_features, pass.rows, rows_tile, w.in_features,
                                             w.input_perm, hi, lo);
  check_launch("int4_wgmma (x halves)");
  const Params p{w, hi, lo, bias, epilogue, pass.row0, pass.rows,
                 static_cast<int32_t>(w.in_features / kStageInputs), pass.stages_per_split, pass.splits};
  with_shape(rows_tile, exact, [&](auto n, auto parts) {
    constexpr int N = decltype(n)::value, kParts = decltype(parts)::value;
    cudaLaunchConfig_t config = {};
    config.gridDim = dim3(static_cast<unsigned>(w.padded_columns / kTile), static_cast<unsigned>(pass.splits));
    config.blockDim = dim3(kBlockThreads);
    config.dynamicSmemBytes = prepared_shared_bytes<N, kParts>();
    config.stream = s;
    cudaLaunchAttribute attribute[1];
    attribute[0].id = cudaLaunchAttributeClusterDimension;
    attribute[0].val.clusterDim.x = 1;
    attribute[0].val.clusterDim.y = static_cast<unsigned>(pass.splits);
    attribute[0].val.clusterDim.z = 1;
    config.attrs = attribute;
    config.numAttrs = pass.splits > 1 ? 1 : 0;
    check_cuda(cudaLaunchKernelEx(&config, int4_wgmma_kernel<N, kParts>, p), "cudaLaunchKernelEx (int4_wgmma)");
  });
  check_launch("int4_wgmma");
}

}  // namespace citadel::runtime::cuda
