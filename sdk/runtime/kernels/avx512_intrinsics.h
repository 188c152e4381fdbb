// <immintrin.h> for the AVX-512 kernel files (ggml_matmul_avx512.cpp,
// attention_avx512.cpp) and the target attribute their functions carry.
// They are compiled for plain x86-64 and called only after the run-time
// check (detail::use_avx512_kernels(): F, BW, VL). On x86-64 this defines
// CITADEL_X86_64 and CITADEL_AVX512; elsewhere nothing, and those files
// compile only empty definitions that are never called there (the run-time
// check is false off x86-64). Silences, for the rest of the including
// file, GCC 12's uninitialized-use warnings from inside its own AVX-512
// headers (_mm512_undefined_*; GCC bug 105593). Internal to
// sdk/runtime/kernels; include it after the other headers.
#pragma once

#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define CITADEL_X86_64 1
#define CITADEL_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#endif
