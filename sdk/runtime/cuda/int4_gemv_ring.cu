// Int4 GEMV through per-lane shared-memory rings (int4_gemv_ring.h says
// what and why): the cp.async ring, the chunk loop over the per-warp
// mma.sync math of int4_gemv_tc_warp.cuh, the block and cluster
// reductions, the grid plan.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/shared_memory_opt_in.h"
#include "runtime/cuda/dependent_launch.cuh"
#include "runtime/cuda/int4_gemv_ring.h"
#include "runtime/cuda/int4_gemv_stage.cuh"
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
constexpr int kSlices = kWarps / 2;
constexpr int kTile = static_cast<int>(kInt4TileColumns);
constexpr int kRows = static_cast<int>(kInt4GemvRingMaxRows);
constexpr int kMaxCluster = 8;
constexpr int kStagesCap = 16;                 // cp.async groups pending stay below 15
constexpr int kStageBytes = kWarps * 32 * 32;  // one chunk per warp: 2 uint4 per lane (8 KB a block)
constexpr size_t kMaxSharedBytes = 220 * 1024;
constexpr size_t kMultiprocessorSharedBytes = 228 * 1024;

struct Params {
  Int4TiledWeights w;
  const float* x;  // rows of this pass, [rows, in]
  const float* bias;
  LinearEpilogue epilogue;
  RmsNormInput norm;
  int64_t row0;
  int32_t rows;
  int32_t chunks;  // in / 32
  int32_t cluster;
  int32_t plane_stride;
  int32_t planes_bytes;  // offset of the ring in shared memory
  int32_t stages;        // ring slots
};

__device__ __forceinline__ void copy_16(void* shared, const void* global) {
  const auto address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(address), "l"(global) : "memory");
}

__device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

