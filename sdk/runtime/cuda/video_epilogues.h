// The epilogues of the vista transformer's linear layers fused into the
// elementwise work that follows each GEMM (CudaPassOptions::fused_epilogues,
// plugins/vista/wan_transformer_cuda.cpp): the GEMM runs without its bias
// and one pass adds the bias on the way to what comes next, so no pass
// adds a bias alone and no pass converts an input to f16 alone.
//  - bias_rms_norm: y = RMSNorm(x + bias) * weight over each row (Wan's q/k
//    norm across the heads; the CPU's rms_norm of the biased projection);
//  - bias_gelu_to_half: out = f16(GELU_tanh(x + bias)) (the FFN's hidden
//    layer as the next GEMM's f16 input);
//  - gated_add_bias: x += gate[group] * (delta + bias) (a modulated residual);
//  - add_bias_residual: x += delta + bias.
// bias may be null (no bias). Rows are `dim` (or `cols`) wide, row-major; all
// pointers device pointers, work queued on `stream` (a cudaStream_t).
// Accurate tanhf/rsqrtf (no fast-math). Tested against the CPU transformer
// through tests/vista/wan_cuda_test.cpp and wan_flash_cuda_test.cpp.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

// y may equal x.
void bias_rms_norm(const float* x, const float* bias, int64_t rows, int64_t dim, const float* weight, float eps,
                   float* y, void* stream);
void bias_gelu_to_half(const float* x, const float* bias, int64_t rows, int64_t cols, uint16_t* out, void* stream);
void gated_add_bias(float* x, const float* delta, const float* bias, int64_t rows, int64_t dim, const float* gate,
                    int64_t gate_stride, int64_t rows_per_group, void* stream);
void add_bias_residual(float* x, const float* delta, const float* bias, int64_t rows, int64_t dim, void* stream);

}  // namespace citadel::runtime::cuda
