// cuda_decoder_weights.h — the deepseek-ocr decoder's weights as the CUDA
// pass reads them (CUDA builds only): uploaded once as f16, q|k|v stacked
// for one strided-batched GEMM when they have one width, each gated MLP's
// gate and up stacked for one GEMM, the shared experts split into parts as
// wide as a routed expert where their width allows, and, for layers whose
// experts fit the device routing kernels (runtime/cuda/moe_routing.h,
// expert_gemm.h), the device arrays of expert weight pointers those
// kernels take. Made by cuda_decoder_pass.cpp when the decoder is created.
#pragma once

#include "decoder_config.h"
#include "decoder_weights.h"

#include "runtime/cuda/device_buffer.h"

#include <cstdint>
#include <vector>

namespace citadel::deepseek_ocr {

// A weight [out, in] on the device as f16.
struct DeviceLinear {
  runtime::cuda::DeviceBuffer weight;
  int64_t in = 0, out = 0;
};

// A gated MLP: gate and up stacked into one [2 x width, in] f16 weight (one
// GEMM gives both halves), down [out, width].
struct DeviceMlp {
  runtime::cuda::DeviceBuffer gate_up, down;
  int64_t in = 0, width = 0, out = 0;
};

struct DeviceLayer {
  runtime::cuda::DeviceBuffer input_norm, post_attention_norm;  // f32
  DeviceLinear q, k, v, o;
  // q, k and v of one width (multi-head attention) stacked [3 x width, in];
  // q, k and v are then left empty.
  runtime::cuda::DeviceBuffer qkv;
  bool moe = false;
  DeviceMlp dense;
  DeviceLinear router;
  std::vector<DeviceMlp> experts;
  // The shared experts: one MLP, or (when their width is a multiple of the
  // routed experts') parts as wide as a routed expert, so that they join the
  // routed experts' launches.
  std::vector<DeviceMlp> shared;
  // Routing on the device: the gate_up then the down weights of every
  // routed expert and shared part, as device pointer arrays.
  bool device_routing = false;
  runtime::cuda::DeviceBuffer gate_up_pointers, down_pointers;
};

DeviceLinear upload_linear(const Linear& linear);
// A vector (norm weights) as f32.
runtime::cuda::DeviceBuffer upload_f32(const runtime::Tensor& tensor);
DeviceLayer upload_layer(const DecoderConfig& config, const DecoderLayerWeights& layer);

}  // namespace citadel::deepseek_ocr
