// CudaUmt5Encoder: the UMT5 text encoder (umt5_encoder.h) on a CUDA device,
// CUDA builds only, giving Umt5Encoder::encode's results (by default within
// 1e-3 of the output's scale for bf16 weights, 3e-2 for f32 ones, which are
// rounded to bf16: tests/vista/umt5_cuda_test.cpp). The residual stream,
// norms, softmax and attention stay f32 (T5 activations overflow f16: no f16
// anywhere). The linears run on cuBLAS with bf16 weights (bf16 checkpoints
// as stored, f32 and f16 ones rounded at upload) and bf16 activations (split
// in two bf16 parts by default: Umt5GemmPrecision), f32 accumulation and
// results (runtime::cuda::matmul_bf16_input); q|k|v and wi_0|wi_1 are fused
// GEMMs, the o and wo GEMMs add into the residual stream, the gated GELU
// writes the wo operand directly. Attention is f32 cuBLAS-batched, the
// relative bias and softmax one kernel over a bucket table made on the host
// by t5_relative_bucket (runtime/cuda/t5_kernels.h). The embedding rows are
// gathered on the host from the (mapped) table: the 256k-row UMT5 table is
// not copied to the device. Made by the vista model on CUDA devices
// (make_cuda_text_encoder) and by bench/vista/umt5_cuda.cpp (random device
// weights). One instance per stream; not thread-safe.
#pragma once

#include "umt5_encoder.h"

#include "runtime/core/tensor.h"
#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/stage_timer.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace citadel::vista {

// How the linears take their f32 activations. T5's attention logits are
// unscaled and the softmax amplifies their errors, also those that earlier
// layers left in the residual stream. Scaled max errors against the f32 CPU
// encoder, from a float64 emulation of the roundings on random bf16 models
// (d_model 48, 4 heads of 16, 2 / 8 layers):
//  - bf16x2: every activation split, x = high + low (two bf16 GEMMs, the
//    second accumulating): 1.4e-5 / 6e-5, f32's results; twice the GEMMs;
//  - bf16x2_qkv: only the q|k|v activation split: 4e-3 / 2.6e-2, 1.26x the
//    GEMM FLOPs at UMT5-XXL's shape;
//  - bf16: one bf16 rounding: 1.2e-2 / 3.8e-2, the fastest.
// With f32 weights (rounded to bf16 at upload) ~1e-2 in every mode.
enum class Umt5GemmPrecision { bf16x2, bf16x2_qkv, bf16 };
struct CudaUmt5Options {
  Umt5GemmPrecision precision = Umt5GemmPrecision::bf16x2;
};

// The stages an encode reports to an attached StageTimer, in index order.
enum class Umt5Stage { host, linears, attention, norms, count };
std::vector<std::string> umt5_stage_names();

class CudaUmt5Encoder {
 public:
  // One layer's device weights: matrices bf16 [out, in].
  struct DeviceLayer {
    runtime::cuda::DeviceBuffer attention_norm, ffn_norm;  // f32 [d_model]
    runtime::cuda::DeviceBuffer qkv;                        // [3 inner, d_model]: q, k, v rows
    runtime::cuda::DeviceBuffer o;                          // [d_model, inner]
    runtime::cuda::DeviceBuffer wi;                         // [2 d_ff, d_model]: wi_0, wi_1 rows
    runtime::cuda::DeviceBuffer wo;                         // [d_model, d_ff]
    runtime::cuda::DeviceBuffer relative_bias;              // f32 [num_buckets, num_heads]
  };
  struct DeviceWeights {
    std::vector<DeviceLayer> layers;
    runtime::cuda::DeviceBuffer final_norm;  // f32 [d_model]
  };
  // The weights of `encoder` on the device (bf16 matrices as stored, f32 and
  // f16 ones rounded to bf16).
  static DeviceWeights upload(const Umt5Encoder& encoder);

  // `embedding`: the host table [vocab, d_model] (f32/f16/bf16; a mapped
  // view stays valid while the tensor lives). `weights` as upload() makes
  // them (or random ones of the same shapes, for benchmarks).
  CudaUmt5Encoder(const Umt5Config& config, runtime::Tensor embedding, DeviceWeights weights, void* stream,
                  CudaUmt5Options options = {});
  // upload(encoder); `encoder` may be destroyed afterwards.
  CudaUmt5Encoder(const Umt5Encoder& encoder, void* stream, CudaUmt5Options options = {});

  const Umt5Config& config() const { return config_; }
  // Umt5Encoder::encode on the device: [ids.size(), d_model] f32 on the
  // host, rows from `valid` on zero. Blocks until the result is copied.
  std::vector<float> encode(std::span<const int32_t> ids, int64_t valid);
  // Device bytes of the weights (not counting the encode workspace).
  size_t weight_bytes() const;
  // Attach (or detach, null) a timer of umt5_stage_names() stages.
  void set_stage_timer(runtime::cuda::StageTimer* stages) { stages_ = stages; }

 private:
  void check_weights() const;
  void reserve(int64_t rows);          // grow-only workspace for `rows` tokens
  void reserve_buckets(int64_t rows);  // bucket table for up to `rows` tokens
  void mark(Umt5Stage stage);

  Umt5Config config_;
  CudaUmt5Options options_;
  runtime::Tensor embedding_;
  DeviceWeights weights_;
  void* stream_;
  runtime::cuda::CublasContext cublas_;
  runtime::cuda::StageTimer* stages_ = nullptr;
  int64_t capacity_ = 0, bucket_tokens_ = 0, scores_floats_ = 0;
  runtime::cuda::DeviceBuffer x_, normed_, qkv_, mixed_, hidden_, operand_, scores_, buckets_;
};

}  // namespace citadel::vista
