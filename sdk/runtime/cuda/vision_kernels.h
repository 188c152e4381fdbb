// CUDA kernels of vision encoders on f32 device activations, the GPU
// counterparts of runtime/kernels' CPU versions: LayerNorm over rows, exact
// GELU and quick_gelu, channels-last im2col (columns ordered in_c, ky, kx as a
// torch conv weight, so a convolution is im2col + matmul_f16), ViTDet window
// packing (zero-padded bottom/right) and the residual add back, bidirectional
// attention with the optional decomposed 2-D relative-position bias, and
// column concatenation. Each takes device pointers and a cudaStream_t as
// void* (null: default stream), queues its kernel and returns; bad shapes and
// launch errors throw RuntimeError. Called by the deepseek-ocr CUDA DeepEncoder
// and the [cuda] tests.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

// y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * weight + bias (biased
// variance, as torch.nn.LayerNorm); y may equal x; bias may be null.
void layer_norm(const float* x, int64_t rows, int64_t dim, const float* weight, const float* bias, float eps, float* y,
                void* stream);

// out[i] = 0.5 x (1 + erf(x / sqrt 2)) and out[i] = x sigmoid(1.702 x); out may equal x.
void gelu(const float* x, int64_t n, float* out, void* stream);
void quick_gelu(const float* x, int64_t n, float* out, void* stream);

// x [in_h, in_w, in_c] -> columns [out_h * out_w, in_c * kernel * kernel]
// (zero padding), out_h = (in_h + 2 padding - kernel) / stride + 1.
void im2col_nhwc(const float* x, int64_t in_h, int64_t in_w, int64_t in_c, int64_t kernel, int64_t stride,
                 int64_t padding, float* columns, void* stream);

// x [grid, grid, channels] -> packed [windows, window², channels], windows
// row-major over the grid zero-padded to a multiple of `window`.
void window_pack(const float* x, int64_t grid, int64_t channels, int64_t window, float* packed, void* stream);
// x[y, x', :] += packed[the window token of (y, x'), :] for the grid's tokens
// (padded tokens dropped).
void window_unpack_add(const float* packed, int64_t grid, int64_t channels, int64_t window, float* x, void* stream);

// As runtime::dense_attention (runtime/kernels/dense_attention.h): for each of
// `sequences` sequences and each head, out = softmax(scale q kᵀ + bias) v,
// q/k/v rows at ptr[(s * tokens + t) * row_stride + head * head_dim]; out is
// [sequences * tokens, heads * head_dim]. table_h/table_w (device,
// [2 grid - 1, head_dim]) may be null (no bias); otherwise grid_h * grid_w ==
// tokens. head_dim must divide 128; tokens up to 24,000.
void dense_attention(const float* q, const float* k, const float* v, int64_t row_stride, int64_t sequences,
                     int64_t tokens, int64_t heads, int64_t head_dim, float scale, float* out, const float* table_h,
                     const float* table_w, int64_t grid_h, int64_t grid_w, void* stream);

// out[r, :] = [a[r, 0..a_cols), b[r, 0..b_cols)] over `rows` contiguous rows.
void concat_columns(const float* a, int64_t a_cols, const float* b, int64_t b_cols, int64_t rows, float* out,
                    void* stream);

}  // namespace citadel::runtime::cuda
