// The inner CPU loops shared by the dense and GPTQ matmuls, and the choice
// between their AVX2+FMA and portable versions (made once at run time from
// the CPU's features, so the binary runs on any x86-64). A "tile" is
// kTileColumns output columns by up to kTileDepth input rows of weights
// expanded to f32 as tile[i][kTileColumns]; it is reused for all m tokens.
// Internal to sdk/runtime/kernels (and bench/cpu_kernels).
// dot_rows: the f32 row dot products of the dense and ggml block matmuls.
#pragma once

#include <cstdint>

namespace citadel::runtime::detail {

inline constexpr int64_t kTileColumns = 32;
inline constexpr int64_t kTileDepth = 128;  // a multiple of 8 (one int4 word)

// True when the AVX2+FMA(+F16C) kernels run: the CPU has them and they were
// not disabled with force_portable_cpu_kernels(true).
bool use_avx2_kernels();
// True when the AVX-512 (F, BW, VL) kernels of the ggml block matmul run:
// use_avx2_kernels() and the CPU has them.
bool use_avx512_kernels();
// Makes every kernel take the portable path (bench comparisons, tests).
void force_portable_cpu_kernels(bool portable);
// Turns the AVX-512 loops off (the AVX2 ones run instead; tests).
void force_avx2_cpu_kernels(bool avx2_only);
// "avx512+avx2+fma", "avx2+fma" or "portable".
const char* cpu_kernel_isa_name();

// acc[t * kTileColumns + c] += sum_{i < depth} x[t * x_stride + i] * tile[i * kTileColumns + c]
// for t < m and all kTileColumns columns.
void tile_accumulate(const float* x, int64_t x_stride, int64_t m, int64_t depth, const float* tile,
                     float* acc);

// out[r] += dot(x[0..n), w + r * w_stride) for r < rows (four rows share each
// load of x). Defined in matmul.cpp; also used by the ggml block matmul.
void dot_rows(const float* x, const float* w, int64_t w_stride, int64_t rows, int64_t n, float* out);

}  // namespace citadel::runtime::detail
