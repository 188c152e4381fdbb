// Dense f16- and bf16-weight GEMMs through cuBLAS (cublasGemmEx, fp32
// accumulation): y (f32) = x (f32, converted to f16/bf16 in scratch) · W + bias. CublasContext
// owns the cuBLAS handle and the grow-only scratch of the linear layers (f16
// operands, f32 results, the int4 GEMV's split-K partials and counters); one
// per stream/thread.
// Called by GptqLinearCuda (prefill), llm-gptq's CUDA path (lm_head,
// unquantized weights), deepseek-ocr's CUDA decoder and encoder, the vista
// plugin's CUDA transformer (f16) and UMT5 encoder (bf16) and bench/.
#pragma once

#include "runtime/cuda/device_buffer.h"

#include <cstdint>

namespace citadel::runtime::cuda {

class CublasContext {
 public:
  CublasContext();
  ~CublasContext();
  CublasContext(const CublasContext&) = delete;
  CublasContext& operator=(const CublasContext&) = delete;

  void* handle() const { return handle_; }  // a cublasHandle_t
  // Device scratch of at least `elements` 16-bit (f16 or bf16) values;
  // grows (reallocating, which synchronizes the device) and never shrinks.
  uint16_t* activation_scratch(size_t elements);
  uint16_t* weight_scratch(size_t elements);
  // f32 scratch for a result that an epilogue then scatters.
  float* result_scratch(size_t elements);
  // int4_gemv's split-K partials and per-tile counters (zeroed when
  // allocated; the GEMV leaves them zero).
  float* gemv_partials(size_t elements);
  int32_t* gemv_counters(size_t elements);
  // Bumped whenever a scratch buffer is reallocated (captured graphs that
  // use the old addresses are then stale).
  uint64_t generation() const { return generation_; }

 private:
  void* handle_ = nullptr;
  DeviceBuffer activation_;
  DeviceBuffer weight_;
  DeviceBuffer result_;
  DeviceBuffer partials_;
  DeviceBuffer counters_;
  uint64_t generation_ = 0;
};

// How a dense weight is stored: HF's [out, in] (row-major) or [in, out].
enum class WeightLayout { out_in, in_out };

// y[m, out] = x[m, in] · W (+ bias[out]); x, y, bias f32 and W f16 bits, all
// device pointers; bias may be null; y must not alias x.
void matmul_f16(CublasContext& context, const float* x, int64_t m, int64_t in, const uint16_t* weight,
                WeightLayout layout, int64_t out, float* y, const float* bias, void* stream);

// The same with x already in f16 (no conversion).
void matmul_f16_input(CublasContext& context, const uint16_t* x, int64_t m, int64_t in, const uint16_t* weight,
                      WeightLayout layout, int64_t out, float* y, const float* bias, void* stream);

// bf16 weights (bf16 keeps f32's exponent range: for activations that
// overflow f16, T5's): y[m, out] = x[m, in] · W (+ bias[out]) with x f32
// converted to bf16 in the context's activation scratch, W bf16 bits, f32
// accumulation and result. accumulate: y += x · W (+ bias) instead (a
// residual add fused into the GEMM). y must not alias x.
void matmul_bf16(CublasContext& context, const float* x, int64_t m, int64_t in, const uint16_t* weight,
                 WeightLayout layout, int64_t out, float* y, const float* bias, void* stream, bool accumulate = false);

// The same with x already in bf16 (no conversion).
void matmul_bf16_input(CublasContext& context, const uint16_t* x, int64_t m, int64_t in, const uint16_t* weight,
                       WeightLayout layout, int64_t out, float* y, const float* bias, void* stream,
                       bool accumulate = false);

// y_i[m, out] = x_i[m, in] · W_iᵀ (W_i f16 [out, in]) for i < count in one
// batched cuBLAS call (f16 operands, f32 results and accumulation): the
// experts of a mixture-of-experts layer, each given m rows. weights, x and y
// are DEVICE arrays of `count` device pointers.
void matmul_f16_input_batched(CublasContext& context, const uint16_t* const* x, int64_t m, int64_t in,
                              const uint16_t* const* weights, int64_t out, float* const* y, int64_t count,
                              void* stream);

// y_i[m, out] = x[m, in] · W_iᵀ for i < count, in one strided-batched
// cuBLAS call: the projections that read the same rows (q, k and v), their
// f16 weights stacked [count * out, in] and their f32 results one after
// the other in y [count, m, out]. f16 operands, f32 accumulation.
void matmul_f16_input_stacked(CublasContext& context, const uint16_t* x, int64_t m, int64_t in,
                              const uint16_t* weights, int64_t out, float* y, int64_t count, void* stream);

}  // namespace citadel::runtime::cuda
