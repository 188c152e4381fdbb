// The deepseek-ocr decoder's weights on the device (cuda_decoder_weights.h).
#include "cuda_decoder_weights.h"

#include "runtime/cuda/moe_routing.h"

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <vector>

namespace citadel::deepseek_ocr {
namespace {

namespace cuda = runtime::cuda;

// Matrices converted to f16 and laid one after the other, on the device.
cuda::DeviceBuffer upload_stacked_f16(std::initializer_list<const runtime::Tensor*> matrices, const char* what) {
  std::vector<std::byte> stacked;
  for (const runtime::Tensor* matrix : matrices) {
    const runtime::Tensor f16 = matrix->to_f32().converted(runtime::DType::f16);
    const auto* bytes = static_cast<const std::byte*>(f16.data());
    stacked.insert(stacked.end(), bytes, bytes + f16.nbytes());
  }
  return cuda::DeviceBuffer::from_host(stacked.data(), stacked.size(), what);
}

DeviceMlp upload_mlp(const GatedMlp& mlp) {
  DeviceMlp device;
  device.gate_up = upload_stacked_f16({&mlp.gate.weight, &mlp.up.weight}, "deepseek-ocr gate_up weight");
  device.down = upload_stacked_f16({&mlp.down.weight}, "deepseek-ocr down weight");
  device.in = mlp.gate.in_features();
  device.width = mlp.width();
  device.out = mlp.down.out_features();
  return device;
}

// The MLP's hidden units [begin, begin + width) as an MLP of their own: its
// gate and up rows and down columns. The parts' outputs sum to the MLP's.
GatedMlp mlp_part(const GatedMlp& mlp, int64_t begin, int64_t width) {
  const runtime::Tensor gate = mlp.gate.weight.to_f32(), up = mlp.up.weight.to_f32(), down = mlp.down.weight.to_f32();
  const int64_t in = mlp.gate.in_features(), out = mlp.down.out_features(), full = mlp.width();
  runtime::Tensor part_gate = runtime::Tensor::zeros(runtime::DType::f32, {width, in});
  runtime::Tensor part_up = runtime::Tensor::zeros(runtime::DType::f32, {width, in});
  runtime::Tensor part_down = runtime::Tensor::zeros(runtime::DType::f32, {out, width});
  std::memcpy(part_gate.data(), gate.data_as<float>() + begin * in, size_t(width * in) * sizeof(float));
  std::memcpy(part_up.data(), up.data_as<float>() + begin * in, size_t(width * in) * sizeof(float));
  for (int64_t o = 0; o < out; ++o)
    std::memcpy(part_down.data_as<float>() + o * width, down.data_as<float>() + o * full + begin,
                size_t(width) * sizeof(float));
  return GatedMlp{Linear{std::move(part_gate)}, Linear{std::move(part_up)}, Linear{std::move(part_down)}};
}

// Whether the layer's experts (routed, and shared parts when
// `shared_as_parts`) fit the device routing kernels' limits.
bool can_route_on_device(const DecoderConfig& config, const DeviceLayer& layer, bool shared_as_parts) {
  const int64_t experts = static_cast<int64_t>(layer.experts.size());
  const int64_t per_row = int64_t{config.experts_per_token} + static_cast<int64_t>(layer.shared.size());
  if (!shared_as_parts || experts == 0 || experts > cuda::kMaxRoutedExperts || config.experts_per_token == 0 ||
      config.experts_per_token > experts || per_row > cuda::kMaxExpertsPerRow)
    return false;
  const int64_t width = config.moe_intermediate_size;
  if (width % 8 != 0 || config.hidden_size % 8 != 0) return false;  // expert_gemm's 16-byte rows
  for (const auto* list : {&layer.experts, &layer.shared})
    for (const DeviceMlp& mlp : *list)
      if (mlp.width != width) return false;
  return true;
}

}  // namespace

DeviceLinear upload_linear(const Linear& linear) {
  return DeviceLinear{upload_stacked_f16({&linear.weight}, "deepseek-ocr weight"), linear.in_features(),
                      linear.out_features()};
}

cuda::DeviceBuffer upload_f32(const runtime::Tensor& tensor) {
  const runtime::Tensor f32 = tensor.to_f32();
  return cuda::DeviceBuffer::from_host(f32.data(), f32.nbytes(), "deepseek-ocr vector");
}

DeviceLayer upload_layer(const DecoderConfig& config, const DecoderLayerWeights& layer) {
  DeviceLayer device;
  device.input_norm = upload_f32(layer.input_norm);
  device.post_attention_norm = upload_f32(layer.post_attention_norm);
  if (layer.q.out_features() == layer.k.out_features() && layer.k.out_features() == layer.v.out_features()) {
    device.qkv = upload_stacked_f16({&layer.q.weight, &layer.k.weight, &layer.v.weight}, "deepseek-ocr q|k|v weight");
  } else {
    device.q = upload_linear(layer.q);
    device.k = upload_linear(layer.k);
    device.v = upload_linear(layer.v);
  }
  device.o = upload_linear(layer.o);
  device.moe = layer.moe;
  if (!layer.moe) {
    device.dense = upload_mlp(layer.dense);
    return device;
  }
  device.router = upload_linear(Linear{layer.router});
  for (const GatedMlp& expert : layer.experts) device.experts.push_back(upload_mlp(expert));
  const int64_t width = config.moe_intermediate_size;
  const bool parts = layer.has_shared && width > 0 && layer.shared.width() % width == 0;
  if (parts) {
    for (int64_t begin = 0; begin < layer.shared.width(); begin += width)
      device.shared.push_back(upload_mlp(mlp_part(layer.shared, begin, width)));
  } else if (layer.has_shared) {
    device.shared.push_back(upload_mlp(layer.shared));
  }
  device.device_routing = can_route_on_device(config, device, parts || !layer.has_shared);
  if (device.device_routing) {
    std::vector<const void*> gate_up, down;
    for (const auto* list : {&device.experts, &device.shared}) {
      for (const DeviceMlp& mlp : *list) {
        gate_up.push_back(mlp.gate_up.data());
        down.push_back(mlp.down.data());
      }
    }
    device.gate_up_pointers = cuda::DeviceBuffer::from_vector(gate_up, "deepseek-ocr expert pointers");
    device.down_pointers = cuda::DeviceBuffer::from_vector(down, "deepseek-ocr expert pointers");
  }
  return device;
}

}  // namespace citadel::deepseek_ocr
