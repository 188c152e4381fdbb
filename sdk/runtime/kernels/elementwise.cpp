// Embedding lookup, RMSNorm, SwiGLU, softmax, residual add.
#include "runtime/kernels/elementwise.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace citadel::runtime {

void embedding_lookup(const void* table, DType table_dtype, int64_t vocab, int64_t dim,
                      const int32_t* ids, int64_t num_ids, float* out) {
  for (int64_t t = 0; t < num_ids; ++t) {
    const int64_t id = ids[t];
    if (id < 0 || id >= vocab) {
      throw_invalid("embedding lookup: token id " + std::to_string(id) + " outside the vocabulary of " +
                    std::to_string(vocab));
    }
    float* row = out + t * dim;
    switch (table_dtype) {
      case DType::f32:
        std::memcpy(row, static_cast<const float*>(table) + id * dim, static_cast<size_t>(dim) * sizeof(float));
        break;
      case DType::f16:
        half_to_float(static_cast<const uint16_t*>(table) + id * dim, row, static_cast<size_t>(dim));
        break;
      case DType::bf16:
        bfloat16_to_float(static_cast<const uint16_t*>(table) + id * dim, row, static_cast<size_t>(dim));
        break;
      default:
        throw_unsupported("embedding lookup: table dtype " + std::string(dtype_name(table_dtype)) +
                          " is not supported");
    }
  }
}

void rms_norm(const float* x, int64_t rows, int64_t dim, const float* weight, float eps, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * dim;
    float* out = y + r * dim;
    float sum = 0.0f;
    for (int64_t i = 0; i < dim; ++i) sum += in[i] * in[i];
    const float inverse = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) out[i] = in[i] * inverse * weight[i];
  }
}

void layer_norm(const float* x, int64_t rows, int64_t dim, const float* weight, const float* bias,
                float eps, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * dim;
    float* out = y + r * dim;
    float mean = 0.0f;
    for (int64_t i = 0; i < dim; ++i) mean += in[i];
    mean /= static_cast<float>(dim);
    float variance = 0.0f;
    for (int64_t i = 0; i < dim; ++i) variance += (in[i] - mean) * (in[i] - mean);
    const float inverse = 1.0f / std::sqrt(variance / static_cast<float>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) {
      out[i] = (in[i] - mean) * inverse * (weight != nullptr ? weight[i] : 1.0f) + (bias != nullptr ? bias[i] : 0.0f);
    }
  }
}

void gelu(const float* x, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void gelu_tanh(const float* x, int64_t n, float* out) {
  constexpr float kSqrtTwoOverPi = 0.79788456080286536f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    out[i] = 0.5f * v * (1.0f + std::tanh(kSqrtTwoOverPi * (v + 0.044715f * v * v * v)));
  }
}

void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void softmax(float* x, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    if (n == 0) continue;
    const float max = *std::max_element(row, row + n);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      row[i] = std::exp(row[i] - max);
      sum += row[i];
    }
    const float inverse = 1.0f / sum;
    for (int64_t i = 0; i < n; ++i) row[i] *= inverse;
  }
}

void add_in_place(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace citadel::runtime
