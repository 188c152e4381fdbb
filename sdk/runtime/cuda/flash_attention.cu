// flash_attention (see flash_attention.h): a block of 4 warps owns 64 queries
// of one head; each warp owns 16 of them. Per tile of 64 keys the block stages
// K and V as f16 in shared memory, each warp computes its 16x64 scores with
// WMMA, updates its rows' running max and sum (two lanes a row), writes the
// probabilities as f16, rescales its f32 output rows in shared memory and
// adds P.V with WMMA. Shared memory: 111 KB at head_dim 128 (two blocks an
// SM on Hopper).
#include "runtime/cuda/flash_attention.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch_helpers.cuh"

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cmath>
#include <string>

namespace citadel::runtime::cuda {
namespace {

namespace wmma = nvcuda::wmma;
using launch::as_stream;

constexpr int kQueries = 64;  // per block
constexpr int kKeys = 64;     // per tile
constexpr int kWarps = kQueries / 16;
constexpr int kThreads = kWarps * 32;

// Shared-memory layout for head_dim D; every region and every 16-row slice
// of it starts on a 32-byte boundary, as WMMA loads and stores require.
template <int D>
struct Layout {
  static constexpr int kHalfLd = D + 8;       // f16 rows of Q, K, V (padded against bank conflicts)
  static constexpr int kScoreLd = kKeys + 4;  // f32 rows of S
  static constexpr int kProbLd = kKeys + 8;   // f16 rows of P
  static constexpr int kOutLd = D + 4;        // f32 rows of O
  static constexpr size_t q = 0;
  static constexpr size_t k = q + sizeof(__half) * kQueries * kHalfLd;
  static constexpr size_t v = k + sizeof(__half) * kKeys * kHalfLd;
  static constexpr size_t s = v + sizeof(__half) * kKeys * kHalfLd;
  static constexpr size_t p = s + sizeof(float) * kQueries * kScoreLd;
  static constexpr size_t o = p + sizeof(__half) * kQueries * kProbLd;
  static constexpr size_t rows = o + sizeof(float) * kQueries * kOutLd;  // max, sum, correction per query
  static constexpr size_t bytes = rows + sizeof(float) * kQueries * 3;
};

using Accumulator = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;
using RowA = wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major>;
using ColB = wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major>;
using RowB = wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major>;

template <int D>
__global__ void __launch_bounds__(kThreads)
    flash_attention_kernel(const float* q, int64_t num_queries, const float* k, const float* v, int64_t num_keys,
                           int64_t heads, float scale, float* out) {
  using L = Layout<D>;
  extern __shared__ __align__(128) unsigned char shared[];
  __half* q_tile = reinterpret_cast<__half*>(shared + L::q);
  __half* k_tile = reinterpret_cast<__half*>(shared + L::k);
  __half* v_tile = reinterpret_cast<__half*>(shared + L::v);
  float* row_max = reinterpret_cast<float*>(shared + L::rows);
  float* row_sum = row_max + kQueries;
  float* row_correction = row_sum + kQueries;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t first_query = static_cast<int64_t>(blockIdx.x) * kQueries, head = blockIdx.y;
  const int64_t stride = heads * D;  // floats from one token to the next
  float* scores = reinterpret_cast<float*>(shared + L::s) + warp * 16 * L::kScoreLd;
  __half* probs = reinterpret_cast<__half*>(shared + L::p) + warp * 16 * L::kProbLd;
  float* outputs = reinterpret_cast<float*>(shared + L::o) + warp * 16 * L::kOutLd;

  for (int i = threadIdx.x; i < kQueries * D; i += kThreads) {
    const int r = i / D, d = i % D;
    const int64_t t = first_query + r;
    q_tile[r * L::kHalfLd + d] = __float2half_rn(t < num_queries ? q[t * stride + head * D + d] : 0.0f);
    reinterpret_cast<float*>(shared + L::o)[r * L::kOutLd + d] = 0.0f;
  }
  for (int r = threadIdx.x; r < kQueries; r += kThreads) {
    row_max[r] = -INFINITY;
    row_sum[r] = 0.0f;
  }

  for (int64_t first_key = 0; first_key < num_keys; first_key += kKeys) {
    __syncthreads();  // the previous tile is read by every warp; Q and the row state are written
    for (int i = threadIdx.x; i < kKeys * D; i += kThreads) {
      const int r = i / D, d = i % D;
      const int64_t key = first_key + r;
      const bool valid = key < num_keys;
      k_tile[r * L::kHalfLd + d] = __float2half_rn(valid ? k[key * stride + head * D + d] : 0.0f);
      v_tile[r * L::kHalfLd + d] = __float2half_rn(valid ? v[key * stride + head * D + d] : 0.0f);
    }
    __syncthreads();
    const int valid_keys = static_cast<int>(num_keys - first_key < kKeys ? num_keys - first_key : kKeys);

    // S = Q K^T for this warp's 16 queries.
    for (int j = 0; j < kKeys / 16; ++j) {
      Accumulator s;
      wmma::fill_fragment(s, 0.0f);
      for (int kk = 0; kk < D / 16; ++kk) {
        RowA a;
        ColB b;
        wmma::load_matrix_sync(a, q_tile + warp * 16 * L::kHalfLd + kk * 16, L::kHalfLd);
        wmma::load_matrix_sync(b, k_tile + j * 16 * L::kHalfLd + kk * 16, L::kHalfLd);
        wmma::mma_sync(s, a, b, s);
      }
      wmma::store_matrix_sync(scores + j * 16, s, L::kScoreLd, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax: lanes 2r and 2r+1 share row r, 32 keys each.
    {
      const int r = lane / 2, half_index = lane % 2, query = warp * 16 + r;
      const float* score_row = scores + r * L::kScoreLd + half_index * 32;
      float tile_max = -INFINITY;
      for (int c = 0; c < 32; ++c)
        if (half_index * 32 + c < valid_keys) tile_max = fmaxf(tile_max, score_row[c] * scale);
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
      const float old_max = row_max[query];
      const float new_max = fmaxf(old_max, tile_max);  // finite: a tile has at least one key
      const float correction = expf(old_max - new_max);  // 0 on the first tile
      __half* prob_row = probs + r * L::kProbLd + half_index * 32;
      float sum = 0.0f;
      for (int c = 0; c < 32; ++c) {
        const __half p = __float2half_rn(half_index * 32 + c < valid_keys ? expf(score_row[c] * scale - new_max) : 0.0f);
        prob_row[c] = p;
        sum += __half2float(p);  // the sum of what P.V adds up
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      __syncwarp();  // both lanes of the row have read its state
      if (half_index == 0) {
        row_max[query] = new_max;
        row_sum[query] = row_sum[query] * correction + sum;
        row_correction[query] = correction;
      }
      __syncwarp();
    }

    // O = O * correction + P V for this warp's rows.
    for (int i = lane; i < 16 * D; i += 32) outputs[(i / D) * L::kOutLd + i % D] *= row_correction[warp * 16 + i / D];
    __syncwarp();
    for (int dt = 0; dt < D / 16; ++dt) {
      Accumulator o;
      wmma::load_matrix_sync(o, outputs + dt * 16, L::kOutLd, wmma::mem_row_major);
      for (int kk = 0; kk < kKeys / 16; ++kk) {
        RowA a;
        RowB b;
        wmma::load_matrix_sync(a, probs + kk * 16, L::kProbLd);
        wmma::load_matrix_sync(b, v_tile + kk * 16 * L::kHalfLd + dt * 16, L::kHalfLd);
        wmma::mma_sync(o, a, b, o);
      }
      wmma::store_matrix_sync(outputs + dt * 16, o, L::kOutLd, wmma::mem_row_major);
    }
    __syncwarp();
  }

  for (int i = lane; i < 16 * D; i += 32) {
    const int r = i / D, d = i % D;
    const int64_t t = first_query + warp * 16 + r;
    if (t < num_queries) out[t * stride + head * D + d] = outputs[r * L::kOutLd + d] / row_sum[warp * 16 + r];
  }
}

template <int D>
void launch_tiles(const float* q, int64_t num_queries, const float* k, const float* v, int64_t num_keys, int64_t heads,
            float scale, float* out, void* stream) {
  constexpr size_t bytes = Layout<D>::bytes;
  static_assert(bytes <= 227 * 1024, "flash_attention: shared memory past Hopper's 227 KB");
  // Opting in to more than 48 KB of dynamic shared memory is per kernel and
  // idempotent; doing it on every launch costs a driver call, not a sync.
  check_cuda(cudaFuncSetAttribute(flash_attention_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(bytes)),
             "flash_attention: shared memory opt-in");
  const dim3 grid(static_cast<unsigned>((num_queries + kQueries - 1) / kQueries), static_cast<unsigned>(heads));
  flash_attention_kernel<D><<<grid, kThreads, bytes, as_stream(stream)>>>(q, num_queries, k, v, num_keys, heads,
                                                                          scale, out);
  check_launch("flash_attention");
}

}  // namespace

bool flash_attention_supports(int64_t head_dim) { return head_dim == 32 || head_dim == 64 || head_dim == 128; }

void flash_attention(const float* q, int64_t num_queries, const float* k, const float* v, int64_t num_keys,
                     int64_t heads, int64_t head_dim, float scale, float* out, void* stream) {
  if (!flash_attention_supports(head_dim))
    fail_unsupported("flash_attention: head_dim " + std::to_string(head_dim) + " (32, 64 or 128)");
  if (num_keys <= 0) fail_invalid("flash_attention: no keys to attend to");
  if (heads <= 0 || heads > 65535) fail_invalid("flash_attention: " + std::to_string(heads) + " heads");
  if (num_queries <= 0) return;
  switch (head_dim) {
    case 32: return launch_tiles<32>(q, num_queries, k, v, num_keys, heads, scale, out, stream);
    case 64: return launch_tiles<64>(q, num_queries, k, v, num_keys, heads, scale, out, stream);
    default: return launch_tiles<128>(q, num_queries, k, v, num_keys, heads, scale, out, stream);
  }
}

}  // namespace citadel::runtime::cuda
