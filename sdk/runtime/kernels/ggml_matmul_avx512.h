// AVX-512 inner loops of ggml_matmul (ggml_matmul.cpp picks them at run time
// when detail::use_avx512_kernels(); the AVX2 and portable loops stay for
// other CPUs). Activations stay f32 and products accumulate in f32, so the
// results keep the fidelity of the portable path (no int8 activations and
// hence no VNNI: llama.cpp's Q8 activation rounding would move the logits
// past the 1e-2 the reference tests allow).
//   rows_dot:   one token against up to 4 rows of Q4_0/Q4_1/Q8_0 blocks,
//               fused (blocks decoded in registers, 16 lanes at a time;
//               sum_b d_b (q_b . x_b) + m_b sum(x_b), the four rows sharing
//               every load of x).
//   dequantizer: whole Q4_0/Q4_1/Q8_0 blocks to f32, 16 lanes at a time
//               (the chunks that several tokens share).
//   token_dots: several tokens against up to 4 rows already dequantized to
//               f32 (a 4 tokens x 4 rows register tile, 16 accumulators).
// Internal to sdk/runtime/kernels. x86-64 only (empty elsewhere).
#pragma once

#include "runtime/kernels/ggml_blocks.h"

#include <cstdint>

namespace citadel::runtime::detail {

// out[r] = dot(x[0..n), dequantized rows[r]) for r < count (count <= 4).
using GgmlRowsDotFn = void (*)(const uint8_t* const* rows, int64_t count, const float* x, int64_t n, float* out);

// The fused AVX-512 kernel for `type`, or null (other types, or no AVX-512).
GgmlRowsDotFn ggml_rows_dot_avx512(GgmlType type);

// out[0..n) = the n values (whole blocks) that start at `blocks`.
using GgmlDequantizeFn = void (*)(const uint8_t* blocks, int64_t n, float* out);

// The AVX-512 dequantizer for `type`, or null (other types, or no AVX-512).
GgmlDequantizeFn ggml_dequantizer_avx512(GgmlType type);

// acc[t * acc_stride + r] += dot(x + t * x_stride, rows + r * row_stride) over
// n values (a multiple of 16), for t < m and r < count (count <= 4).
void token_dots_avx512(const float* x, int64_t x_stride, int64_t m, const float* rows, int64_t row_stride,
                       int64_t count, int64_t n, float* acc, int64_t acc_stride);

}  // namespace citadel::runtime::detail
