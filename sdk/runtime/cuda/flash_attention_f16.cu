// flash_attention_f16 (see flash_attention_f16.h). Fragment layouts are the
// PTX ISA's for mma.m16n8k16 (.row.col, f16): lane = 4 * g + t; A holds rows
// g and g+8, columns 2t, 2t+1 (+8); B columns g, rows 2t, 2t+1 (+8); C rows g
// and g+8, columns 2t, 2t+1. ldmatrix loads Q (A) and K (B, K rows are B
// columns) as stored and V (B, rows are keys) transposed; the S accumulators
// of two 8-key tiles are exactly the A fragment of P for 16 keys.
#include "runtime/cuda/flash_attention_f16.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/flash_attention_wgmma.h"
#include "runtime/cuda/flash_common.cuh"
#include "runtime/cuda/launch_helpers.cuh"
#include "runtime/cuda/mma_primitives.cuh"

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
using mma::ldmatrix_x4_trans;
using mma::mma_16816;

constexpr int kWarps = 8;
constexpr int kQueries = 16 * kWarps;  // per block
constexpr int kKeys = 64;              // per tile
constexpr int kThreads = 32 * kWarps;

template <int D>
struct Tiles {
  static constexpr int kLd = D + 8;  // halves a row: 16 bytes of padding keep ldmatrix rows on distinct banks
  static constexpr int kChunks = D / 8;  // 16-byte pieces a row
  static constexpr size_t q = 0;
  static constexpr size_t kv = q + sizeof(__half) * kQueries * kLd;  // K0, V0, K1, V1
  static constexpr size_t kv_tile = sizeof(__half) * kKeys * kLd;
  static constexpr size_t bytes = kv + 4 * kv_tile;
};

// Stages `rows` rows of one head (from `first`, `count` of them valid) into a
// padded shared tile.
template <int D>
__device__ __forceinline__ void stage_rows(__half* tile, const __half* source, int64_t first, int64_t count,
                                           int rows, int64_t stride, int64_t head) {
  using T = Tiles<D>;
  for (int i = threadIdx.x; i < rows * T::kChunks; i += kThreads) {
    const int r = i / T::kChunks, c = i % T::kChunks;
    const bool valid = first + r < count;
    const __half* from = valid ? source + (first + r) * stride + head * D + c * 8 : source;
    copy_16(tile + r * T::kLd + c * 8, from, valid);
  }
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    flash_f16_kernel(const __half* q, int64_t num_queries, const __half* k, const __half* v, int64_t num_keys,
                     int64_t heads, float scale_log2, float* out) {
  using T = Tiles<D>;
  extern __shared__ __align__(128) unsigned char shared[];
  __half* q_tile = reinterpret_cast<__half*>(shared + T::q);
  const auto k_tile = [&](int buffer) { return reinterpret_cast<__half*>(shared + T::kv + (2 * buffer) * T::kv_tile); };
  const auto v_tile = [&](int buffer) {
    return reinterpret_cast<__half*>(shared + T::kv + (2 * buffer + 1) * T::kv_tile);
  };
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int64_t first_query = static_cast<int64_t>(blockIdx.x) * kQueries, head = blockIdx.y;
  const int64_t stride = heads * D;
  const int tiles = static_cast<int>((num_keys + kKeys - 1) / kKeys);

  stage_rows<D>(q_tile, q, first_query, num_queries, kQueries, stride, head);
  stage_rows<D>(k_tile(0), k, 0, num_keys, kKeys, stride, head);
  stage_rows<D>(v_tile(0), v, 0, num_keys, kKeys, stride, head);
  copy_commit();

  uint32_t q_frag[D / 16][4];
  float o[D / 8][4];
  for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
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
    __syncthreads();
    if (tile == 0)
      for (int kk = 0; kk < D / 16; ++kk)
        ldmatrix_x4(q_frag[kk], q_tile + (warp * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * T::kLd + kk * 16 +
                                    (lane / 16) * 8);
    const __half* keys = k_tile(buffer);
    const __half* values = v_tile(buffer);

    // S = Q K^T: 8 tiles of 8 keys.
    float s[kKeys / 8][4];
    for (int j = 0; j < kKeys / 8; ++j) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
#pragma unroll
      for (int jj = 0; jj < kKeys / 16; ++jj) {
        uint32_t b[4];
        ldmatrix_x4(b, keys + (jj * 16 + (lane % 8) + (lane / 16) * 8) * T::kLd + kk * 16 + ((lane / 8) % 2) * 8);
        mma_16816(s[2 * jj], q_frag[kk], b[0], b[1]);
        mma_16816(s[2 * jj + 1], q_frag[kk], b[2], b[3]);
      }

    // Online softmax in the log2 domain.
    uint32_t p[kKeys / 16][4];
    float correction[2];
    flash::softmax_tile<kKeys>(s, t, num_keys - int64_t{tile} * kKeys, scale_log2, rows, p, correction);
    flash::rescale(o, correction);

    // O += P V: 16 keys a step, two 8-column tiles of V a load.
#pragma unroll
    for (int ks = 0; ks < kKeys / 16; ++ks)
#pragma unroll
      for (int dp = 0; dp < D / 16; ++dp) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, values + (ks * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * T::kLd + dp * 16 +
                                 (lane / 16) * 8);
        mma_16816(o[2 * dp], p[ks], b[0], b[1]);
        mma_16816(o[2 * dp + 1], p[ks], b[2], b[3]);
      }
    __syncthreads();  // every warp is done with this buffer before it is refilled
  }

  flash::store_rows(o, rows, first_query + warp * 16 + g, num_queries, t, out, stride, head * D);
}

