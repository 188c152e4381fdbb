// Int4 tensor-core GEMV (int4_gemv_tc.h says what and how; the per-warp
// fragment math is in int4_gemv_tc_warp.cuh): staging of x, the chunk loop,
// the block and cluster reductions, the grid plan and the launch.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/shared_memory_opt_in.h"
#include "runtime/cuda/dependent_launch.cuh"
#include "runtime/cuda/int4_gemv_stage.cuh"
#include "runtime/cuda/int4_gemv_tc.h"
#include "runtime/cuda/int4_gemv_tc_warp.cuh"
#include "runtime/cuda/int4_split_reduce.cuh"

#include <cooperative_groups.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::runtime::cuda {
namespace {

using namespace int4_tc;

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kSlices = kWarps / 2;  // chunk slices of a block (two warps, one per half tile, each)
constexpr int kTile = static_cast<int>(kInt4TileColumns);
constexpr int kBuffers = 4;          // chunks in flight per warp
constexpr int kMaxCluster = 8;
constexpr size_t kMaxSharedBytes = 160 * 1024;

struct Params {
  Int4TiledWeights w;
  const float* x;  // rows of this pass, [rows, in]
  const float* bias;
  LinearEpilogue epilogue;
  RmsNormInput norm;
  int64_t row0;
  int32_t rows;
  int32_t chunks;        // in / 32
  int32_t cluster;       // blocks per tile
  int32_t plane_stride;  // bytes per staged (row, part) plane
};


template <int NT>
__global__ void __launch_bounds__(kThreads, NT == 1 ? 2 : 1) int4_gemv_tc_kernel(Params p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ uint4 shared4[];
  char* shared = reinterpret_cast<char*>(shared4);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int half = warp & 1, slice = warp >> 1;
  const int rank = blockIdx.x;
  const int64_t tile = blockIdx.y;
  const int64_t chunk0 = static_cast<int64_t>(rank) * p.chunks / p.cluster;
  const int64_t chunk1 = static_cast<int64_t>(rank + 1) * p.chunks / p.cluster;
  const int block_chunks = static_cast<int>(chunk1 - chunk0);
  const int first = slice * block_chunks / kSlices, last = (slice + 1) * block_chunks / kSlices;
  const int count = last - first;

  allow_dependent_launch();
  // This lane's words of the warp's first chunk; chunk i is 128 uint4 further, unit 1 is 8 further.
  const int64_t chunk_begin = chunk0 + first;
  const uint4* weights = reinterpret_cast<const uint4*>(
      p.w.qweight + (tile * (p.w.in_features / 8) + chunk_begin * 4 + t) * kTile + half * 64 + 4 * g);
  uint4 buffers[kBuffers][2];
#pragma unroll
  for (int b = 0; b < kBuffers; ++b) {
    if (b < count) {
      buffers[b][0] = __ldg(weights + b * 128);
      buffers[b][1] = __ldg(weights + b * 128 + 8);
    }
  }
  // Groups are regular (chunk c in group c / chunks_per_group): the next
  // group's scales and zeros are loaded when a group starts.
  const int per_group = static_cast<int>(p.w.chunks_per_group);
  const int64_t group0 = chunk_begin / per_group;
  int left = per_group - static_cast<int>(chunk_begin - group0 * per_group);  // chunks of the group from here
  const int64_t column = tile * kTile + half * 64 + 4 * g;
  const uint16_t* scales = p.w.scales + group0 * p.w.padded_columns + column;
  const uint8_t* zeros = p.w.zeros + group0 * p.w.padded_columns + column;
  uint2 next_scales[2] = {make_uint2(0u, 0u), make_uint2(0u, 0u)};
  uint32_t next_zeros[2] = {0u, 0u};
  if (count > 0) {
    next_scales[0] = __ldg(reinterpret_cast<const uint2*>(scales));
    next_scales[1] = __ldg(reinterpret_cast<const uint2*>(scales + 32));
    next_zeros[0] = __ldg(reinterpret_cast<const uint32_t*>(zeros));
    next_zeros[1] = __ldg(reinterpret_cast<const uint32_t*>(zeros + 32));
  }
  wait_for_prerequisites();  // x and the outputs are the earlier kernels' (launched with PDL)
  stage_x<kThreads>(p.w, p.x, p.rows, p.norm, chunk0, block_chunks * 4, p.plane_stride, shared);
  __syncthreads();

  WarpState<NT> state;
#pragma unroll
  for (int u = 0; u < 2; ++u) {
#pragma unroll
    for (int pr = 0; pr < 2; ++pr) {
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) state.sums[u][pr][nt][i] = 0.0f;
      }
    }
  }
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
    for (int u = 0; u < 2; ++u) {
#pragma unroll
      for (int i = 0; i < 4; ++i) state.result[nt][u][i] = 0.0f;
    }
  }
  for (int k = 0; k < count; k += kBuffers) {
#pragma unroll
    for (int b = 0; b < kBuffers; ++b) {
      const int index = k + b;
      if (index < count) {
        if (index == 0 || left == 0) {  // a group starts (warp-uniform)
          if (index != 0) {
            flush(state);
            left = per_group;
          }
          start_group(next_scales, next_zeros, state);
          if (index + left < count) {  // the warp reaches the next group too
            scales += p.w.padded_columns;
            zeros += p.w.padded_columns;
            next_scales[0] = __ldg(reinterpret_cast<const uint2*>(scales));
            next_scales[1] = __ldg(reinterpret_cast<const uint2*>(scales + 32));
            next_zeros[0] = __ldg(reinterpret_cast<const uint32_t*>(zeros));
            next_zeros[1] = __ldg(reinterpret_cast<const uint32_t*>(zeros + 32));
          }
        }
        compute_chunk<NT>(buffers[b], shared, p.plane_stride, p.rows, (first + index) * 4 + t, g, state);
        --left;
        if (index + kBuffers < count) {
          buffers[b][0] = __ldg(weights + (index + kBuffers) * 128);
          buffers[b][1] = __ldg(weights + (index + kBuffers) * 128 + 8);
        }
      }
    }
  }
  if (count > 0) flush(state);
  __syncthreads();  // the staged x is no longer read: the space holds the sums

  constexpr int kRows = 4 * NT;
  float* slice_sums = reinterpret_cast<float*>(shared);       // [kSlices][kRows][128]
  float* final_values = slice_sums + kSlices * kRows * kTile;  // [kRows][128]
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int row = 4 * nt + t;
    if (row < p.rows) {
#pragma unroll
      for (int u = 0; u < 2; ++u) {
        *reinterpret_cast<float4*>(slice_sums + (slice * kRows + row) * kTile + half * 64 + u * 32 + 4 * g) =
            make_float4(state.result[nt][u][0], state.result[nt][u][1], state.result[nt][u][2],
                        state.result[nt][u][3]);
      }
    }
  }
  __syncthreads();
  for (int index = threadIdx.x; index < p.rows * kTile; index += kThreads) {
    float sum = 0.0f;
#pragma unroll
    for (int s = 0; s < kSlices; ++s) sum += slice_sums[s * kRows * kTile + index];
    final_values[index] = sum;
  }
  if (p.cluster > 1) {
    namespace cg = cooperative_groups;
    cg::cluster_group cluster = cg::this_cluster();
    cluster.sync();  // every block's final_values written
    if (rank == 0) {
      for (int index = threadIdx.x; index < p.rows * kTile; index += kThreads) {
        float sum = final_values[index];
        for (int r = 1; r < p.cluster; ++r) sum += cluster.map_shared_rank(final_values, r)[index];
        final_values[index] = sum;
      }
    }
    cluster.sync();  // the other blocks' shared memory is no longer read
    if (rank != 0) return;
  }
  __syncthreads();
  finish_split_tile<kRows, kThreads>(p.w, p.bias, nullptr, nullptr, p.epilogue, p.row0, p.rows, 1, 0, tile,
                                     final_values);
