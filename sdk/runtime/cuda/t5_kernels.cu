// T5 relative-position attention and gated-GELU activation (see t5_kernels.h).
// Row-major scores S[h][i][j] are column-major Sᵀ: cuBLAS computes
// Sᵀ_h = K_h Q_hᵀ (K as A transposed, Q as B) and Outᵀ_h = V_hᵀ P_hᵀ.
#include "runtime/cuda/t5_kernels.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch_helpers.cuh"

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::runtime::cuda {
namespace {

using launch::as_stream;
using launch::grid_for;
using launch::kBlock;

constexpr int kSoftmaxThreads = 256;

// One block per (query i, head first_head + blockIdx.y): adds the head's
// relative bias to the row of scores and replaces it by its softmax.
__global__ void relative_softmax_kernel(float* scores, int64_t tokens, int64_t heads, int64_t first_head,
                                        const float* relative_bias, const int32_t* buckets) {
  __shared__ float scratch[32];
  const int64_t i = blockIdx.x, local = blockIdx.y, head = first_head + local;
  float* row = scores + (local * tokens + i) * tokens;
  const int32_t* bucket_of = buckets + (tokens - 1 - i);  // bucket_of[j]: the bucket of j - i
  float top = -INFINITY;
  for (int64_t j = threadIdx.x; j < tokens; j += blockDim.x) {
    const float value = row[j] + relative_bias[static_cast<int64_t>(bucket_of[j]) * heads + head];
    row[j] = value;
    top = fmaxf(top, value);
  }
  launch::block_softmax_tail(row, tokens, top, scratch);
}

__global__ void gated_gelu_kernel(const float* hidden, int64_t rows, int64_t ff, __nv_bfloat16* high,
                                  __nv_bfloat16* low) {
  const int64_t n = rows * ff;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = e / ff, c = e - r * ff;
    const float gate = hidden[r * 2 * ff + c], up = hidden[r * 2 * ff + ff + c];
    const float gelu = 0.5f * gate * (1.0f + tanhf(0.79788456080286536f * (gate + 0.044715f * gate * gate * gate)));
    const float g = gelu * up;
    const __nv_bfloat16 h = __float2bfloat16_rn(g);
    high[e] = h;
    if (low != nullptr) low[e] = __float2bfloat16_rn(g - __bfloat162float(h));
  }
}

bool fits_int(int64_t value) { return value > 0 && value <= 2147483647; }

}  // namespace

void t5_attention(CublasContext& context, const float* q, const float* k, const float* v, int64_t row_stride,
                  int64_t tokens, int64_t heads, int64_t head_dim, const float* relative_bias,
                  const int32_t* buckets, float* out, float* scores, int64_t scores_floats, void* stream) {
  if (tokens <= 0 || heads <= 0) return;
  const int64_t per_head = t5_attention_head_floats(tokens);
  if (!fits_int(tokens) || !fits_int(head_dim) || !fits_int(row_stride) || !fits_int(heads * head_dim) ||
      !fits_int(per_head) || row_stride < heads * head_dim) {
    fail_invalid("cuda t5_attention: shape out of range (tokens " + std::to_string(tokens) + ", heads " +
                 std::to_string(heads) + ", head_dim " + std::to_string(head_dim) + ", row stride " +
                 std::to_string(row_stride) + ")");
  }
  if (scores_floats < per_head) {
    fail_invalid("cuda t5_attention: " + std::to_string(scores_floats) + " scratch floats, " +
                 std::to_string(per_head) + " needed for " + std::to_string(tokens) + " tokens");
  }
  auto handle = static_cast<cublasHandle_t>(context.handle());
  check_cublas(cublasSetStream(handle, as_stream(stream)), "cublasSetStream");
  const int64_t batch = std::min<int64_t>({heads, scores_floats / per_head, 65535});
  const int n = static_cast<int>(tokens), d = static_cast<int>(head_dim), ld = static_cast<int>(row_stride);
  const int out_ld = static_cast<int>(heads * head_dim);
  const float one = 1.0f, zero = 0.0f;
  for (int64_t first = 0; first < heads; first += batch) {
    const int count = static_cast<int>(std::min(batch, heads - first));
    const int64_t offset = first * head_dim;
    check_cublas(cublasGemmStridedBatchedEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, n, d, &one, k + offset, CUDA_R_32F,
                                            ld, head_dim, q + offset, CUDA_R_32F, ld, head_dim, &zero, scores,
                                            CUDA_R_32F, n, per_head, count, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmStridedBatchedEx (t5 attention scores)");
    relative_softmax_kernel<<<dim3(static_cast<unsigned>(tokens), static_cast<unsigned>(count)), kSoftmaxThreads, 0,
                              as_stream(stream)>>>(scores, tokens, heads, first, relative_bias, buckets);
    check_launch("t5 relative softmax");
    check_cublas(cublasGemmStridedBatchedEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, d, n, n, &one, v + offset, CUDA_R_32F,
                                            ld, head_dim, scores, CUDA_R_32F, n, per_head, &zero, out + offset,
                                            CUDA_R_32F, out_ld, head_dim, count, CUBLAS_COMPUTE_32F,
                                            CUBLAS_GEMM_DEFAULT),
                 "cublasGemmStridedBatchedEx (t5 attention P·V)");
  }
}

void gated_gelu_tanh_bf16(const float* hidden, int64_t rows, int64_t ff, uint16_t* high, uint16_t* low,
                          void* stream) {
  if (rows <= 0 || ff <= 0) return;
  gated_gelu_kernel<<<grid_for(rows * ff), kBlock, 0, as_stream(stream)>>>(
      hidden, rows, ff, reinterpret_cast<__nv_bfloat16*>(high), reinterpret_cast<__nv_bfloat16*>(low));
  check_launch("gated_gelu_tanh_bf16");
}

}  // namespace citadel::runtime::cuda
