// The committed reference models (tests/data/llm/<model>/reference.json, made
// by tools/dump_reference.py) as the llm tests read them: which models there
// are, their reference JSON, and number arrays out of it. Set
// CITADEL_LLM_REFERENCE_DIR to test against another folder of models.
//
// Used by tests/llm/reference_test.cpp and tests/llm_cuda/cuda_forward_test.cpp.
#pragma once

#include "support/test_support.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace citadel::test {

inline std::vector<std::filesystem::path> reference_models() {
  namespace fs = std::filesystem;
  std::vector<fs::path> models;
  const char* override_root = std::getenv("CITADEL_LLM_REFERENCE_DIR");
  const fs::path root = override_root ? fs::path(override_root) : source_dir() / "tests/data/llm";
  if (!fs::exists(root)) return models;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (fs::exists(entry.path() / "reference.json")) models.push_back(entry.path());
  }
  std::sort(models.begin(), models.end());
  return models;
}

inline boost::json::object read_reference(const std::filesystem::path& model) {
  std::ifstream in(model / "reference.json");
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

template <typename T>
std::vector<T> reference_numbers(const boost::json::value& array) {
  std::vector<T> values;
  for (const auto& v : array.as_array()) values.push_back(static_cast<T>(v.to_number<double>()));
  return values;
}

}  // namespace citadel::test