#endif
}

int device_value(cudaDeviceAttr attribute) {
  int device = 0, value = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  check_cuda(cudaDeviceGetAttribute(&value, attribute, device), "cudaDeviceGetAttribute");
  return value;
}

struct Plan {
  int cluster = 1;
  int plane_stride = 0;
  size_t shared_bytes = 0;
};

size_t shared_for(int rows, int nt, int plane_stride) {
  const size_t staged = static_cast<size_t>(2 * rows) * static_cast<size_t>(plane_stride);
  const size_t sums = sizeof(float) * static_cast<size_t>((kSlices + 1) * 4 * nt * kTile);
  return std::max(staged, sums);
}

// Blocks per tile: doubled while the grid stays within two blocks per
// multiprocessor and each warp keeps two chunks; more if x does not fit.
int tuned_blocks_per_multiprocessor = 2;
int tuned_max_cluster = kMaxCluster;
int64_t tuned_pass_rows = kInt4GemvTcMaxRows;

Plan plan_for(const Int4TiledWeights& w, int rows, int nt) {
  static const int multiprocessors = device_value(cudaDevAttrMultiProcessorCount);
  const int64_t tiles = w.padded_columns / kTile;
  const int64_t chunks = w.in_features / kInt4ChunkInputs;
  Plan plan;
  const int max_cluster = nt == 1 ? tuned_max_cluster : nt == 2 ? std::min(2, tuned_max_cluster) : 1;
  while (plan.cluster < max_cluster &&
         tiles * plan.cluster * 2 <= int64_t{tuned_blocks_per_multiprocessor} * multiprocessors &&
         chunks >= static_cast<int64_t>(plan.cluster) * 2 * kSlices * 2) {
    plan.cluster *= 2;
  }
  for (;;) {
    const int local_rows = static_cast<int>((chunks + plan.cluster - 1) / plan.cluster) * 4;
    plan.plane_stride = plane_stride_for(local_rows);
    plan.shared_bytes = shared_for(rows, nt, plan.plane_stride);
    if (plan.shared_bytes <= kMaxSharedBytes || plan.cluster >= kMaxCluster) break;
    plan.cluster *= 2;
  }
  return plan;
}

