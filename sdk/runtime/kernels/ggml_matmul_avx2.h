// AVX2 twin of ggml_matmul_avx512.h's rows_dot for CPUs without AVX-512:
// one token against up to 4 rows of Q4_0/Q4_1/Q8_0 blocks, decoded in
// registers (8 lanes), the rows sharing every load of x, prefetching ahead.
// Same arithmetic as the AVX-512 loop (f32 products and sums). Picked by
// ggml_matmul.cpp when detail::use_avx2_kernels() and not AVX-512. Internal
// to sdk/runtime/kernels; x86-64 only.
#pragma once

#include "runtime/kernels/ggml_matmul_avx512.h"

namespace citadel::runtime::detail {

// The fused AVX2 kernel for `type`, or null (other types).
GgmlRowsDotFn ggml_rows_dot_avx2(GgmlType type);

}  // namespace citadel::runtime::detail
