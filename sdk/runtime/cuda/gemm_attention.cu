#include "runtime/cuda/gemm_attention.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch_helpers.cuh"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::runtime::cuda {
namespace {

using launch::as_stream;

constexpr int kSoftmaxThreads = 256;

constexpr int kRowValuesPerThread = 16;  // rows of up to 16 x threads keys stay in registers
constexpr int64_t kRegisterRowsFrom = 1024;  // from this many keys

// One block per (query t, batch entry): adds the relative-position bias
// (when tables are given) to the row of scaled scores and replaces it by its
// softmax. scores [entries][tokens queries][tokens keys]; entry e's query
// rows at q + e * q_batch_stride + t * row_stride. The bias terms (q · the
// table entry of each row and column offset) are one warp each, its lanes
// across the head dimension. kInRegisters: the row is read once and written
// once (each thread keeps its kRowValuesPerThread values); otherwise it is
// written with the bias, then read back twice.
template <bool kInRegisters>
__global__ void bias_softmax_kernel(float* scores, int64_t tokens, const float* q, int64_t q_batch_stride,
                                    int64_t row_stride, int64_t hd, const float* table_h, const float* table_w,
                                    int64_t grid_h, int64_t grid_w) {
  extern __shared__ float shared[];
  float* scratch = shared;        // [32]
  float* rel_h = scratch + 32;    // [grid_h]
  float* rel_w = rel_h + grid_h;  // [grid_w]
  const int64_t t = blockIdx.x, entry = blockIdx.y;
  float* row = scores + (entry * tokens + t) * tokens;
  const bool rel = table_h != nullptr;
  if (rel) {
    const float* q_row = q + entry * q_batch_stride + t * row_stride;
    const int64_t qy = t / grid_w, qx = t % grid_w;
    const int lane = threadIdx.x & 31;
    for (int64_t i = threadIdx.x >> 5; i < grid_h + grid_w; i += blockDim.x >> 5) {
      const bool is_row = i < grid_h;
      const float* table_entry =
          is_row ? table_h + (qy - i + grid_h - 1) * hd : table_w + (qx - (i - grid_h) + grid_w - 1) * hd;
      float acc = 0.0f;
      for (int64_t d = lane; d < hd; d += 32) acc += q_row[d] * table_entry[d];
      acc = launch::warp_sum(acc);
      if (lane == 0) (is_row ? rel_h[i] : rel_w[i - grid_h]) = acc;
    }
    __syncthreads();
  }
  if constexpr (kInRegisters) {
    const int n = static_cast<int>(tokens), columns = static_cast<int>(grid_w);
    float values[kRowValuesPerThread];
    float top = -INFINITY;
#pragma unroll
    for (int u = 0; u < kRowValuesPerThread; ++u) {
      const int j = static_cast<int>(threadIdx.x) + u * static_cast<int>(blockDim.x);
      values[u] = -INFINITY;
      if (j < n) {
        values[u] = row[j] + (rel ? rel_h[j / columns] + rel_w[j % columns] : 0.0f);
        top = fmaxf(top, values[u]);
      }
    }
    top = launch::block_reduce<true>(top, scratch);
    float total = 0.0f;
#pragma unroll
    for (int u = 0; u < kRowValuesPerThread; ++u) {
      const int j = static_cast<int>(threadIdx.x) + u * static_cast<int>(blockDim.x);
      if (j < n) {
        values[u] = expf(values[u] - top);
        total += values[u];
      }
    }
    const float inverse = 1.0f / launch::block_reduce<false>(total, scratch);
#pragma unroll
    for (int u = 0; u < kRowValuesPerThread; ++u) {
      const int j = static_cast<int>(threadIdx.x) + u * static_cast<int>(blockDim.x);
      if (j < n) row[j] = values[u] * inverse;
    }
  } else {
    float top = -INFINITY;
    for (int64_t j = threadIdx.x; j < tokens; j += blockDim.x) {
      const float value = row[j] + (rel ? rel_h[j / grid_w] + rel_w[j % grid_w] : 0.0f);
      row[j] = value;
      top = fmaxf(top, value);
    }
    launch::block_softmax_tail(row, tokens, top, scratch);
  }
}

}  // namespace

