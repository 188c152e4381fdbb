// GPTQ int4/int8 kernels on device pointers, same packing and zero formats as
// the CPU GptqLinear (runtime/kernels/gptq.h): gptq_gemv reads the packed
// weight directly (decode, fp32 accumulation, 8 rows per pass) and
// gptq_dequantize_f16 expands it for the cuBLAS prefill GEMM. Called by
// GptqLinearCuda, the [cuda] tests and bench/cuda_kernels. No Boost.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

// One layer's GPTQ tensors in device memory (non-owning).
struct GptqDeviceWeights {
  int bits = 4;                 // 4 or 8
  int64_t in_features = 0;
  int64_t out_features = 0;
  int64_t group_size = 128;     // -1: one group
  int64_t num_groups = 1;
  const int32_t* qweight = nullptr;
  const int32_t* qzeros = nullptr;
  const uint16_t* scales = nullptr;  // f16 bits
  const int32_t* g_idx = nullptr;    // null: group = i / group_size
  bool zeros_minus_one = true;       // GPTQ v1: stored zero = z - 1
};

// True when gptq_gemv takes the fast path (4 bits, no g_idx, group size -1
// or a multiple of 32); otherwise a slower per-element group lookup runs.
bool gptq_gemv_fast_path(const GptqDeviceWeights& weights);

// y[m, out] = x[m, in] · dequant(W)[in, out] (+ bias[out]); x, y, bias are f32
// device pointers (x 16-byte aligned, as cudaMalloc gives), bias may be null,
// y must not alias x. `stream` is a cudaStream_t.
void gptq_gemv(const GptqDeviceWeights& weights, const float* x, int64_t m, float* y,
               const float* bias, void* stream);

// weight_in_out[i, o] = dequant(W)[i, o] as f16 bits, row-major [in, out].
void gptq_dequantize_f16(const GptqDeviceWeights& weights, uint16_t* weight_in_out, void* stream);

}  // namespace citadel::runtime::cuda
