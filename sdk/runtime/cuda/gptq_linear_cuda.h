// GptqLinearCuda: one GPTQ linear layer resident on the GPU, or several
// fused into one (q/k/v concatenated, gate/up interleaved for the SiLU·mul
// epilogue), built from the same host GptqTensors as the CPU GptqLinear
// (validated, errors name the layer). Int4 layers whose 32-input chunks each
// lie in one group (group size 32/64/128/-1, act-order included) are
// repacked at load into the tiled layout (int4_tiled.h) and run the int4
// GEMV (int4_gemv_tc.h on Hopper, else int4_gemv.h) for few rows, the tensor-core int4 GEMM (int4_mma.h)
// for more, dequantize-to-f16 + cuBLAS for prefill-sized batches; other layers (8 bits, odd groups) keep the GPTQ packing and
// run gptq_gemv / gptq_dequantize_f16 (gptq_kernels.h). Used by llm-gptq's
// CUDA path, the [cuda] tests and bench/cuda_kernels.
#pragma once

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/gptq_kernels.h"
#include "runtime/cuda/int4_gemv_tc.h"
#include "runtime/cuda/int4_tiled.h"
#include "runtime/cuda/linear_epilogue.h"
#include "runtime/kernels/gptq.h"

#include <span>
#include <string>

namespace citadel::runtime::cuda {

class GptqLinearCuda {
 public:
  // How the parts of a fused layer share its columns.
  enum class Fusion { concat, gate_up };

  // Tiled layers: below int4_mma_exact_min_rows() (8) forward() runs an
  // int4 GEMV, from there up to kTensorCoreMaxRows the tensor-core int4 GEMM
  // (both f32-exact up to rounding; the GEMM needs in_features % 64 == 0,
  // else the GEMVs: up to kTensorCoreGemvMaxRows on Hopper, then the f32
  // GEMV in passes of 8 up to kPackedGemvMaxRows); up to int4_mma_f16_max_rows() the same
  // GEMM with activations and scaled weights rounded to f16 in registers
  // (the precision of the cuBLAS path, the int4 weights read once per 64
  // rows); above, the layer is dequantized to f16 scratch and multiplied by
  // cuBLAS (activations rounded to f16).
  // GPTQ-packed layers: gptq_gemv up to kPackedGemvMaxRows, then cuBLAS.
  static constexpr int64_t kGemvMaxRows = 8;
  // Up to this many rows (and below the GEMM's rows), on Hopper, the
  // register-direct tensor-core GEMV (int4_gemv_tc.h) runs instead of the
  // f32 GEMV (f32-exact to rounding too); up to
  // kInt4GemvRingMaxRows (4), when int4_gemv_ring_dispatch() is on (off by
  // default, not yet timed), the same math fed through shared-memory rings
  // (int4_gemv_ring.h).
  static constexpr int64_t kTensorCoreGemvMaxRows = 16;
  static constexpr int64_t kTensorCoreMaxRows = 24;  // H200: cuBLAS is faster from ~32 rows
  static constexpr int64_t kPackedGemvMaxRows = 16;
  // Rows up to which forward() takes the int4 GEMM with f16 activations
  // rather than dequantize + cuBLAS (kDefaultInt4MmaF16MaxRows; 0 or
  // kTensorCoreMaxRows turns it off). Process-wide; bench_cuda_kernels and
  // bench_llm_decode set it to compare both paths in one run.
  static constexpr int64_t kDefaultInt4MmaF16MaxRows = 64;
  static void set_int4_mma_f16_max_rows(int64_t rows);
  static int64_t int4_mma_f16_max_rows();
  // Rows from which the f16-activation GEMM also replaces the f32-exact
  // kernels (default kTensorCoreMaxRows + 1: up to 24 rows stay exact).
  // Process-wide, as above; bench_llm_decode --mma-f16-from N.
  static constexpr int64_t kDefaultInt4MmaF16MinRows = kTensorCoreMaxRows + 1;
  static void set_int4_mma_f16_min_rows(int64_t rows);
  static int64_t int4_mma_f16_min_rows();
  // Rows from which the f32-exact tensor-core GEMM replaces the GEMVs (up
  // to kTensorCoreMaxRows; from these rows on forward_normed declines, as the
  // GEMM does not fuse the norm). H200, Llama-3-8B layers: the GEMM is
  // faster from 8 rows (bench/README.md "Int4 GEMM: whole words per lane").
  // Process-wide, as above; bench_llm_decode --mma-exact-from N.
  static constexpr int64_t kDefaultInt4MmaExactMinRows = 8;
  static void set_int4_mma_exact_min_rows(int64_t rows);
  static int64_t int4_mma_exact_min_rows();
  // Rows up to which forward() is f32-exact (to rounding) for this layer.
  int64_t exact_max_rows() const;

