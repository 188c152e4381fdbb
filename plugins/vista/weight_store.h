// WeightStore: the tensors of one network of a checkpoint folder
// (safetensors, sharded or not), looked up by their diffusers names whatever
// spelling the files use (a rename function maps stored names at load; two
// stored names mapping to one is an error naming both). Matrices stay in the
// file's dtype (f32, f16 or bf16, mapped, not copied) for runtime::matmul;
// vectors and small tables come out as f32. Errors name the folder and tensor.
// Used by the UMT5 encoder and the Wan transformer loaders.
#pragma once

#include "runtime/core/tensor.h"
#include "runtime/formats/safetensors.h"

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace citadel::vista {

// A linear layer's weight [out, in] (file dtype) and optional f32 bias [out].
struct Linear {
  runtime::Tensor weight;
  std::vector<float> bias;  // empty: no bias
  int64_t in() const { return weight.dim(1); }
  int64_t out() const { return weight.dim(0); }
};

class WeightStore {
 public:
  // `rename` maps a stored name to the lookup name (identity when empty).
  WeightStore(const std::filesystem::path& folder, std::function<std::string(const std::string&)> rename = {});

  const std::filesystem::path& folder() const { return checkpoint_.directory(); }
  bool has(const std::string& name) const { return stored_.count(name) != 0; }
  // The tensor as stored; its shape must equal `shape` (throws naming both).
  runtime::Tensor tensor(const std::string& name, const runtime::Shape& shape) const;
  // The tensor converted to f32 values (shape checked).
  std::vector<float> floats(const std::string& name, const runtime::Shape& shape) const;
  // `<prefix>.weight` [out, in] and, when with_bias, `<prefix>.bias` [out].
  Linear linear(const std::string& prefix, int64_t in, int64_t out, bool with_bias) const;

 private:
  runtime::SafetensorsCheckpoint checkpoint_;
  std::map<std::string, std::string> stored_;  // lookup name -> stored name
};

}  // namespace citadel::vista
