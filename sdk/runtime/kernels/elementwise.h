// Small CPU kernels of transformer layers, fp32 throughout: embedding lookup,
// RMSNorm, LayerNorm, SiLU·mul (SwiGLU), GELU (erf and tanh forms), softmax,
// residual add. Used by model plugins; the reference for the CUDA versions.
#pragma once

#include "runtime/core/dtype.h"

#include <cstdint>

namespace citadel::runtime {

// out[i, :] = table[ids[i], :] converted to f32; table is [vocab, dim] of
// f32/f16/bf16. Throws RuntimeError for an id outside [0, vocab).
void embedding_lookup(const void* table, DType table_dtype, int64_t vocab, int64_t dim,
                      const int32_t* ids, int64_t num_ids, float* out);

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) * weight[:], over `rows`
// rows of `dim`. y may equal x. For Qwen3's q/k norm, call with rows =
// tokens * heads and dim = head_dim.
void rms_norm(const float* x, int64_t rows, int64_t dim, const float* weight, float eps,
              float* y);

// y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * weight + bias (biased
// variance, as torch.nn.LayerNorm); weight and bias may be null (no affine
// part, elementwise_affine=False). y may equal x.
void layer_norm(const float* x, int64_t rows, int64_t dim, const float* weight, const float* bias,
                float eps, float* y);

// out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + e^-g). out may equal gate or up.
void silu_mul(const float* gate, const float* up, int64_t n, float* out);

// GELU: the exact erf form (torch's default) and the tanh approximation
// ("gelu_pytorch_tanh"). out may equal x.
void gelu(const float* x, int64_t n, float* out);
void gelu_tanh(const float* x, int64_t n, float* out);

// Numerically stable softmax over each of `rows` rows of `n`, in place.
void softmax(float* x, int64_t rows, int64_t n);

// y[i] += x[i].
void add_in_place(float* y, const float* x, int64_t n);

}  // namespace citadel::runtime
