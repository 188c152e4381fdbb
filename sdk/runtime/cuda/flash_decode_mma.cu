// Flash decoding on tensor cores (flash_decode_mma.cuh says what and why).
// Shared memory: per warp kStages stages of [K chunk | V chunk], each
// [16 positions][head_dim] f16 with the 16-byte pieces of a row swizzled so
// that the 8 rows one ldmatrix reads fall on distinct banks; after the loop
// the same bytes hold the warps' sums for finish_block.
#include "runtime/cuda/flash_decode_mma.cuh"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/shared_memory_opt_in.h"
#include "runtime/cuda/dependent_launch.cuh"
#include "runtime/cuda/mma_primitives.cuh"

#include <cuda_fp16.h>

namespace citadel::runtime::cuda {
namespace {

using namespace flash_decoding;
using namespace mma;

constexpr int kChunk = 16;  // positions a warp scores at once: two 8-column B tiles, one 16-deep k step of P.V
constexpr int kStages = 3;  // chunks of a warp in its ring: two in flight while one is computed

template <int HD>
struct Ring {
  static constexpr int kPieces = HD / 8;                     // 16-byte pieces of one position's K (or V)
  static constexpr int kRowsPerCopy = 32 / kPieces;          // positions one cp.async of every lane covers
  static constexpr int kCopies = kChunk / kRowsPerCopy;      // cp.async per lane per chunk, for K and again for V
  static constexpr size_t kTile = sizeof(__half) * kChunk * HD;
  static constexpr size_t kStage = 2 * kTile;
  static constexpr size_t kWarpRing = kStages * kStage;
  static constexpr size_t bytes = kWarps * kWarpRing;
};

// The piece a row's piece `piece` is stored at: 8 consecutive rows of one
// piece land on 8 distinct 16-byte bank groups.
template <int HD>
__device__ __forceinline__ int swizzled(int row, int piece) {
  return HD >= 64 ? piece ^ (row & 7) : piece ^ ((row >> 1) & 3);
}

template <int HD>
__device__ __forceinline__ const __half* tile_piece(const __half* tile, int row, int piece) {
  return tile + row * HD + swizzled<HD>(row, piece) * 8;
}

// Queues the copies of the warp's chunk starting at `first` into `stage`:
// lane l copies piece l % kPieces of positions first + l / kPieces + j * kRowsPerCopy.
template <int HD>
__device__ __forceinline__ void issue_chunk(const Params& p, void* const* table, int64_t kv_head, int first, int end,
                                            int lane, unsigned char* stage) {
  using R = Ring<HD>;
  __half* k_tile = reinterpret_cast<__half*>(stage);
  __half* v_tile = reinterpret_cast<__half*>(stage + R::kTile);
  const int row0 = lane / R::kPieces, piece = lane % R::kPieces;
  const int tokens_per_block = static_cast<int>(p.tokens_per_block);
  int position = first + row0;
  int block = position / tokens_per_block, offset = position % tokens_per_block;
#pragma unroll
  for (int j = 0; j < R::kCopies; ++j) {
    const int row = row0 + j * R::kRowsPerCopy;
    const bool valid = position < end;
    const char* k_source = reinterpret_cast<const char*>(p.q);  // not read when !valid
    const char* v_source = k_source;
    if (valid) {
      const char* base = static_cast<const char*>(table[block]) +
                         (static_cast<size_t>(offset) * p.num_kv_heads + kv_head) * HD * sizeof(__half) +
                         piece * 16;
      k_source = base + p.k_offset;
      v_source = base + p.v_offset;
    }
    __half* k_dst = k_tile + row * HD + swizzled<HD>(row, piece) * 8;
    __half* v_dst = v_tile + row * HD + swizzled<HD>(row, piece) * 8;
    copy_16(k_dst, k_source, valid);
    copy_16(v_dst, v_source, valid);
    position += R::kRowsPerCopy;
    offset += R::kRowsPerCopy;
    while (offset >= tokens_per_block) {
      offset -= tokens_per_block;
      ++block;
    }
  }
}

template <int HD, int G>
__global__ void __launch_bounds__(kWarps * 32) flash_decode_mma_kernel(Params p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using R = Ring<HD>;
  constexpr int KS = HD / 16;  // 16-wide k steps of q.K, and 16-wide column pairs of P.V
  extern __shared__ __align__(128) unsigned char shared[];
  allow_dependent_launch();  // the o projection may load its weights meanwhile
  wait_for_prerequisites();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int64_t kv_head = blockIdx.x, row = blockIdx.y;
  const int split = blockIdx.z;
  const int length = p.lengths[row];
  const int begin = split * static_cast<int>(p.positions_per_split);
  const int end = min(length, begin + static_cast<int>(p.positions_per_split));
  void* const* table = p.tables + row * p.table_stride;
  unsigned char* ring = shared + warp * R::kWarpRing;
  // This warp's chunks start at begin + (warp + kWarps * i) * kChunk.
  const int first_of_warp = begin + warp * kChunk;
  const int chunks = end > first_of_warp ? (end - first_of_warp + kWarps * kChunk - 1) / (kWarps * kChunk) : 0;

  // Query head g of this KV head as row g of A (rows 8-15 stay zero), hi + lo.
  uint32_t q_hi[KS][2], q_lo[KS][2];
  {
    const bool present = g < p.group;
    const float* q_row = p.q + (row * p.num_heads + kv_head * p.group + (present ? g : 0)) * HD;
#pragma unroll
    for (int ks = 0; ks < KS; ++ks) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float2 value = make_float2(0.0f, 0.0f);
        if (present) value = *reinterpret_cast<const float2*>(q_row + ks * 16 + half * 8 + 2 * t);
        split_half2(value.x * p.score_scale, value.y * p.score_scale, q_hi[ks][half], q_lo[ks][half]);
      }
    }
  }

