// Vision encoder kernels: one block per row for LayerNorm, one block per
// (query, head, sequence) for attention (a warp per key for the logits, kept
// in shared memory; block-wide max/sum; the weighted V sum split over thread
// groups), grid-stride loops for the rest. Accurate expf/erff (no fast-math) to follow the CPU kernels.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch_helpers.cuh"
#include "runtime/cuda/vision_kernels.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace citadel::runtime::cuda {
namespace {

using launch::as_stream;
using launch::block_reduce;
using launch::grid_for;
using launch::kBlock;
using launch::warp_sum;

constexpr int kAttentionThreads = 128;
constexpr int64_t kMaxAttentionTokens = 24000;

__global__ void layer_norm_kernel(const float* x, int64_t dim, const float* weight, const float* bias, float eps,
                                  float* y) {
  __shared__ float scratch[32];
  const float* in = x + static_cast<int64_t>(blockIdx.x) * dim;
  float* out = y + static_cast<int64_t>(blockIdx.x) * dim;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += in[i];
  const float mean = block_reduce<false>(sum, scratch) / static_cast<float>(dim);
  float squares = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) squares += (in[i] - mean) * (in[i] - mean);
  const float inverse = 1.0f / sqrtf(block_reduce<false>(squares, scratch) / static_cast<float>(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    out[i] = (in[i] - mean) * inverse * weight[i] + (bias != nullptr ? bias[i] : 0.0f);
  }
}

__global__ void gelu_kernel(const float* x, int64_t n, float* out, bool quick) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = x[i];
    out[i] = quick ? v / (1.0f + expf(-1.702f * v)) : 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
  }
}

__global__ void im2col_kernel(const float* x, int64_t in_h, int64_t in_w, int64_t in_c, int64_t k, int64_t stride,
                              int64_t padding, int64_t out_w, int64_t total, float* columns) {
  const int64_t depth = in_c * k * k;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t p = i / depth, r = i % depth;
    const int64_t c = r / (k * k), ky = (r / k) % k, kx = r % k;
    const int64_t iy = (p / out_w) * stride - padding + ky, ix = (p % out_w) * stride - padding + kx;
    columns[i] = (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) ? x[(iy * in_w + ix) * in_c + c] : 0.0f;
  }
}

// Over every packed element (window, token, channel): the grid position, or -1 when padded.
__device__ __forceinline__ int64_t window_source(int64_t i, int64_t grid, int64_t channels, int64_t window,
                                                 int64_t per_side) {
  const int64_t c = i % channels, t = (i / channels) % (window * window), w = i / (channels * window * window);
  const int64_t y = (w / per_side) * window + t / window, x = (w % per_side) * window + t % window;
  return (y < grid && x < grid) ? (y * grid + x) * channels + c : -1;
}

__global__ void window_pack_kernel(const float* x, int64_t grid, int64_t channels, int64_t window, int64_t per_side,
                                   int64_t total, float* packed) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t src = window_source(i, grid, channels, window, per_side);
    packed[i] = src >= 0 ? x[src] : 0.0f;
  }
}

__global__ void window_unpack_add_kernel(const float* packed, int64_t grid, int64_t channels, int64_t window,
                                         int64_t per_side, int64_t total, float* x) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t dst = window_source(i, grid, channels, window, per_side);
    if (dst >= 0) x[dst] += packed[i];  // each grid element has exactly one packed source
  }
}

