// Array forms of the fp16/bf16 conversions.
#include "runtime/core/half.h"

namespace citadel::runtime {

// The conversions go in blocks of 16 with a constant inner trip count so that
// GCC vectorizes them at -O2.
void half_to_float(const uint16_t* __restrict in, float* __restrict out, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (size_t j = 0; j < 16; ++j) out[i + j] = half_to_float(in[i + j]);
  }
  for (; i < n; ++i) out[i] = half_to_float(in[i]);
}
void float_to_half(const float* in, uint16_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = float_to_half(in[i]);
}
void bfloat16_to_float(const uint16_t* __restrict in, float* __restrict out, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (size_t j = 0; j < 16; ++j) out[i + j] = bfloat16_to_float(in[i + j]);
  }
  for (; i < n; ++i) out[i] = bfloat16_to_float(in[i]);
}
void float_to_bfloat16(const float* in, uint16_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = float_to_bfloat16(in[i]);
}

}  // namespace citadel::runtime