template <int D>
void launch_f16(const uint16_t* q, int64_t num_queries, const uint16_t* k, const uint16_t* v, int64_t num_keys,
           int64_t heads, float scale, float* out, void* stream) {
  constexpr size_t bytes = Tiles<D>::bytes;
  static_assert(bytes <= 227 * 1024, "flash_attention_f16: shared memory past Hopper's 227 KB");
  flash::launch(flash_f16_kernel<D>, kThreads, kQueries, bytes, q, num_queries, k, v, num_keys, heads, scale, out, stream,
                "flash_attention_f16");
}

}  // namespace

bool flash_attention_f16_supports(int64_t head_dim) { return head_dim == 32 || head_dim == 64 || head_dim == 128; }

void flash_attention_f16(const uint16_t* q, int64_t num_queries, const uint16_t* k, const uint16_t* v,
                         int64_t num_keys, int64_t heads, int64_t head_dim, float scale, float* out, void* stream,
                         FlashF16Path path) {
  if (!flash_attention_f16_supports(head_dim))
    fail_unsupported("flash_attention_f16: head_dim " + std::to_string(head_dim) + " (32, 64 or 128)");
  if (num_keys <= 0) fail_invalid("flash_attention_f16: no keys to attend to");
  if (heads <= 0 || heads > 65535) fail_invalid("flash_attention_f16: " + std::to_string(heads) + " heads");
  if (num_queries <= 0) return;
  for (const void* pointer : {static_cast<const void*>(q), static_cast<const void*>(k), static_cast<const void*>(v)})
    if (reinterpret_cast<uintptr_t>(pointer) % 16 != 0) fail_invalid("flash_attention_f16: operands not 16-byte aligned");
  if (path != FlashF16Path::mma_sync) {
    const bool wgmma = flash_attention_wgmma_supports(head_dim) && flash_attention_wgmma_available();
    if (wgmma) return flash_attention_wgmma(q, num_queries, k, v, num_keys, heads, head_dim, scale, out, stream);
    if (path == FlashF16Path::wgmma)
      fail_unsupported("flash_attention_f16: no wgmma kernel for head_dim " + std::to_string(head_dim) +
                       " on this device (sm_90a, head_dim 64 or 128)");
  }
  switch (head_dim) {
    case 32: return launch_f16<32>(q, num_queries, k, v, num_keys, heads, scale, out, stream);
    case 64: return launch_f16<64>(q, num_queries, k, v, num_keys, heads, scale, out, stream);
    default: return launch_f16<128>(q, num_queries, k, v, num_keys, heads, scale, out, stream);
  }
}

}  // namespace citadel::runtime::cuda