// Waits until at most `pending` (0..14) of this thread's copy groups are in flight.
__device__ __forceinline__ void wait_copies(int pending) {
#define CITADEL_WAIT_CASE(n) \
  case n: asm volatile("cp.async.wait_group " #n ";\n" ::: "memory"); break;
  switch (pending) {
    CITADEL_WAIT_CASE(1) CITADEL_WAIT_CASE(2) CITADEL_WAIT_CASE(3) CITADEL_WAIT_CASE(4) CITADEL_WAIT_CASE(5)
    CITADEL_WAIT_CASE(6) CITADEL_WAIT_CASE(7) CITADEL_WAIT_CASE(8) CITADEL_WAIT_CASE(9) CITADEL_WAIT_CASE(10)
    CITADEL_WAIT_CASE(11) CITADEL_WAIT_CASE(12) CITADEL_WAIT_CASE(13) CITADEL_WAIT_CASE(14)
    default: asm volatile("cp.async.wait_group 0;\n" ::: "memory"); break;
  }
#undef CITADEL_WAIT_CASE
}

// kMinBlocks: the blocks per multiprocessor the registers must allow (2: 96
// registers; 3: 80, a few bytes spilled).
template <int kMinBlocks>
__global__ void __launch_bounds__(kThreads, kMinBlocks) int4_gemv_ring_kernel(Params p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ uint4 shared4[];
  char* shared = reinterpret_cast<char*>(shared4);
  uint4* ring = reinterpret_cast<uint4*>(shared + p.planes_bytes);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int half = warp & 1, slice = warp >> 1;
  const int rank = blockIdx.x;
  const int64_t tile = blockIdx.y;
  const int64_t chunk0 = static_cast<int64_t>(rank) * p.chunks / p.cluster;
  const int64_t chunk1 = static_cast<int64_t>(rank + 1) * p.chunks / p.cluster;
  const int block_chunks = static_cast<int>(chunk1 - chunk0);
  const int first = slice * block_chunks / kSlices, last = (slice + 1) * block_chunks / kSlices;
  const int count = last - first;
  const int ring_slots = p.stages;

  allow_dependent_launch();
  // This lane's words of the warp's first chunk (as int4_gemv_tc: chunk i
  // is 128 uint4 further, unit 1 is 8 further) and its own ring slots
  // (slot b, unit u at b * 64 + u * 32): each lane reads back only what it
  // copied, so a lane's cp.async.wait_group is the only synchronization.
  const int64_t chunk_begin = chunk0 + first;
  const uint4* weights = reinterpret_cast<const uint4*>(
      p.w.qweight + (tile * (p.w.in_features / 8) + chunk_begin * 4 + t) * kTile + half * 64 + 4 * g);
  uint4* lane_ring = ring + warp * ring_slots * 64 + lane;
  // The weights are constant: the ring fills before the previous kernel ends.
  for (int b = 0; b < ring_slots - 1; ++b) {
    if (b < count) {
      copy_16(lane_ring + b * 64, weights + b * 128);
      copy_16(lane_ring + b * 64 + 32, weights + b * 128 + 8);
    }
    commit_copies();
  }
  const int per_group = static_cast<int>(p.w.chunks_per_group);
  const int64_t group0 = chunk_begin / per_group;
  int left = per_group - static_cast<int>(chunk_begin - group0 * per_group);
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
  wait_for_prerequisites();  // x and the outputs are the earlier kernels'
  stage_x<kThreads>(p.w, p.x, p.rows, p.norm, chunk0, block_chunks * 4, p.plane_stride, shared);
  __syncthreads();

  WarpState<1> state;
#pragma unroll
  for (int u = 0; u < 2; ++u) {
#pragma unroll
    for (int pr = 0; pr < 2; ++pr) {
#pragma unroll
      for (int i = 0; i < 4; ++i) state.sums[u][pr][0][i] = 0.0f;
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) state.result[0][u][i] = 0.0f;
  }
  int slot = 0;  // index % ring_slots
  for (int index = 0; index < count; ++index) {
    wait_copies(ring_slots - 2);  // chunk `index` is in this lane's slot
    const uint4 q[2] = {lane_ring[slot * 64], lane_ring[slot * 64 + 32]};
    const int refill = index + ring_slots - 1;  // into the slot read one chunk ago
    if (refill < count) {
      const int refill_slot = slot == 0 ? ring_slots - 1 : slot - 1;
      copy_16(lane_ring + refill_slot * 64, weights + refill * 128);
      copy_16(lane_ring + refill_slot * 64 + 32, weights + refill * 128 + 8);
    }
    commit_copies();
    slot = slot + 1 == ring_slots ? 0 : slot + 1;
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
    compute_chunk<1>(q, shared, p.plane_stride, p.rows, (first + index) * 4 + t, g, state);
    --left;
  }
  wait_copies(0);
  if (count > 0) flush(state);
  __syncthreads();  // x and the ring are no longer read: the space holds the sums

  float* slice_sums = reinterpret_cast<float*>(shared);       // [kSlices][kRows][128]
  float* final_values = slice_sums + kSlices * kRows * kTile;  // [kRows][128]
  if (t < p.rows) {
#pragma unroll
    for (int u = 0; u < 2; ++u) {
      *reinterpret_cast<float4*>(slice_sums + (slice * kRows + t) * kTile + half * 64 + u * 32 + 4 * g) =
          make_float4(state.result[0][u][0], state.result[0][u][1], state.result[0][u][2], state.result[0][u][3]);
    }
  }
  __syncthreads();
  for (int index = threadIdx.x; index < p.rows * kTile; index += kThreads) {
    float sum = 0.0f;
#pragma unroll
    for (int sl = 0; sl < kSlices; ++sl) sum += slice_sums[sl * kRows * kTile + index];
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

bool dispatch_on = false;
int tuned_max_cluster = kMaxCluster;
int tuned_blocks_per_multiprocessor = 2;
int tuned_max_stages = kStagesCap;

struct Plan {
  int cluster = 0;  // 0: no plan fits
  int stages = 0;
  int plane_stride = 0;
  int planes_bytes = 0;
  size_t shared_bytes = 0;
};

// As int4_gemv_tc's plan: blocks per tile doubled while the grid stays
// within the target blocks per multiprocessor and each warp keeps four
// chunks; then the deepest ring (one slot per chunk a warp has, at most 16)
// that lets the blocks a multiprocessor gets, and one more, share its
// shared memory.
Plan plan_for(const Int4TiledWeights& w, int rows) {
  static const int multiprocessors = device_value(cudaDevAttrMultiProcessorCount);
  const int64_t tiles = w.padded_columns / kTile;
  const int64_t chunks = w.in_features / kInt4ChunkInputs;
  Plan plan;
  if (chunks < kSlices) return plan;  // every warp needs a chunk
  int cluster = 1;
  while (cluster < tuned_max_cluster && tiles * cluster * 2 <= int64_t{tuned_blocks_per_multiprocessor} * multiprocessors &&
         chunks >= static_cast<int64_t>(cluster) * 2 * kSlices * 4) {
    cluster *= 2;
  }
  const int64_t block_chunks = (chunks + cluster - 1) / cluster;
  const int64_t resident = std::clamp<int64_t>((tiles * cluster + multiprocessors - 1) / multiprocessors, 1,
                                               tuned_blocks_per_multiprocessor);
  // Room is left for one block more (the next kernel's, started early by
  // programmatic dependent launch, or another of this grid).
  const size_t budget = std::min(kMaxSharedBytes, kMultiprocessorSharedBytes / static_cast<size_t>(resident + 1) - 2048);
  plan.cluster = cluster;
  plan.plane_stride = plane_stride_for(static_cast<int>(block_chunks * 4));
  plan.planes_bytes = (2 * rows * plan.plane_stride + 127) / 128 * 128;
  const int64_t needed = (block_chunks + kSlices - 1) / kSlices + 1;
  const int64_t fit = static_cast<int64_t>(budget - std::min<size_t>(budget, plan.planes_bytes)) / kStageBytes;
  plan.stages = static_cast<int>(std::min<int64_t>({needed, fit, tuned_max_stages}));
  if (plan.stages < 2) return Plan{};
  const size_t sums = sizeof(float) * static_cast<size_t>((kSlices + 1) * kRows * kTile);
  plan.shared_bytes = std::max(sums, static_cast<size_t>(plan.planes_bytes) + static_cast<size_t>(plan.stages) * kStageBytes);
  return plan;
}

// The device and the layer suit the kernel.
bool fits(const Int4TiledWeights& w, int64_t rows) {
  static const bool hopper = device_value(cudaDevAttrComputeCapabilityMajor) >= 9;
  if (!hopper || w.qweight == nullptr || w.chunks_per_group <= 0 || w.in_features <= 0 ||
      w.in_features % kInt4ChunkInputs != 0 || w.padded_columns % kTile != 0 || w.padded_columns / kTile > 65535 ||
      rows <= 0) {
    return false;
  }
  return plan_for(w, static_cast<int>(std::min(rows, kInt4GemvRingMaxRows))).cluster > 0;
}

template <int kMinBlocks>
void launch(const Params& p, int64_t tiles, const Plan& plan, cudaStream_t stream) {
  opt_in_shared_memory(reinterpret_cast<const void*>(int4_gemv_ring_kernel<kMinBlocks>),
                       static_cast<int>(kMaxSharedBytes), "cudaFuncSetAttribute (int4_gemv_ring)");
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
  check_cuda(cudaLaunchKernelEx(&config, int4_gemv_ring_kernel<kMinBlocks>, p), "cudaLaunchKernelEx (int4_gemv_ring)");
}

}  // namespace

void set_int4_gemv_ring_dispatch(bool on) { dispatch_on = on; }

bool int4_gemv_ring_dispatch() { return dispatch_on; }

void int4_gemv_ring_tuning(int max_cluster, int blocks_per_multiprocessor, int max_slots) {
  tuned_max_cluster = std::clamp(max_cluster, 1, kMaxCluster);
  tuned_blocks_per_multiprocessor = std::clamp(blocks_per_multiprocessor, 1, 3);
  tuned_max_stages = std::clamp(max_slots, 2, kStagesCap);
}

Int4GemvRingPlan int4_gemv_ring_plan(const Int4TiledWeights& w, int64_t rows) {
  const Plan plan = plan_for(w, static_cast<int>(std::clamp<int64_t>(rows, 1, kInt4GemvRingMaxRows)));
  return Int4GemvRingPlan{plan.cluster, plan.stages, plan.shared_bytes};
}

bool int4_gemv_ring_supported(const Int4TiledWeights& w, int64_t rows) { return fits(w, rows); }

void int4_gemv_ring(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
                    const LinearEpilogue& epilogue, void* stream, RmsNormInput norm) {
  if (rows <= 0) return;
  if (!fits(w, rows)) {
    fail_invalid("int4_gemv_ring: unsupported layer (in " + std::to_string(w.in_features) + ", columns " +
                 std::to_string(w.columns) + ")");
  }
  if (epilogue.kind == LinearEpilogue::Kind::silu_mul && w.columns % (2 * LinearEpilogue::kSiluTile) != 0) {
    fail_invalid("int4_gemv_ring: silu_mul needs a multiple of 128 columns");
  }
  const auto s = static_cast<cudaStream_t>(stream);
  const int64_t tiles = w.padded_columns / kTile;
  for (int64_t row0 = 0; row0 < rows; row0 += kInt4GemvRingMaxRows) {
    const int pass = static_cast<int>(std::min(kInt4GemvRingMaxRows, rows - row0));
    const Plan plan = plan_for(w, pass);
    Params p{w,    x + row0 * w.in_features, bias, epilogue, norm, row0, pass,
             static_cast<int32_t>(w.in_features / kInt4ChunkInputs), plan.cluster, plan.plane_stride,
             plan.planes_bytes, plan.stages};
    if (tuned_blocks_per_multiprocessor >= 3) {
      launch<3>(p, tiles, plan, s);
    } else {
      launch<2>(p, tiles, plan, s);
    }
    check_launch("int4_gemv_ring");
  }
}

}  // namespace citadel::runtime::cuda