void gemm_attention(CublasContext& context, const float* q, const float* k, const float* v, int64_t row_stride,
                    int64_t sequences, int64_t tokens, int64_t heads, int64_t head_dim, float scale, float* out,
                    const float* table_h, const float* table_w, int64_t grid_h, int64_t grid_w, float* scores,
                    int64_t scores_floats, void* stream) {
  if (sequences <= 0 || tokens <= 0 || heads <= 0) return;
  const int64_t per_head = gemm_attention_head_floats(tokens);
  if (scores_floats < per_head)
    fail_invalid("gemm_attention: scratch of " + std::to_string(scores_floats) + " floats is below one head's " +
                  std::to_string(per_head));
  if (table_h != nullptr && (table_w == nullptr || grid_h * grid_w != tokens))
    fail_invalid("gemm_attention: relative-position grid " + std::to_string(grid_h) + "x" + std::to_string(grid_w) +
                  " does not cover " + std::to_string(tokens) + " tokens");
  if (tokens > INT32_MAX / 2 || row_stride > INT32_MAX) fail_invalid("gemm_attention: sequence too long");
  auto handle = static_cast<cublasHandle_t>(context.handle());
  check_cublas(cublasSetStream(handle, as_stream(stream)), "cublasSetStream");
  const int n = static_cast<int>(tokens), d = static_cast<int>(head_dim), ld = static_cast<int>(row_stride);
  const int out_ld = static_cast<int>(heads * head_dim);
  const size_t shared = (32 + (table_h ? grid_h + grid_w : 0)) * sizeof(float);
  // Threads a row: 256, or more for rows past 4,096 keys, so that rows of
  // up to 16 x 1,024 keys stay in registers. Short rows (ViTDet windows,
  // CLIP) take the loop: its kernel needs half the registers, and at 196
  // or 257 keys a row the blocks resident per SM count more than the extra
  // passes over the row (H200, a launch: CLIP's 257-key rows 23 us in
  // registers, 11 in the loop; the windows' 196-key rows 48 and 29; SAM's
  // global 4,096-key rows 525-535 in registers, 700 before).
  const int softmax_threads = static_cast<int>(
      std::clamp<int64_t>((tokens + kRowValuesPerThread - 1) / kRowValuesPerThread + 31, kSoftmaxThreads, 1024) / 32 * 32);
  const bool in_registers = tokens >= kRegisterRowsFrom && tokens <= int64_t{softmax_threads} * kRowValuesPerThread;
  const float one = 1.0f, zero = 0.0f;
  // `count` (sequence, head) pairs whose q/k/v start `io_stride` floats
  // apart and whose outputs start `out_stride` apart, one batched GEMM each.
  auto run_batch = [&](const float* q0, const float* k0, const float* v0, float* out0, int64_t io_stride,
                       int64_t out_stride, int count) {
    // Column-major: scores_e (keys x queries, ld tokens) = K_eᵀᵀ · Q_eᵀ,
    // i.e. row t of the row-major [queries, keys] matrix is query t.
    check_cublas(cublasGemmStridedBatchedEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, n, d, &scale, k0, CUDA_R_32F, ld,
                                            io_stride, q0, CUDA_R_32F, ld, io_stride, &zero, scores, CUDA_R_32F, n,
                                            per_head, count, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmStridedBatchedEx (attention scores)");
    const dim3 grid(static_cast<unsigned>(tokens), static_cast<unsigned>(count));
    if (in_registers) {
      bias_softmax_kernel<true><<<grid, softmax_threads, shared, as_stream(stream)>>>(
          scores, tokens, q0, io_stride, row_stride, head_dim, table_h, table_w, grid_h, grid_w);
    } else {
      bias_softmax_kernel<false><<<grid, softmax_threads, shared, as_stream(stream)>>>(
          scores, tokens, q0, io_stride, row_stride, head_dim, table_h, table_w, grid_h, grid_w);
    }
    check_launch("gemm_attention softmax");
    // Column-major: out_eᵀ (head_dim x queries, ld heads * head_dim) = V_eᵀ · P_eᵀ.
    check_cublas(cublasGemmStridedBatchedEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, d, n, n, &one, v0, CUDA_R_32F, ld,
                                            io_stride, scores, CUDA_R_32F, n, per_head, &zero, out0, CUDA_R_32F,
                                            out_ld, out_stride, count, CUBLAS_COMPUTE_32F_FAST_TF32,
                                            CUBLAS_GEMM_DEFAULT),
                 "cublasGemmStridedBatchedEx (attention values)");
  };
  const int64_t fits = scores_floats / per_head;
  if (sequences == 1) {
    // One long sequence: batches of heads (q/k/v of head h at h * head_dim).
    for (int64_t first = 0; first < heads; first += fits) {
      const int count = static_cast<int>(std::min(fits, heads - first));
      const int64_t at = first * head_dim;
      run_batch(q + at, k + at, v + at, out + at, head_dim, head_dim, count);
    }
    return;
  }
  // Many short sequences (ViTDet windows): per head, batches of sequences.
  const int64_t sequence_stride = tokens * row_stride, out_sequence_stride = tokens * heads * head_dim;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t first = 0; first < sequences; first += fits) {
      const int count = static_cast<int>(std::min(fits, sequences - first));
      const int64_t at = first * sequence_stride + h * head_dim;
      run_batch(q + at, k + at, v + at, out + first * out_sequence_stride + h * head_dim, sequence_stride,
                out_sequence_stride, count);
    }
  }
}

}  // namespace citadel::runtime::cuda