  for (int s = 0; s < kStages - 1; ++s) {
    if (s < chunks) issue_chunk<HD>(p, table, kv_head, first_of_warp + s * kWarps * kChunk, end, lane,
                                    ring + s * R::kStage);
    copy_commit();
  }

  // Row g's online softmax: the output columns 2t, 2t+1 of every 8-wide
  // tile, the running maximum (the same in the 4 lanes of row g) and this
  // lane's share of the denominator.
  float acc[HD / 8][2];
#pragma unroll
  for (int n = 0; n < HD / 8; ++n) acc[n][0] = acc[n][1] = 0.0f;
  float running_max = -INFINITY, denominator = 0.0f;

  for (int i = 0; i < chunks; ++i) {
    if (i + kStages - 1 < chunks) {
      issue_chunk<HD>(p, table, kv_head, first_of_warp + (i + kStages - 1) * kWarps * kChunk, end, lane,
                      ring + ((i + kStages - 1) % kStages) * R::kStage);
    }
    copy_commit();
    copy_wait<kStages - 1>();  // chunk i has landed
    __syncwarp();
    const unsigned char* stage = ring + (i % kStages) * R::kStage;
    const __half* k_tile = reinterpret_cast<const __half*>(stage);
    const __half* v_tile = reinterpret_cast<const __half*>(stage + R::kTile);
    const int first = first_of_warp + i * kWarps * kChunk;

    // Scores of the 16 positions: s[nt] columns nt * 8 + 2t, +1 of row g.
    float s[2][4] = {{0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}};
    const int matrix = lane >> 3;
#pragma unroll
    for (int ks = 0; ks < KS; ++ks) {
      uint32_t b[4];
      const int position = (matrix >> 1) * 8 + (lane & 7);
      ldmatrix_x4(b, tile_piece<HD>(k_tile, position, ks * 2 + (matrix & 1)));
      const uint32_t a_hi[4] = {q_hi[ks][0], 0u, q_hi[ks][1], 0u};
      const uint32_t a_lo[4] = {q_lo[ks][0], 0u, q_lo[ks][1], 0u};
      mma_16816(s[0], a_hi, b[0], b[1]);
      mma_16816(s[0], a_lo, b[0], b[1]);
      mma_16816(s[1], a_hi, b[2], b[3]);
      mma_16816(s[1], a_lo, b[2], b[3]);
    }

    // Positions past the end weigh nothing; one rescale per chunk.
    float chunk_max = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        if (first + nt * 8 + 2 * t + e >= end) s[nt][e] = -INFINITY;
        chunk_max = fmaxf(chunk_max, s[nt][e]);
      }
    }
    chunk_max = fmaxf(chunk_max, __shfl_xor_sync(0xffffffffu, chunk_max, 1));
    chunk_max = fmaxf(chunk_max, __shfl_xor_sync(0xffffffffu, chunk_max, 2));
    const float best = fmaxf(running_max, chunk_max);  // finite: position `first` is < end
    const float correction = rescale(running_max, best);
    running_max = best;
    denominator *= correction;
#pragma unroll
    for (int n = 0; n < HD / 8; ++n) {
      acc[n][0] *= correction;
      acc[n][1] *= correction;
    }
    float w[2][2];
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        w[nt][e] = exp2f(s[nt][e] - best);
        denominator += w[nt][e];
      }
    }
    // The weights as A (row g, columns 2t, 2t+1 and 8 + 2t, 8 + 2t + 1), hi + lo.
    uint32_t p_hi[4] = {0u, 0u, 0u, 0u}, p_lo[4] = {0u, 0u, 0u, 0u};
    split_half2(w[0][0], w[0][1], p_hi[0], p_lo[0]);
    split_half2(w[1][0], w[1][1], p_hi[2], p_lo[2]);

    // acc += P.V: V rows are the k dimension (ldmatrix transposed), 16 output columns per load.
