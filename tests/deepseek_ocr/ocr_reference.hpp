// The committed DeepSeek-OCR reference (tests/data/deepseek-ocr, made by
// tools/deepseek_ocr/make_tiny.py) as the deepseek-ocr tests read it: the tiny
// checkpoint's folder, index.json's cases, each case's ref.safetensors
// tensors, a tiny in-memory block pool and greedy decoding for driving the
// decoder directly.
//
// Used by tests/deepseek_ocr/*_test.cpp (header-only).
#pragma once

#include "support/test_support.hpp"

#include "decoder_pass.h"

#include "runtime/formats/safetensors.h"
#include "runtime/kernels/sampling.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace citadel::test {

inline std::filesystem::path ocr_data_dir() { return source_dir() / "tests/data/deepseek-ocr"; }
inline std::filesystem::path ocr_model_dir() { return ocr_data_dir() / "model"; }

inline boost::json::object ocr_index() {
  std::ifstream in(ocr_data_dir() / "index.json");
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

// Whether a reference case runs in this build. The sanitizer builds
// (CITADEL_SANITIZED_BUILD: -O1 and instrumented) take about a minute of CPU
// per case through the CPU encoder, most of CI's sanitizer stage for 16
// cases: there the encoder and pipeline tests run one page of each mode
// ("small-*", 480x360) and one tiled Gundam page ("wide-gundam"), which reach
// every code path. The normal build runs all 16.
inline bool ocr_case_in_this_build(const std::string& name) {
#ifdef CITADEL_SANITIZED_BUILD
  return name.rfind("small-", 0) == 0 || name == "wide-gundam";
#else
  return !name.empty();
#endif
}

// Case names (sorted): "<page>-<mode>".
inline std::vector<std::string> ocr_case_names() {
  std::vector<std::string> names;
  const boost::json::object index = ocr_index();
  for (const auto& entry : index.at("cases").as_object()) names.emplace_back(entry.key());
  std::sort(names.begin(), names.end());
  return names;
}

template <typename T>
std::vector<T> tensor_values(const runtime::Tensor& tensor) {
  std::vector<T> values(static_cast<size_t>(tensor.numel()));
  if (tensor.dtype() == runtime::DType::i64) {
    const int64_t* data = tensor.data_as<int64_t>();
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<T>(data[i]);
  } else {
    const runtime::Tensor f32 = tensor.to_f32();
    const float* data = f32.data_as<float>();
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<T>(data[i]);
  }
  return values;
}

// max |a - b| / max |b|.
inline double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// Zeroed cache blocks for one sequence, grown on demand.
class TestBlocks {
 public:
  explicit TestBlocks(size_t block_bytes, uint32_t tokens_per_block)
      : block_bytes_(block_bytes), tokens_per_block_(tokens_per_block) {}
  std::vector<void*>& cover(uint64_t positions) {
    while (addresses_.size() * tokens_per_block_ < positions) {
      storage_.emplace_back(block_bytes_, std::byte{0});
      addresses_.push_back(storage_.back().data());
    }
    return addresses_;
  }

 private:
  size_t block_bytes_;
  uint32_t tokens_per_block_;
  std::vector<std::vector<std::byte>> storage_;
  std::vector<void*> addresses_;
};

// Appends `count` greedy tokens to a prefilled `sequence` whose last
// position's logits are `logits`, decoding one token per pass; returns them.
inline std::vector<int32_t> greedy_continue(deepseek_ocr::DecoderPass& pass, TestBlocks& blocks,
                                            std::vector<int32_t>& sequence, std::vector<float> logits, size_t count,
                                            runtime::ThreadPool& pool) {
  std::vector<int32_t> greedy;
  for (size_t step = 0; step < count; ++step) {
    greedy.push_back(runtime::argmax(logits));
    sequence.push_back(greedy.back());
    if (step + 1 == count) break;
    deepseek_ocr::DecoderChunk next;
    next.tokens = std::span<const int32_t>(&sequence.back(), 1);
    next.first_position = static_cast<uint32_t>(sequence.size() - 1);
    next.blocks = blocks.cover(sequence.size());
    next.want_logits = true;
    logits = pass.run(std::span(&next, 1), pool);
  }
  return greedy;
}

}  // namespace citadel::test
