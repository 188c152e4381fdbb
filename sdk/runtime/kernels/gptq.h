// GPTQ int4/int8 linear layers on the CPU, in the exact GPTQ (AutoGPTQ /
// GPTQModel / transformers) packing:
//   qweight i32 [in*bits/32, out]: 32/bits values per int32 along the input
//           dim, lowest bits first (input i is row i/(32/bits), shift
//           (i%(32/bits))*bits);
//   qzeros  i32 [groups, out*bits/32]: packed the same way along the output dim;
//   scales  f16 [groups, out];
//   g_idx   i32 [in] (act-order; absent: group = i / group_size; group_size
//           -1: one group).
// Zero convention: v1 ("gptq", stored zero = z - 1) dequantizes as
// (q - (stored + 1)) * s; v2 ("gptq_v2") as (q - stored) * s.
// GptqLinear validates the shapes (errors name the layer), precomputes f32
// scales and scaled zeros, and runs y = x · dequant(W) (+ bias) with fp32
// accumulation. forward() works column tile by column tile (parallel over
// tiles), unpacking kTileDepth input rows at a time into a small f32 tile
// that every token then uses, so a batch costs little more than one token;
// one token with non-act-order groups skips the tile and scales per group.
// Used by the llm-gptq plugin and as the reference for CUDA.
#pragma once

#include "runtime/core/thread_pool.h"

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::runtime {

enum class GptqZeroFormat { v1, v2 };

// Non-owning view of one layer's GPTQ tensors (e.g. safetensors views).
struct GptqTensors {
  int bits = 4;                   // 4 or 8
  int64_t in_features = 0;
  int64_t out_features = 0;
  int64_t group_size = 128;       // -1: one group over the whole input
  const int32_t* qweight = nullptr;
  const int32_t* qzeros = nullptr;
  const uint16_t* scales = nullptr;  // f16 bits
  const int32_t* g_idx = nullptr;    // may be null
  GptqZeroFormat zero_format = GptqZeroFormat::v1;
};

// Number of groups for a layer: ceil(in / group_size), or 1 for group_size -1.
int64_t gptq_num_groups(int64_t in_features, int64_t group_size);

class GptqLinear {
 public:
  // Keeps the pointers to qweight and g_idx (they must outlive this object);
  // copies scales and zeros into f32 tables. `name` (e.g.
  // "model.layers.0.self_attn.q_proj") is used in error messages. Throws for
  // unsupported bits, in/out not multiples of the packing, or g_idx entries
  // out of range.
  GptqLinear(const GptqTensors& tensors, std::string name);

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  int bits() const { return bits_; }
  const std::string& name() const { return name_; }

  // y[m, out] = x[m, in] · dequant(W)[in, out] (+ bias[out]); bias may be null.
  void forward(ThreadPool& pool, const float* x, int64_t m, float* y,
               const float* bias = nullptr) const;
  // The dequantized weight as row-major [out, in] floats (HF's W layout).
  std::vector<float> dequantize() const;

 private:
  // Expands columns [col0, col0 + kTileColumns) (those >= out as zeros) of
  // input rows [row_begin, row_end) to f32 as tile[row - row_begin][kTileColumns].
  void unpack_tile(int64_t col0, int64_t row_begin, int64_t row_end, float* tile) const;
  // One token, contiguous groups: y[col0 .. col0 + kTileColumns) (before bias)
  // = sum_g s[g] * (x_g . q_g) - zs[g] * sum(x_g), into out[kTileColumns].
  void single_token_tile(const float* x, const float* group_sums, int64_t col0, float* out) const;

  std::string name_;
  int bits_;
  int64_t in_, out_, num_groups_;
  const int32_t* qweight_;
  std::vector<int32_t> group_of_input_;  // [in]
  std::vector<float> scales_;            // [groups, out]
  std::vector<float> scaled_zeros_;      // [groups, out]: zero * scale
  // Rows per group when group g is exactly rows [g*n, (g+1)*n) with n a
  // multiple of the packing (no act-order shuffle); 0 otherwise. Enables the
  // single-token path that scales once per group instead of per weight.
  int64_t contiguous_group_rows_ = 0;
};

}  // namespace citadel::runtime