int tiles_for(int rows) { return rows <= 4 ? 1 : rows <= 8 ? 2 : 4; }

template <int NT>
void launch(const Params& p, int64_t tiles, const Plan& plan, cudaStream_t stream) {
  opt_in_shared_memory(reinterpret_cast<const void*>(int4_gemv_tc_kernel<NT>), static_cast<int>(kMaxSharedBytes),
                       "cudaFuncSetAttribute (int4_gemv_tc)");
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(plan.cluster), static_cast<unsigned>(tiles));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = plan.shared_bytes;
  config.stream = stream;
  cudaLaunchAttribute attribute[2];
  attribute[0].id = cudaLaunchAttributeClusterDimension;
  attribute[0].val.clusterDim.x = static_cast<unsigned>(plan.cluster);
  attribute[0].val.clusterDim.y = 1;
  attribute[0].val.clusterDim.z = 1;
  attribute[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[1].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = dependent_launch_enabled() ? 2 : 1;
  check_cuda(cudaLaunchKernelEx(&config, int4_gemv_tc_kernel<NT>, p), "cudaLaunchKernelEx (int4_gemv_tc)");
}

}  // namespace

void int4_gemv_tc_tuning(int blocks_per_multiprocessor, int max_cluster, bool dependent_launch, int pass_rows) {
  tuned_pass_rows = std::clamp<int64_t>(pass_rows, 1, kInt4GemvTcMaxRows);
  set_dependent_launch(dependent_launch);
  tuned_blocks_per_multiprocessor = std::max(1, blocks_per_multiprocessor);
  tuned_max_cluster = std::clamp(max_cluster, 1, kMaxCluster);
}

bool int4_gemv_tc_supported(const Int4TiledWeights& w, int64_t rows) {
  static const bool hopper = device_value(cudaDevAttrComputeCapabilityMajor) >= 9;
  if (!hopper || w.qweight == nullptr || w.chunks_per_group <= 0 || w.in_features <= 0 || w.in_features % kInt4ChunkInputs != 0 ||
      w.padded_columns % kTile != 0 || w.padded_columns / kTile > 65535 || rows <= 0) {
    return false;
  }
  const int pass = static_cast<int>(std::min(rows, kInt4GemvTcMaxRows));
  return plan_for(w, pass, tiles_for(pass)).shared_bytes <= kMaxSharedBytes;
}

void int4_gemv_tc(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
                  const LinearEpilogue& epilogue, void* stream, RmsNormInput norm) {
  if (rows <= 0) return;
  if (!int4_gemv_tc_supported(w, rows)) {
    fail_invalid("int4_gemv_tc: unsupported layer (in " + std::to_string(w.in_features) + ", columns " +
                 std::to_string(w.columns) + ")");
  }
  if (epilogue.kind == LinearEpilogue::Kind::silu_mul && w.columns % (2 * LinearEpilogue::kSiluTile) != 0) {
    fail_invalid("int4_gemv_tc: silu_mul needs a multiple of 128 columns");
  }
  const auto s = static_cast<cudaStream_t>(stream);
  const int64_t tiles = w.padded_columns / kTile;
  for (int64_t row0 = 0; row0 < rows; row0 += tuned_pass_rows) {
    const int pass = static_cast<int>(std::min(tuned_pass_rows, rows - row0));
    const int nt = tiles_for(pass);
    const Plan plan = plan_for(w, pass, nt);
    Params p{w, x + row0 * w.in_features, bias, epilogue, norm, row0, pass,
             static_cast<int32_t>(w.in_features / kInt4ChunkInputs), plan.cluster, plan.plane_stride};
    switch (nt) {
      case 1: launch<1>(p, tiles, plan, s); break;
      case 2: launch<2>(p, tiles, plan, s); break;
      default: launch<4>(p, tiles, plan, s); break;
    }
    check_launch("int4_gemv_tc");
  }
}

}  // namespace citadel::runtime::cuda