__global__ void attention_kernel(const float* q, const float* k, const float* v, int64_t row_stride, int64_t tokens,
                                 int64_t heads, int64_t hd, float scale, float* out, const float* table_h,
                                 const float* table_w, int64_t grid_h, int64_t grid_w) {
  extern __shared__ float shared[];
  float* logits = shared;            // [tokens]
  float* qs = logits + tokens;       // [hd]
  float* rel_h = qs + hd;            // [grid_h]
  float* rel_w = rel_h + grid_h;     // [grid_w]
  float* partial = rel_w + grid_w;   // [blockDim]
  float* scratch = partial + blockDim.x;  // [32]
  const int64_t t = blockIdx.x, h = blockIdx.y, s = blockIdx.z;
  const float* q_row = q + (s * tokens + t) * row_stride + h * hd;
  for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) qs[d] = q_row[d];
  __syncthreads();
  const bool rel = table_h != nullptr;
  if (rel) {
    const int64_t qy = t / grid_w, qx = t % grid_w;
    for (int64_t i = threadIdx.x; i < grid_h + grid_w; i += blockDim.x) {
      const bool row = i < grid_h;
      const float* entry = row ? table_h + (qy - i + grid_h - 1) * hd : table_w + (qx - (i - grid_h) + grid_w - 1) * hd;
      float acc = 0.0f;
      for (int64_t d = 0; d < hd; ++d) acc += qs[d] * entry[d];
      (row ? rel_h[i] : rel_w[i - grid_h]) = acc;
    }
    __syncthreads();
  }
  // One warp per key: the lanes read the key row coalesced and reduce.
  const int64_t lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int64_t j = warp; j < tokens; j += warps) {
    const float* k_row = k + (s * tokens + j) * row_stride + h * hd;
    float acc = 0.0f;
    for (int64_t d = lane; d < hd; d += 32) acc += qs[d] * k_row[d];
    acc = warp_sum(acc);
    if (lane == 0) logits[j] = acc * scale + (rel ? rel_h[j / grid_w] + rel_w[j % grid_w] : 0.0f);
  }
  __syncthreads();
  float top = -INFINITY;
  for (int64_t j = threadIdx.x; j < tokens; j += blockDim.x) top = fmaxf(top, logits[j]);
  top = block_reduce<true>(top, scratch);
  float total = 0.0f;
  for (int64_t j = threadIdx.x; j < tokens; j += blockDim.x) {
    const float e = expf(logits[j] - top);
    logits[j] = e;
    total += e;
  }
  total = block_reduce<false>(total, scratch);  // its barriers also publish logits
  const int64_t parts = blockDim.x / hd, d = threadIdx.x % hd, part = threadIdx.x / hd;
  float acc = 0.0f;
  for (int64_t j = part; j < tokens; j += parts) acc += logits[j] * v[(s * tokens + j) * row_stride + h * hd + d];
  partial[threadIdx.x] = acc;
  __syncthreads();
  if (part == 0) {
    for (int64_t p = 1; p < parts; ++p) acc += partial[p * hd + d];
    out[(s * tokens + t) * heads * hd + h * hd + d] = acc / total;
  }
}

__global__ void concat_kernel(const float* a, int64_t a_cols, const float* b, int64_t b_cols, int64_t total,
                              float* out) {
  const int64_t cols = a_cols + b_cols;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, c = i % cols;
    out[i] = c < a_cols ? a[r * a_cols + c] : b[r * b_cols + c - a_cols];
  }
}

}  // namespace

void layer_norm(const float* x, int64_t rows, int64_t dim, const float* weight, const float* bias, float eps, float* y,
                void* stream) {
  if (rows <= 0) return;
  layer_norm_kernel<<<static_cast<unsigned>(rows), kBlock, 0, as_stream(stream)>>>(x, dim, weight, bias, eps, y);
  check_launch("layer_norm_kernel");
}

void gelu(const float* x, int64_t n, float* out, void* stream) {
  if (n <= 0) return;
  gelu_kernel<<<grid_for(n), kBlock, 0, as_stream(stream)>>>(x, n, out, false);
  check_launch("gelu_kernel");
}

void quick_gelu(const float* x, int64_t n, float* out, void* stream) {
  if (n <= 0) return;
  gelu_kernel<<<grid_for(n), kBlock, 0, as_stream(stream)>>>(x, n, out, true);
  check_launch("gelu_kernel (quick)");
}