  // One layer; `bias` (host, out_features floats) may be null.
  GptqLinearCuda(const GptqTensors& tensors, std::string name, const float* bias = nullptr);
  // Fused layer: `parts` (with their biases, each may be null) must satisfy
  // can_fuse. concat: columns are the parts' columns in order; gate_up: two
  // parts of equal width, the result is silu(gate) * up (epilogue silu_mul).
  GptqLinearCuda(std::span<const GptqTensors* const> parts, std::span<const float* const> biases, Fusion fusion,
                 std::string name);

  // True when `parts` have one input size, group size, zero format and
  // g_idx, all take the tiled layout, and (gate_up) are two of equal width,
  // a multiple of 64.
  static bool can_fuse(std::span<const GptqTensors* const> parts, Fusion fusion);

  // y = x[m, in] · W (+ bias) through `epilogue`; device pointers (f32).
  void forward(CublasContext& context, const float* x, int64_t m, const LinearEpilogue& epilogue,
               void* stream) const;
  // As forward(context, x, m, epilogue, stream) on rms_norm(x) (norm.weight
  // set) when the tensor-core GEMV takes these rows (it applies the norm as
  // it reads x): returns false, having done nothing, otherwise.
  bool forward_normed(const float* x, int64_t m, const RmsNormInput& norm, const LinearEpilogue& epilogue,
                      void* stream) const;
  // y[m, columns] = x · W (+ bias, + extra_bias if not null).
  void forward(CublasContext& context, const float* x, int64_t m, float* y, const float* extra_bias,
               void* stream) const;

  bool tiled() const { return tiled_.qweight != nullptr; }
  int64_t in_features() const { return in_; }
  int64_t columns() const { return columns_; }
  // The GPTQ-packed weights of an untiled layer (tiled(): false).
  const GptqDeviceWeights& device_weights() const { return weights_; }
  const Int4TiledWeights& tiled_weights() const { return tiled_; }
  const std::string& name() const { return name_; }
  // Bytes of the weights, zeros, scales and tables on the device.
  size_t device_bytes() const;

 private:
  void build_tiled(std::span<const GptqTensors* const> parts, std::span<const float* const> biases, Fusion fusion);
  void build_packed(const GptqTensors& t, const float* bias);
  void forward_tiled(CublasContext& context, const float* x, int64_t m, const LinearEpilogue& epilogue,
                     const float* extra_bias, void* stream) const;

  std::string name_;
  int64_t in_ = 0, columns_ = 0;
  // Tiled layout.
  DeviceBuffer tiled_qweight_, tiled_scales_, tiled_zeros_, chunk_group_, input_perm_;
  Int4TiledWeights tiled_;
  // GPTQ packing (fallback).
  DeviceBuffer qweight_, qzeros_, scales_, g_idx_;
  GptqDeviceWeights weights_;
  DeviceBuffer bias_;  // f32 [columns] in column order, or empty
};

}  // namespace citadel::runtime::cuda
