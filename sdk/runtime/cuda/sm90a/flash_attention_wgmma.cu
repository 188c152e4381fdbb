// flash_attention_wgmma (see flash_attention_wgmma.h).
//
// Shared memory holds Q (128 rows) and two K/V buffers (64 keys each) in one
// layout: a tile of R rows of head_dim D halves is (R / 8) x (D / 8) core
// matrices of 8 rows x 16 bytes, the core matrix of row group r / 8 and
// 16-byte column c at byte ((r / 8) * (D / 8) + c) * 128, its row r % 8 at
// 16 * (r % 8). Read as wgmma operands:
//  - K, the B of S = Q.K^T (n = key, k = head dim, K-major): neighbouring
//    groups of 8 k are 128 bytes apart (leading byte offset), of 8 n (keys)
//    D * 16 bytes (stride byte offset); k-step kk starts at column 2 kk;
//  - V, the B of O += P.V (k = key, n = head dim, N-major): groups of 8 k
//    (keys) D * 16 bytes apart (leading), of 8 n (dims) 128 bytes (stride);
//    k-step ks starts at row group 2 ks, each 64-column half of O at
//    column 8 h.
// Q reaches registers through ldmatrix (rows of one core matrix are 128
// contiguous bytes: no bank conflicts), as the A fragments of warp w: rows
// 16 w .. 16 w + 15 of the block, which are rows 16 (w % 4) .. of warpgroup
// w / 4. S, P and O use the accumulator layout that mma.sync m16n8k16 uses
// per warp (a wgmma's 64 columns are 8 of its 8-column tiles), so the softmax
// and the stores are flash_attention_f16's (flash_common.cuh). Each thread's staging
// copies walk the 8 rows of a core matrix first: 8 consecutive threads fill
// 128 contiguous bytes of shared memory, and a warp reads 64 contiguous
// bytes of each of 8 rows.
#include "runtime/cuda/flash_attention_wgmma.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/flash_common.cuh"
#include "runtime/cuda/launch_helpers.cuh"
#include "runtime/cuda/mma_primitives.cuh"
#include "runtime/cuda/sm90a/wgmma_primitives.cuh"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <string>

namespace citadel::runtime::cuda {
namespace {

using mma::copy_16;
using mma::copy_commit;
using mma::copy_wait;
using mma::ldmatrix_x4;

constexpr int kWarpgroups = 2;
constexpr int kThreads = 128 * kWarpgroups;
constexpr int kQueries = 64 * kWarpgroups;  // per block
constexpr int kKeys = 64;                   // per tile

template <int D>
struct Tiles {
  static constexpr int kColumns = D / 8;  // 16-byte columns of a row
  static constexpr uint32_t kRowGroupBytes = kColumns * 128;
  static constexpr size_t q = 0;
  static constexpr size_t kv = q + sizeof(__half) * kQueries * D;  // K0, V0, K1, V1
  static constexpr size_t kv_tile = sizeof(__half) * kKeys * D;
  static constexpr size_t bytes = kv + 4 * kv_tile;
};

template <int D>
__device__ __forceinline__ uint32_t core_offset(int row, int column) {
  return static_cast<uint32_t>(((row / 8) * Tiles<D>::kColumns + column) * 128 + (row % 8) * 16);
}

// Stages `rows` rows of one head (from `first`, `count` of them valid; the
// rest zero) into a core-matrix tile.
template <int D>
__device__ __forceinline__ void stage_rows(unsigned char* tile, const __half* source, int64_t first, int64_t count,
                                           int rows, int64_t stride, int64_t head) {
  constexpr int kColumns = Tiles<D>::kColumns;
  for (int i = threadIdx.x; i < rows * kColumns; i += kThreads) {
    const int row = (i / (8 * kColumns)) * 8 + i % 8, column = (i / 8) % kColumns;
    const bool valid = first + row < count;
    const __half* from = valid ? source + (first + row) * stride + head * D + column * 8 : source;
    copy_16(tile + core_offset<D>(row, column), from, valid);
  }
}

template <int D>
__global__ void __launch_bounds__(kThreads, 1)
    flash_wgmma_kernel(const __half* q, int64_t num_queries, const __half* k, const __half* v, int64_t num_keys,
                       int64_t heads, float scale_log2, float* out) {
  using T = Tiles<D>;
  constexpr int kHalves = D / 64;  // 64-column halves of O
  extern __shared__ __align__(128) unsigned char shared[];
  unsigned char* q_tile = shared + T::q;
  const auto k_tile = [&](int buffer) { return shared + T::kv + (2 * buffer) * T::kv_tile; };
  const auto v_tile = [&](int buffer) { return shared + T::kv + (2 * buffer + 1) * T::kv_tile; };
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int64_t first_query = static_cast<int64_t>(blockIdx.x) * kQueries, head = blockIdx.y;
  const int64_t stride = heads * D;
  const int tiles = static_cast<int>((num_keys + kKeys - 1) / kKeys);

  stage_rows<D>(q_tile, q, first_query, num_queries, kQueries, stride, head);
  stage_rows<D>(k_tile(0), k, 0, num_keys, kKeys, stride, head);
  stage_rows<D>(v_tile(0), v, 0, num_keys, kKeys, stride, head);
  copy_commit();

  uint32_t q_frag[D / 16][4];
  float o[D / 8][4];  // 8-column tiles; tiles 8 h .. 8 h + 7 are the accumulators of half h's wgmma
#pragma unroll
  for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  const auto half_of = [&](int h) -> float(&)[32] { return *reinterpret_cast<float(*)[32]>(&o[8 * h][0]); };
  flash::RowState rows;

  for (int tile = 0; tile < tiles; ++tile) {
    const int buffer = tile & 1;
    if (tile + 1 < tiles) {
      stage_rows<D>(k_tile(buffer ^ 1), k, int64_t{tile + 1} * kKeys, num_keys, kKeys, stride, head);
      stage_rows<D>(v_tile(buffer ^ 1), v, int64_t{tile + 1} * kKeys, num_keys, kKeys, stride, head);
      copy_commit();
      copy_wait<1>();
    } else {
      copy_wait<0>();
    }
    wgmma::fence_shared_for_async();  // this thread's copies are visible to the tensor cores ...
    __syncthreads();                  // ... and everyone's have landed
    if (tile == 0) {
      const int row = warp * 16 + (lane % 8) + ((lane / 8) % 2) * 8;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) ldmatrix_x4(q_frag[kk], q_tile + core_offset<D>(row, 2 * kk + lane / 16));
    }
    const unsigned char* keys = k_tile(buffer);
    const unsigned char* values = v_tile(buffer);

    // S = Q K^T: one 64-key wgmma per 16 dims.
    float s[kKeys / 8][4];
    float(&scores)[32] = *reinterpret_cast<float(*)[32]>(&s[0][0]);
    if (tile == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) wgmma::fence_operands(q_frag[kk]);
    }
    wgmma::fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
      wgmma::mma_f16<64>(scores, q_frag[kk], wgmma::descriptor(keys + 2 * kk * 128, 128, T::kRowGroupBytes), kk > 0);
    wgmma::commit();
    wgmma::wait<0>();
    wgmma::fence_operands(scores);