void im2col_nhwc(const float* x, int64_t in_h, int64_t in_w, int64_t in_c, int64_t kernel, int64_t stride,
                 int64_t padding, float* columns, void* stream) {
  const int64_t out_h = (in_h + 2 * padding - kernel) / stride + 1, out_w = (in_w + 2 * padding - kernel) / stride + 1;
  if (in_h <= 0 || in_w <= 0 || in_c <= 0 || kernel <= 0 || stride <= 0 || out_h <= 0 || out_w <= 0) {
    fail_invalid("cuda im2col_nhwc: invalid shape (input " + std::to_string(in_h) + "x" + std::to_string(in_w) +
                 ", kernel " + std::to_string(kernel) + ")");
  }
  const int64_t total = out_h * out_w * in_c * kernel * kernel;
  im2col_kernel<<<grid_for(total), kBlock, 0, as_stream(stream)>>>(x, in_h, in_w, in_c, kernel, stride, padding,
                                                                   out_w, total, columns);
  check_launch("im2col_kernel");
}

void window_pack(const float* x, int64_t grid, int64_t channels, int64_t window, float* packed, void* stream) {
  const int64_t per_side = (grid + window - 1) / window, total = per_side * per_side * window * window * channels;
  if (total <= 0) return;
  window_pack_kernel<<<grid_for(total), kBlock, 0, as_stream(stream)>>>(x, grid, channels, window, per_side, total,
                                                                        packed);
  check_launch("window_pack_kernel");
}

void window_unpack_add(const float* packed, int64_t grid, int64_t channels, int64_t window, float* x, void* stream) {
  const int64_t per_side = (grid + window - 1) / window, total = per_side * per_side * window * window * channels;
  if (total <= 0) return;
  window_unpack_add_kernel<<<grid_for(total), kBlock, 0, as_stream(stream)>>>(packed, grid, channels, window, per_side,
                                                                              total, x);
  check_launch("window_unpack_add_kernel");
}

void dense_attention(const float* q, const float* k, const float* v, int64_t row_stride, int64_t sequences,
                     int64_t tokens, int64_t heads, int64_t head_dim, float scale, float* out, const float* table_h,
                     const float* table_w, int64_t grid_h, int64_t grid_w, void* stream) {
  if (sequences <= 0 || tokens <= 0) return;
  if (head_dim <= 0 || kAttentionThreads % head_dim != 0 || tokens > kMaxAttentionTokens || heads > 65535 ||
      sequences > 65535) {
    fail_unsupported("cuda dense_attention: head_dim " + std::to_string(head_dim) + " (must divide 128), tokens " +
                     std::to_string(tokens) + " (at most 24000)");
  }
  if (table_h != nullptr && grid_h * grid_w != tokens) {
    fail_invalid("cuda dense_attention: relative-position grid " + std::to_string(grid_h) + "x" +
                 std::to_string(grid_w) + " does not hold " + std::to_string(tokens) + " tokens");
  }
  const int64_t gh = table_h != nullptr ? grid_h : 0, gw = table_h != nullptr ? grid_w : 0;
  const size_t shared = static_cast<size_t>(tokens + head_dim + gh + gw + kAttentionThreads + 32) * sizeof(float);
  if (shared > 48 * 1024) {
    check_cuda(cudaFuncSetAttribute(attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(shared)),
               "cudaFuncSetAttribute (attention shared memory)");
  }
  const dim3 blocks(static_cast<unsigned>(tokens), static_cast<unsigned>(heads), static_cast<unsigned>(sequences));
  attention_kernel<<<blocks, kAttentionThreads, shared, as_stream(stream)>>>(q, k, v, row_stride, tokens, heads,
                                                                             head_dim, scale, out, table_h, table_w,
                                                                             gh, gw);
  check_launch("attention_kernel");
}

void concat_columns(const float* a, int64_t a_cols, const float* b, int64_t b_cols, int64_t rows, float* out,
                    void* stream) {
  const int64_t total = rows * (a_cols + b_cols);
  if (total <= 0) return;
  concat_kernel<<<grid_for(total), kBlock, 0, as_stream(stream)>>>(a, a_cols, b, b_cols, total, out);
  check_launch("concat_kernel");
}

}  // namespace citadel::runtime::cuda
