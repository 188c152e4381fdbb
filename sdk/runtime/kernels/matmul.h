// Dense CPU matmul for linear layers: y[m, out] = x[m, in] · W[out, in]ᵀ
// (+ bias[out]), x and y in f32, W row-major in f32, f16 or bf16, fp32
// accumulation, multi-threaded over blocks of output columns; each block of
// W rows is converted to f32 one input chunk at a time and used for all m
// tokens before moving on (AVX2+FMA+F16C when the CPU has them). Used by plugins for
// unquantized projections and lm_head; the reference for GPU GEMMs.
#pragma once

#include "runtime/core/dtype.h"
#include "runtime/core/thread_pool.h"

#include <cstdint>

namespace citadel::runtime {

// `weight` points to out*in elements of `weight_dtype` (f32, f16 or bf16;
// others throw). `bias` may be null. `y` must not alias `x`.
void matmul(ThreadPool& pool, const float* x, int64_t m, int64_t in, const void* weight,
            DType weight_dtype, int64_t out, float* y, const float* bias = nullptr);

}  // namespace citadel::runtime
