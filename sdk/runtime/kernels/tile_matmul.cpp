// tile_accumulate: two tokens at a time against 32 columns held in registers
// (AVX2: 8 accumulators of 8 lanes), portable fallback with fixed lanes.
#include "runtime/kernels/tile_matmul.h"

#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define CITADEL_X86 1
#endif

namespace citadel::runtime::detail {
namespace {

constexpr int64_t K = kTileColumns;
std::atomic<bool> g_forced_portable{false};
std::atomic<bool> g_forced_avx2{false};

bool cpu_has_avx2() {
#ifdef CITADEL_X86
  // F16C through cpuid: clang 14's __builtin_cpu_supports does not know "f16c".
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
  }();
  return has;
#else
  return false;
#endif
}

void tile_accumulate_portable(const float* __restrict x, int64_t x_stride, int64_t m, int64_t depth,
                              const float* __restrict tile, float* __restrict acc) {
  int64_t t = 0;
  for (; t + 2 <= m; t += 2) {
    float a0[K], a1[K];
    for (int64_t c = 0; c < K; ++c) {
      a0[c] = acc[t * K + c];
      a1[c] = acc[(t + 1) * K + c];
    }
    const float* x0 = x + t * x_stride;
    const float* x1 = x0 + x_stride;
    for (int64_t i = 0; i < depth; ++i) {
      const float* w = tile + i * K;
      const float u = x0[i], v = x1[i];
      for (int64_t c = 0; c < K; ++c) {
        a0[c] += u * w[c];
        a1[c] += v * w[c];
      }
    }
    for (int64_t c = 0; c < K; ++c) {
      acc[t * K + c] = a0[c];
      acc[(t + 1) * K + c] = a1[c];
    }
  }
  for (; t < m; ++t) {
    float a[K];
    for (int64_t c = 0; c < K; ++c) a[c] = acc[t * K + c];
    const float* xt = x + t * x_stride;
    for (int64_t i = 0; i < depth; ++i) {
      const float* w = tile + i * K;
      const float u = xt[i];
      for (int64_t c = 0; c < K; ++c) a[c] += u * w[c];
    }
    for (int64_t c = 0; c < K; ++c) acc[t * K + c] = a[c];
  }
}

#ifdef CITADEL_X86
__attribute__((target("avx2,fma"))) void tile_accumulate_avx2(const float* __restrict x, int64_t x_stride,
                                                               int64_t m, int64_t depth,
                                                               const float* __restrict tile,
                                                               float* __restrict acc) {
  static_assert(K == 32, "the AVX2 kernel holds 32 columns in 4 registers");
  int64_t t = 0;
  for (; t + 2 <= m; t += 2) {
    float* r0 = acc + t * K;
    float* r1 = r0 + K;
    __m256 a0 = _mm256_loadu_ps(r0), a1 = _mm256_loadu_ps(r0 + 8), a2 = _mm256_loadu_ps(r0 + 16),
           a3 = _mm256_loadu_ps(r0 + 24);
    __m256 b0 = _mm256_loadu_ps(r1), b1 = _mm256_loadu_ps(r1 + 8), b2 = _mm256_loadu_ps(r1 + 16),
           b3 = _mm256_loadu_ps(r1 + 24);
    const float* x0 = x + t * x_stride;
    const float* x1 = x0 + x_stride;
    for (int64_t i = 0; i < depth; ++i) {
      const float* w = tile + i * K;
      const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8), w2 = _mm256_loadu_ps(w + 16),
                   w3 = _mm256_loadu_ps(w + 24);
      const __m256 u = _mm256_broadcast_ss(x0 + i), v = _mm256_broadcast_ss(x1 + i);
      a0 = _mm256_fmadd_ps(u, w0, a0);
      a1 = _mm256_fmadd_ps(u, w1, a1);
      a2 = _mm256_fmadd_ps(u, w2, a2);
      a3 = _mm256_fmadd_ps(u, w3, a3);
      b0 = _mm256_fmadd_ps(v, w0, b0);
      b1 = _mm256_fmadd_ps(v, w1, b1);
      b2 = _mm256_fmadd_ps(v, w2, b2);
      b3 = _mm256_fmadd_ps(v, w3, b3);
    }
    _mm256_storeu_ps(r0, a0);
    _mm256_storeu_ps(r0 + 8, a1);
    _mm256_storeu_ps(r0 + 16, a2);
    _mm256_storeu_ps(r0 + 24, a3);
    _mm256_storeu_ps(r1, b0);
    _mm256_storeu_ps(r1 + 8, b1);
    _mm256_storeu_ps(r1 + 16, b2);
    _mm256_storeu_ps(r1 + 24, b3);
  }
  for (; t < m; ++t) {  // one token: even and odd rows in separate chains (FMA latency)
    float* r0 = acc + t * K;
    __m256 a0 = _mm256_loadu_ps(r0), a1 = _mm256_loadu_ps(r0 + 8), a2 = _mm256_loadu_ps(r0 + 16),
           a3 = _mm256_loadu_ps(r0 + 24);
    __m256 b0 = _mm256_setzero_ps(), b1 = b0, b2 = b0, b3 = b0;
    const float* xt = x + t * x_stride;
    int64_t i = 0;
    for (; i + 2 <= depth; i += 2) {
      const float* w = tile + i * K;
      const __m256 u = _mm256_broadcast_ss(xt + i), v = _mm256_broadcast_ss(xt + i + 1);
      a0 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w), a0);
      a1 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 8), a1);
      a2 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 16), a2);
      a3 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 24), a3);
      b0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w + K), b0);
      b1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w + K + 8), b1);
      b2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w + K + 16), b2);
      b3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w + K + 24), b3);
    }
    if (i < depth) {
      const float* w = tile + i * K;
      const __m256 u = _mm256_broadcast_ss(xt + i);
      a0 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w), a0);
      a1 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 8), a1);
      a2 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 16), a2);
      a3 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 24), a3);
    }
    _mm256_storeu_ps(r0, _mm256_add_ps(a0, b0));
    _mm256_storeu_ps(r0 + 8, _mm256_add_ps(a1, b1));
    _mm256_storeu_ps(r0 + 16, _mm256_add_ps(a2, b2));
    _mm256_storeu_ps(r0 + 24, _mm256_add_ps(a3, b3));
  }
}
#endif

}  // namespace

bool use_avx2_kernels() { return !g_forced_portable.load(std::memory_order_relaxed) && cpu_has_avx2(); }

bool use_avx512_kernels() {
#ifdef CITADEL_X86
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return has && !g_forced_avx2.load(std::memory_order_relaxed) && use_avx2_kernels();
#else
  return false;
#endif
}

void force_portable_cpu_kernels(bool portable) { g_forced_portable.store(portable); }

void force_avx2_cpu_kernels(bool avx2_only) { g_forced_avx2.store(avx2_only); }

const char* cpu_kernel_isa_name() {
  return use_avx512_kernels() ? "avx512+avx2+fma" : use_avx2_kernels() ? "avx2+fma" : "portable";
}

void tile_accumulate(const float* x, int64_t x_stride, int64_t m, int64_t depth, const float* tile, float* acc) {
#ifdef CITADEL_X86
  if (use_avx2_kernels()) {
    tile_accumulate_avx2(x, x_stride, m, depth, tile, acc);
    return;
  }
#endif
  tile_accumulate_portable(x, x_stride, m, depth, tile, acc);
}

}  // namespace citadel::runtime::detail
