// Array forms of the fp16/bf16 conversions; fp16 -> fp32 through F16C when
// the CPU has it (vcvtph2ps: the same values; a signalling NaN comes out
// quiet), checked once at run time.
#include "runtime/core/half.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define CITADEL_X86 1
#endif

namespace citadel::runtime {

#ifdef CITADEL_X86
namespace {

bool cpu_has_f16c() {
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0 && (ecx & bit_AVX) != 0;
  }();
  return has;
}

__attribute__((target("avx,f16c"))) void half_to_float_f16c(const uint16_t* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  for (; i < n; ++i) out[i] = _cvtsh_ss(in[i]);
}

}  // namespace
#endif

// The portable conversions go in blocks of 16 with a constant inner trip
// count so that GCC vectorizes them at -O3.
void half_to_float(const uint16_t* __restrict in, float* __restrict out, size_t n) {
#ifdef CITADEL_X86
  if (cpu_has_f16c()) {
    half_to_float_f16c(in, out, n);
    return;
  }
#endif
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
