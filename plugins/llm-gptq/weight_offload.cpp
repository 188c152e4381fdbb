// The weight-offload options of llm-gptq and their layer split (see
// weight_offload.h).
#include "weight_offload.h"

#include "runtime/core/error.h"

#include <cmath>
#include <cstdio>

namespace citadel::llm {

WeightOffload WeightOffload::parse(const boost::json::object& options) {
  WeightOffload parsed;
  if (const boost::json::value* value = options.if_contains("gpu_layers"); value != nullptr && !value->is_null()) {
    int64_t layers = -2;
    if (value->is_int64()) layers = value->as_int64();
    else if (value->is_uint64()) layers = value->as_uint64() > INT32_MAX ? INT32_MAX : static_cast<int64_t>(value->as_uint64());
    else if (value->is_double() && value->as_double() == std::floor(value->as_double())) {
      layers = static_cast<int64_t>(value->as_double());
    }
    if (layers < -1) {
      runtime::throw_invalid("llm-gptq option 'gpu_layers' must be an integer >= 0 (layers kept on the GPU) or -1 "
                             "(all); got " + boost::json::serialize(*value));
    }
    parsed.gpu_layers = layers;
  }
  if (const boost::json::value* value = options.if_contains("cpu_offload_gb");
      value != nullptr && !value->is_null()) {
    double gb = -1.0;
    if (value->is_number()) gb = value->to_number<double>();
    if (!(gb >= 0.0) || !std::isfinite(gb)) {
      runtime::throw_invalid("llm-gptq option 'cpu_offload_gb' must be a number >= 0 (GB of layer weights kept in "
                             "host memory); got " + boost::json::serialize(*value));
    }
    parsed.cpu_offload_gb = gb;
  }
  if (parsed.gpu_layers && parsed.cpu_offload_gb) {
    runtime::throw_invalid("llm-gptq options 'gpu_layers' and 'cpu_offload_gb' both set; set one of them");
  }
  return parsed;
}

uint32_t resident_layer_count(const WeightOffload& offload, std::span<const uint64_t> layer_bytes) {
  const auto layers = static_cast<uint32_t>(layer_bytes.size());
  if (offload.gpu_layers) {
    if (*offload.gpu_layers < 0 || *offload.gpu_layers >= layers) return layers;
    return static_cast<uint32_t>(*offload.gpu_layers);
  }
  if (offload.cpu_offload_gb) {
    const double wanted = *offload.cpu_offload_gb * 1e9;
    double offloaded = 0.0;
    uint32_t resident = layers;
    while (resident > 0 && offloaded < wanted) offloaded += static_cast<double>(layer_bytes[--resident]);
    return resident;
  }
  return layers;
}

std::string describe_split(uint32_t resident, std::span<const uint64_t> layer_bytes) {
  uint64_t streamed = 0;
  for (size_t i = resident; i < layer_bytes.size(); ++i) streamed += layer_bytes[i];
  char text[160];
  std::snprintf(text, sizeof text, "%u of %zu layers on the GPU, %zu streamed from host memory (%.2f GB)", resident,
                layer_bytes.size(), layer_bytes.size() - resident, static_cast<double>(streamed) / 1e9);
  return text;
}

}  // namespace citadel::llm
