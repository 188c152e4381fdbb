// The committed tiny Wan2.1 checkpoint and its float32 references
// (tests/data/vista, made by tools/vista/make_vista_reference.py): paths,
// reference tensors as f32 vectors, the loaded networks, and the relative
// error the fidelity criteria use. Used by tests/vista/*_test.cpp.
#pragma once

#include "support/test_support.hpp"

#include "model_config.h"
#include "tensor_names.h"
#include "umt5_encoder.h"
#include "wan_transformer.h"
#include "weight_store.h"

#include "runtime/formats/safetensors.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace citadel::test {

inline std::filesystem::path vista_data() { return source_dir() / "tests/data/vista"; }
inline std::filesystem::path vista_checkpoint() { return vista_data() / "tiny"; }

inline std::vector<float> vista_reference(const std::string& name) {
  static const runtime::SafetensorsFile file(vista_data() / "reference.safetensors");
  const runtime::Tensor tensor = file.tensor(name).to_f32();
  const float* data = tensor.data_as<float>();
  return std::vector<float>(data, data + tensor.numel());
}

inline std::vector<int64_t> vista_reference_ints(const std::string& name) {
  static const runtime::SafetensorsFile file(vista_data() / "reference.safetensors");
  const runtime::Tensor tensor = file.tensor(name);
  const int64_t* data = tensor.data_as<int64_t>();
  return std::vector<int64_t>(data, data + tensor.numel());
}

// max |a - b| / max |b|: the relative error of the fidelity criteria.
inline double relative_error(const std::vector<float>& actual, const std::vector<float>& expected) {
  if (actual.size() != expected.size()) return INFINITY;
  double max_diff = 0.0, max_ref = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(double(actual[i]) - double(expected[i])));
    max_ref = std::max(max_ref, std::fabs(double(expected[i])));
  }
  return max_diff / std::max(max_ref, 1e-30);
}

inline vista::WanTransformer load_tiny_transformer(const std::filesystem::path& folder = vista_checkpoint() / "transformer") {
  const vista::WanConfig config = vista::read_wan_config(folder / "config.json");
  const vista::WeightStore store(folder, vista::diffusers_transformer_name);
  return vista::WanTransformer(config, vista::load_wan_weights(config, store));
}

}  // namespace citadel::test
