// Device side of LinearEpilogue (linear_epilogue.h): store one value of a
// linear layer's result at (row, column). Included by the .cu files that end
// a linear layer (int4_gemv.cu, linear_epilogue.cu). SiLU as the CPU's
// runtime::silu_mul: x / (1 + exp(-x)) with the accurate expf.
#pragma once

#include "runtime/cuda/linear_epilogue.h"

namespace citadel::runtime::cuda {

__device__ __forceinline__ void epilogue_store(const LinearEpilogue& e, int64_t row, int64_t column, float value) {
  int s = 0;
#pragma unroll
  for (int k = 1; k < LinearEpilogue::kMaxSegments; ++k) {
    if (k < e.segments && column >= e.segment_begin[k]) s = k;
  }
  const int64_t width = e.segment_begin[s + 1] - e.segment_begin[s];
  float* p = e.out[s] + row * width + (column - e.segment_begin[s]);
  if (e.kind == LinearEpilogue::Kind::add) {
    *p += value;
  } else {
    *p = value;
  }
}

// silu_mul: `gate` and `up` are the values of columns (tile, c) and
// (tile, c + kSiluTile); writes out[0][row, tile * kSiluTile + c].
__device__ __forceinline__ void epilogue_silu_mul(const LinearEpilogue& e, int64_t row, int64_t half_columns,
                                                  int64_t index, float gate, float up) {
  e.out[0][row * half_columns + index] = gate / (1.0f + expf(-gate)) * up;
}

}  // namespace citadel::runtime::cuda