#pragma unroll
    for (int dp = 0; dp < KS; ++dp) {
      uint32_t b[4];
      const int position = (matrix & 1) * 8 + (lane & 7);
      ldmatrix_x4_trans(b, tile_piece<HD>(v_tile, position, dp * 2 + (matrix >> 1)));
      float c0[4] = {acc[2 * dp][0], acc[2 * dp][1], 0.0f, 0.0f};
      float c1[4] = {acc[2 * dp + 1][0], acc[2 * dp + 1][1], 0.0f, 0.0f};
      mma_16816(c0, p_hi, b[0], b[1]);
      mma_16816(c0, p_lo, b[0], b[1]);
      mma_16816(c1, p_hi, b[2], b[3]);
      mma_16816(c1, p_lo, b[2], b[3]);
      acc[2 * dp][0] = c0[0];
      acc[2 * dp][1] = c0[1];
      acc[2 * dp + 1][0] = c1[0];
      acc[2 * dp + 1][1] = c1[1];
    }
    __syncwarp();  // every lane is done with this stage before it is refilled
  }
  copy_wait<0>();
  denominator += __shfl_xor_sync(0xffffffffu, denominator, 1);
  denominator += __shfl_xor_sync(0xffffffffu, denominator, 2);

  // The warps' states, in the ring's bytes once every warp is done with its ring.
  __syncthreads();
  auto sums = reinterpret_cast<float(*)[G][HD]>(shared);
  __shared__ float maxes[kWarps][G], denominators[kWarps][G];
  if (g < G) {
#pragma unroll
    for (int n = 0; n < HD / 8; ++n) {
      sums[warp][g][n * 8 + 2 * t] = acc[n][0];
      sums[warp][g][n * 8 + 2 * t + 1] = acc[n][1];
    }
    if (t == 0) {
      maxes[warp][g] = running_max;
      denominators[warp][g] = denominator;
    }
  }
  __syncthreads();
  finish_block<HD, G>(p, sums, maxes, denominators, row, kv_head, split);
#endif
}

// The kernel instance's shared-memory opt-in on the current device.
template <int HD, int G>
size_t prepared_shared_bytes() {
  constexpr size_t bytes = Ring<HD>::bytes;
  static_assert(bytes >= sizeof(float) * kWarps * G * HD, "the warps' sums reuse the rings");
  static_assert(bytes <= 227 * 1024, "flash_decode_mma: shared memory past Hopper's 227 KB");
  opt_in_shared_memory(reinterpret_cast<const void*>(flash_decode_mma_kernel<HD, G>), static_cast<int>(bytes),
                       "cuda flash_decode (tensor cores): shared memory opt-in");
  return bytes;
}

template <int HD, int G>
void launch(const Params& p, int64_t rows, cudaStream_t stream) {
  const size_t bytes = prepared_shared_bytes<HD, G>();
  launch_dependent(flash_decode_mma_kernel<HD, G>,
                   dim3(static_cast<unsigned>(p.num_kv_heads), static_cast<unsigned>(rows),
                        static_cast<unsigned>(p.splits)),
                   dim3(kWarps * 32), bytes, stream, "cuda flash_decode (tensor cores)", p);
}

// Resident blocks per multiprocessor (the group does not change the shared
// memory, which bounds it, nor the registers).
template <int HD>
int blocks_per_multiprocessor() {
  static const int blocks = [] {
    const size_t bytes = prepared_shared_bytes<HD, 4>();
    int count = 0;
    check_cuda(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&count, flash_decode_mma_kernel<HD, 4>, kWarps * 32,
                                                             bytes),
               "cudaOccupancyMaxActiveBlocksPerMultiprocessor (flash_decode)");
    return count > 0 ? count : 1;
  }();
  return blocks;
}

template <int HD>
void launch_groups(const Params& p, int64_t rows, cudaStream_t stream) {
  if (p.group <= 1) return launch<HD, 1>(p, rows, stream);
  if (p.group <= 2) return launch<HD, 2>(p, rows, stream);
  if (p.group <= 4) return launch<HD, 4>(p, rows, stream);
  return launch<HD, 8>(p, rows, stream);
}

}  // namespace

bool flash_decode_mma_takes(int64_t head_dim) {
  if (head_dim != 32 && head_dim != 64 && head_dim != 128) return false;
  int device = 0, major = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
  return major >= 8;
}

int flash_decode_mma_blocks_per_multiprocessor(int64_t head_dim) {
  return head_dim == 32 ? blocks_per_multiprocessor<32>()
         : head_dim == 64 ? blocks_per_multiprocessor<64>()
                          : blocks_per_multiprocessor<128>();
}

void launch_flash_decode_mma(const Params& p, int64_t rows, int64_t head_dim, cudaStream_t stream) {
  switch (head_dim) {
    case 32: launch_groups<32>(p, rows, stream); break;
    case 64: launch_groups<64>(p, rows, stream); break;
    default: launch_groups<128>(p, rows, stream); break;
  }
}

}  // namespace citadel::runtime::cuda
