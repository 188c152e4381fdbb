// LinearEpilogue: what a (possibly fused) linear layer does with its result
// y[m, c] (c over the layer's columns, bias already added). Shared by the
// int4 GEMV (applied in registers after the split-K reduction) and the
// dequantize + cuBLAS path (applied by linear_epilogue_apply on a scratch
// result). Plain C++; no Boost.
//
//   store:    columns [segment_begin[s], segment_begin[s+1]) go to out[s] as
//             a row-major [m, width_s] matrix (QKV fused: three segments).
//   add:      as store but out[s][..] += value (residual add in o/down).
//   silu_mul: the columns come in tiles of 2 * kSiluTile: the first
//             kSiluTile are gate columns g0 .. g0+63, the next kSiluTile the
//             up columns of the same indices; out[0][m, g] = silu(gate) * up,
//             a row-major [m, columns / 2] matrix (gate + up fused).
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

struct LinearEpilogue {
  enum class Kind : int32_t { store = 0, add = 1, silu_mul = 2 };
  static constexpr int kMaxSegments = 3;
  static constexpr int64_t kSiluTile = 64;

  Kind kind = Kind::store;
  int32_t segments = 1;
  int64_t segment_begin[kMaxSegments + 1] = {0, 0, 0, 0};  // [segments] = total columns
  float* out[kMaxSegments] = {nullptr, nullptr, nullptr};

  // One plain output: y[m, columns].
  static LinearEpilogue single(float* y, int64_t columns, Kind kind = Kind::store) {
    LinearEpilogue e;
    e.kind = kind;
    e.segment_begin[1] = columns;
    e.out[0] = y;
    return e;
  }
};

// Applies `epilogue` to a dense result y[m, columns] (device, f32).
void linear_epilogue_apply(const float* y, int64_t m, int64_t columns, const LinearEpilogue& epilogue,
                           void* stream);

}  // namespace citadel::runtime::cuda