    // Online softmax in the log2 domain.
    uint32_t p[kKeys / 16][4];
    float correction[2];
    flash::softmax_tile<kKeys>(s, t, num_keys - int64_t{tile} * kKeys, scale_log2, rows, p, correction);
    flash::rescale(o, correction);

    // O += P V: 16 keys a step, 64 head dims a wgmma. The rescaled
    // accumulators and P are written before the fence (the PTX ISA's rule for
    // registers a wgmma reads), which the compiler may not move past it.
#pragma unroll
    for (int h = 0; h < kHalves; ++h) wgmma::fence_operands(half_of(h));
#pragma unroll
    for (int ks = 0; ks < kKeys / 16; ++ks) wgmma::fence_operands(p[ks]);
    wgmma::fence();
#pragma unroll
    for (int ks = 0; ks < kKeys / 16; ++ks)
#pragma unroll
      for (int h = 0; h < kHalves; ++h)
        wgmma::mma_f16_b_n_major_64(
            half_of(h), p[ks],
            wgmma::descriptor(values + 2 * ks * T::kRowGroupBytes + 8 * h * 128, T::kRowGroupBytes, 128), 1);
    wgmma::commit();
    wgmma::wait<0>();
#pragma unroll
    for (int h = 0; h < kHalves; ++h) wgmma::fence_operands(half_of(h));
    __syncthreads();  // every warp is done with this buffer before it is refilled
  }

  flash::store_rows(o, rows, first_query + warp * 16 + g, num_queries, t, out, stride, head * D);
}

template <int D>
bool has_image() {
  static const bool present = [] {
    cudaFuncAttributes attributes{};
    if (cudaFuncGetAttributes(&attributes, flash_wgmma_kernel<D>) == cudaSuccess) return true;
    (void)cudaGetLastError();
    return false;
  }();
  return present;
}

template <int D>
void launch_wgmma(const uint16_t* q, int64_t num_queries, const uint16_t* k, const uint16_t* v, int64_t num_keys,
             int64_t heads, float scale, float* out, void* stream) {
  constexpr size_t bytes = Tiles<D>::bytes;
  static_assert(bytes <= 227 * 1024, "flash_attention_wgmma: shared memory past Hopper's 227 KB");
  flash::launch(flash_wgmma_kernel<D>, kThreads, kQueries, bytes, q, num_queries, k, v, num_keys, heads, scale, out, stream,
                "flash_attention_wgmma");
}

}  // namespace

bool flash_attention_wgmma_supports(int64_t head_dim) { return head_dim == 64 || head_dim == 128; }

bool flash_attention_wgmma_available() {
  int device = 0, major = 0, minor = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return false;
  check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
  check_cuda(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute");
  if (major != 9 || minor != 0) return false;
  return has_image<64>() && has_image<128>();
}

void flash_attention_wgmma(const uint16_t* q, int64_t num_queries, const uint16_t* k, const uint16_t* v,
                           int64_t num_keys, int64_t heads, int64_t head_dim, float scale, float* out, void* stream) {
  if (!flash_attention_wgmma_available()) fail_unsupported("flash_attention_wgmma: not an sm_90a device");
  if (head_dim == 64) return launch_wgmma<64>(q, num_queries, k, v, num_keys, heads, scale, out, stream);
  if (head_dim == 128) return launch_wgmma<128>(q, num_queries, k, v, num_keys, heads, scale, out, stream);
  fail_unsupported("flash_attention_wgmma: head_dim " + std::to_string(head_dim) + " (64 or 128)");
}

}  // namespace citadel::runtime::cuda
