// Name-mapped tensor lookup over a safetensors folder (see weight_store.h).
#include "weight_store.h"

#include "runtime/core/error.h"

namespace citadel::vista {

WeightStore::WeightStore(const std::filesystem::path& folder, std::function<std::string(const std::string&)> rename)
    : checkpoint_(folder) {
  for (const std::string& name : checkpoint_.names()) {
    const std::string lookup = rename ? rename(name) : name;
    auto [it, inserted] = stored_.emplace(lookup, name);
    if (!inserted) {
      runtime::throw_invalid(folder.string() + ": tensors '" + it->second + "' and '" + name + "' both stand for '" +
                             lookup + "'");
    }
  }
}

runtime::Tensor WeightStore::tensor(const std::string& name, const runtime::Shape& shape) const {
  auto it = stored_.find(name);
  if (it == stored_.end()) {
    runtime::throw_not_found(folder().string() + ": tensor '" + name + "' is missing");
  }
  runtime::Tensor tensor = checkpoint_.tensor(it->second);
  if (tensor.shape() != shape) {
    runtime::throw_invalid(folder().string() + ": tensor '" + it->second + "' has shape " +
                           runtime::shape_string(tensor.shape()) + ", expected " + runtime::shape_string(shape));
  }
  const runtime::DType dtype = tensor.dtype();
  if (dtype != runtime::DType::f32 && dtype != runtime::DType::f16 && dtype != runtime::DType::bf16) {
    runtime::throw_unsupported(folder().string() + ": tensor '" + it->second + "' is " +
                               std::string(runtime::dtype_name(dtype)) + " (f32, f16 or bf16 expected)");
  }
  return tensor;
}

std::vector<float> WeightStore::floats(const std::string& name, const runtime::Shape& shape) const {
  const runtime::Tensor converted = tensor(name, shape).to_f32();
  const float* data = converted.data_as<float>();
  return std::vector<float>(data, data + converted.numel());
}

Linear WeightStore::linear(const std::string& prefix, int64_t in, int64_t out, bool with_bias) const {
  Linear linear;
  linear.weight = tensor(prefix + ".weight", {out, in});
  if (with_bias) linear.bias = floats(prefix + ".bias", {out});
  return linear;
}

}  // namespace citadel::vista
