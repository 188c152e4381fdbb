// Access to the DeepSeek-OCR reference fixtures (tests/data/deepseek-ocr,
// made by tools/deepseek_ocr/make_tiny.py): the cases listed in index.json,
// file bytes, reference tensors, and the error measure the tests use.
// Used by the tests in tests/deepseek_ocr.
#pragma once

#include "runtime/formats/json_file.h"
#include "runtime/formats/safetensors.h"
#include "support/test_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace citadel::test::ocr {

inline std::filesystem::path data_dir() { return source_dir() / "tests/data/deepseek-ocr"; }

struct FixtureCase {
  std::string name, mode, image;
  int width = 0, height = 0, grid_columns = 1, grid_rows = 1, tiles = 0;
  int64_t image_tokens = 0;
};

inline std::vector<FixtureCase> fixture_cases() {
  const auto path = data_dir() / "index.json";
  const auto root = runtime::read_json_file(path);
  std::vector<FixtureCase> out;
  for (const auto& [name, value] : runtime::as_object(root, path.string()).at("cases").as_object()) {
    const auto& c = runtime::as_object(value, path.string() + ": " + std::string(name));
    const std::string where = path.string() + ": " + std::string(name);
    FixtureCase f;
    f.name = name;
    f.mode = runtime::required_string(c, "mode", where);
    f.image = runtime::required_string(c, "image", where);
    f.width = static_cast<int>(c.at("image_size").as_array().at(0).to_number<int64_t>());
    f.height = static_cast<int>(c.at("image_size").as_array().at(1).to_number<int64_t>());
    f.grid_columns = static_cast<int>(c.at("grid").as_array().at(0).to_number<int64_t>());
    f.grid_rows = static_cast<int>(c.at("grid").as_array().at(1).to_number<int64_t>());
    f.tiles = static_cast<int>(runtime::required_int(c, "n_tiles", where));
    f.image_tokens = runtime::required_int(c, "n_image_tokens", where);
    out.push_back(f);
  }
  return out;
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// The reference tensor `name` of a case's ref.safetensors, as f32 values.
inline std::vector<float> reference_tensor(const std::string& case_name, const std::string& name) {
  const runtime::SafetensorsFile file(data_dir() / "cases" / case_name / "ref.safetensors");
  const runtime::Tensor t = file.tensor(name).to_f32();
  const float* p = t.data_as<float>();
  return std::vector<float>(p, p + t.numel());
}

// max |a - b| / max |b| (the tolerance measure of tools/deepseek_ocr/README.md);
// infinity when the sizes differ.
inline double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || b.empty()) return INFINITY;
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return scale > 0.0 ? diff / scale : diff;
}

}  // namespace citadel::test::ocr
