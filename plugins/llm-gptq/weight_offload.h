// weight_offload.h — llm-gptq's weight-offload options and the layer split
// they give: `gpu_layers` (llama.cpp's --n-gpu-layers: the first N decoder
// layers stay on the GPU, the rest are streamed from pinned host memory each
// step; -1 or any N >= the layer count keeps all) and `cpu_offload_gb`
// (vLLM's --cpu-offload-gb: about this many GB of layer weights, taken from
// the last layers, live in host memory). At most one of them may be set.
// Parsed by LlmOptions::parse (llm_model.cpp); the split is applied by the
// CUDA forward pass (cuda_forward.h, layer_streamer.h) and unit-tested in
// tests/llm. CPU code; no CUDA.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace citadel::llm {

struct WeightOffload {
  std::optional<int64_t> gpu_layers;     // -1: all
  std::optional<double> cpu_offload_gb;  // >= 0

  bool requested() const { return gpu_layers.has_value() || cpu_offload_gb.has_value(); }
  // Reads options.gpu_layers and options.cpu_offload_gb; throws
  // PluginError (INVALID_ARGUMENT) naming the option on a bad value.
  static WeightOffload parse(const boost::json::object& options);
};

// How many leading layers stay resident on the GPU (the rest are streamed),
// given each decoder layer's weight bytes. cpu_offload_gb offloads the
// fewest trailing layers whose bytes reach the asked amount (all of them
// when it exceeds the model's layers). No option: all layers resident.
uint32_t resident_layer_count(const WeightOffload& offload, std::span<const uint64_t> layer_bytes);

// "48 of 64 layers on the GPU, 16 streamed from host memory (3.9 GB)" etc.
std::string describe_split(uint32_t resident, std::span<const uint64_t> layer_bytes);

}  // namespace citadel::llm
