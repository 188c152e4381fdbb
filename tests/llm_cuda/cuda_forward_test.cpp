// llm-gptq's CUDA forward pass (cuda_forward.h) against the committed
// reference models (tests/data/llm/<model>/reference.json, or the folder in
// CITADEL_LLM_REFERENCE_DIR): last-position logits within 1e-2 relative error
// of the reference and of the CPU forward pass, and the 32-token greedy
// continuation, prompts batched together (greedy ids from the device's
// argmax or from the copied rows, as llm-gptq's step takes them), identical
// to the reference; a
// chunked prefill equals a one-chunk prefill. KV
// blocks are cudaMalloc'd here. GPU only: tagged [cuda]; empty without CUDA.
#ifdef CITADEL_HAVE_CUDA

#include "cuda_forward.h"
#include "forward.h"
#include "hf_config.h"
#include "weights.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/kernels/sampling.h"
#include "llm/reference_data.hpp"
#include "support/test_support.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace citadel::llm;
namespace cuda = citadel::runtime::cuda;

namespace {

using citadel::test::read_reference;
using citadel::test::reference_models;

template <typename T>
std::vector<T> numbers(const boost::json::value& array) {
  return citadel::test::reference_numbers<T>(array);
}

double relative_error(const std::vector<float>& actual, const std::vector<double>& expected) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    diff = std::max(diff, std::abs(actual[i] - expected[i]));
    scale = std::max(scale, std::abs(expected[i]));
  }
  return diff / scale;
}

// Device cache blocks (each its own cudaMalloc) for one sequence.
struct DeviceBlocks {
  DeviceBlocks(const KvGeometry& kv, size_t positions) {
    for (size_t b = 0; b < (positions + kTokensPerBlock - 1) / kTokensPerBlock; ++b) {
      storage.emplace_back(kv.block_bytes(), "test KV block");
      addresses.push_back(storage.back().data());
    }
  }
  std::vector<cuda::DeviceBuffer> storage;
  std::vector<void*> addresses;
};

}  // namespace

TEST_CASE("CUDA forward last-position logits match the reference and the CPU path within 1e-2, f16 and f32 KV", "[cuda]") {
  REQUIRE(cuda::device_available());
  const std::vector<fs::path> models = reference_models();
  REQUIRE(models.size() >= 3);
  citadel::runtime::ThreadPool pool(4);
  for (const fs::path& model : models) {
    INFO("model " << model.filename().string());
    const HfModelConfig config = load_hf_config(model);
    const ModelWeights weights = load_checkpoint_weights(config, model.string());
    const boost::json::object reference = read_reference(model);
    for (const auto kv_dtype : {citadel::runtime::DType::f16, citadel::runtime::DType::f32}) {
      INFO("KV cache " << citadel::runtime::dtype_name(kv_dtype));
      const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, kv_dtype};
      ForwardPass cpu(config, weights, kv);
      CudaForwardPass gpu(config, weights, kv, nullptr);
      for (const auto& prompt_value : reference.at("prompts").as_array()) {
        const auto& prompt = prompt_value.as_object();
        const std::vector<int32_t> ids = numbers<int32_t>(prompt.at("input_ids"));
        const std::vector<double> expected = numbers<double>(prompt.at("last_logits"));
        DeviceBlocks blocks(kv, ids.size());
        const std::vector<float> logits = gpu.run(std::vector<SequenceChunk>{{ids, 0, blocks.addresses, true}});
        REQUIRE(logits.size() == expected.size());
        std::vector<std::vector<std::byte>> host_storage((ids.size() + kTokensPerBlock - 1) / kTokensPerBlock,
                                                         std::vector<std::byte>(kv.block_bytes()));
        std::vector<void*> host_blocks;
        for (auto& block : host_storage) host_blocks.push_back(block.data());
        const std::vector<float> cpu_logits = cpu.run(std::vector<SequenceChunk>{{ids, 0, host_blocks, true}}, pool);
        const std::vector<double> cpu_as_double(cpu_logits.begin(), cpu_logits.end());
        const double vs_reference = relative_error(logits, expected);
        const double vs_cpu = relative_error(logits, cpu_as_double);
        INFO("prompt " << prompt.at("text").as_string().c_str() << ": relative error " << vs_reference
                       << " vs reference, " << vs_cpu << " vs CPU");
        CHECK(vs_reference < 1e-2);
        CHECK(vs_cpu < 1e-2);
      }
    }
  }
}

TEST_CASE("CUDA greedy continuations of all prompts batched together equal the reference", "[cuda]") {
  REQUIRE(cuda::device_available());
  const std::vector<fs::path> models = reference_models();
  REQUIRE(models.size() >= 3);
  for (const fs::path& model : models) {
    INFO("model " << model.filename().string());
    const HfModelConfig config = load_hf_config(model);
    const ModelWeights weights = load_checkpoint_weights(config, model.string());
    const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f16};
    CudaForwardPass gpu(config, weights, kv, nullptr);
    const boost::json::object reference = read_reference(model);
    const auto& prompts = reference.at("prompts").as_array();
    const size_t steps = static_cast<size_t>(reference.at("steps").to_number<int64_t>());
    std::vector<std::vector<int32_t>> sequences;
    std::vector<DeviceBlocks> blocks;
    for (const auto& prompt : prompts) {
      sequences.push_back(numbers<int32_t>(prompt.at("input_ids")));
      blocks.emplace_back(kv, sequences.back().size() + steps);
    }
    // Step 0: every prompt as one prefill chunk in one batch; then one
    // decode token per sequence per step. run_step as llm-gptq calls it:
    // even sequences take the device's argmax (argmax_only, no row copied),
    // odd ones the argmax of their copied row, which must agree with the
    // device's.
    std::vector<size_t> computed(sequences.size(), 0);
    for (size_t step = 0; step < steps; ++step) {
      std::vector<SequenceChunk> chunks;
      for (size_t s = 0; s < sequences.size(); ++s) {
        chunks.push_back(SequenceChunk{std::span<const int32_t>(sequences[s]).subspan(computed[s]),
                                       static_cast<uint32_t>(computed[s]), blocks[s].addresses, true});
        chunks.back().argmax_only = s % 2 == 0;
      }
      const CudaForwardPass::StepLogits logits = gpu.run_step(chunks);
      REQUIRE(logits.rows.size() == sequences.size() * config.vocab_size);
      REQUIRE(logits.argmax.size() == sequences.size());
      for (size_t s = 0; s < sequences.size(); ++s) {
        computed[s] = sequences[s].size();
        if (s % 2 == 0) {
          sequences[s].push_back(logits.argmax[s]);
          continue;
        }
        const std::span<const float> row = logits.rows.subspan(s * config.vocab_size, config.vocab_size);
        CHECK(logits.argmax[s] == citadel::runtime::argmax(row));
        sequences[s].push_back(citadel::runtime::argmax(row));
      }
    }
    for (size_t s = 0; s < sequences.size(); ++s) {
      INFO("prompt " << s);
      const std::vector<int32_t> prompt_ids = numbers<int32_t>(prompts[s].at("input_ids"));
      const std::vector<int32_t> generated(sequences[s].begin() + static_cast<std::ptrdiff_t>(prompt_ids.size()),
                                           sequences[s].end());
      CHECK(generated == numbers<int32_t>(prompts[s].at("greedy_ids")));
    }
  }
}

TEST_CASE("CUDA prefill in 5-token chunks gives the logits of a one-chunk prefill", "[cuda]") {
  REQUIRE(cuda::device_available());
  const std::vector<fs::path> models = reference_models();
  REQUIRE_FALSE(models.empty());
  const HfModelConfig config = load_hf_config(models.front());
  const ModelWeights weights = load_checkpoint_weights(config, models.front().string());
  const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f16};
  CudaForwardPass gpu(config, weights, kv, nullptr);
  const boost::json::object reference = read_reference(models.front());
  const std::vector<int32_t> ids = numbers<int32_t>(reference.at("prompts").as_array().at(0).at("input_ids"));
  REQUIRE(ids.size() > 10);
  DeviceBlocks whole_blocks(kv, ids.size()), chunked_blocks(kv, ids.size());
  const std::vector<float> whole = gpu.run(std::vector<SequenceChunk>{{ids, 0, whole_blocks.addresses, true}});
  std::vector<float> chunked;
  for (size_t first = 0; first < ids.size(); first += 5) {
    const size_t count = std::min<size_t>(5, ids.size() - first);
    const bool last = first + count == ids.size();
    chunked = gpu.run(std::vector<SequenceChunk>{
        {std::span<const int32_t>(ids).subspan(first, count), static_cast<uint32_t>(first), chunked_blocks.addresses, last}});
    CHECK(chunked.size() == (last ? config.vocab_size : 0));
  }
  const std::vector<double> whole_as_double(whole.begin(), whole.end());
  CHECK(relative_error(chunked, whole_as_double) < 1e-2);  // GEMV vs f16 cuBLAS rows
}

TEST_CASE("CUDA run_step gives run()'s rows and their argmax, pinned and past kPinnedLogitsRows", "[cuda]") {
  REQUIRE(cuda::device_available());
  const std::vector<fs::path> models = reference_models();
  REQUIRE_FALSE(models.empty());
  const HfModelConfig config = load_hf_config(models.front());
  const ModelWeights weights = load_checkpoint_weights(config, models.front().string());
  const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f16};
  CudaForwardPass gpu(config, weights, kv, nullptr);
  for (const size_t length : {size_t{20}, CudaForwardPass::kPinnedLogitsRows + 44}) {
    INFO("rows " << length);
    std::vector<int32_t> ids(length);
    for (size_t i = 0; i < length; ++i) ids[i] = static_cast<int32_t>((i * 37 + 5) % config.vocab_size);
    DeviceBlocks blocks(kv, length);
    SequenceChunk chunk{ids, 0, blocks.addresses, true};
    chunk.all_logits = true;  // every position's row, as prompt logprobs ask
    const std::vector<float> expected = gpu.run(std::vector<SequenceChunk>{chunk});
    const CudaForwardPass::StepLogits step = gpu.run_step(std::vector<SequenceChunk>{chunk});
    REQUIRE(step.rows.size() == expected.size());
    REQUIRE(step.argmax.size() == length);
    // The same step twice (the second replayed from its graph): the same rows.
    const std::vector<float> copied(step.rows.begin(), step.rows.end());
    CHECK(relative_error(copied, std::vector<double>(expected.begin(), expected.end())) < 1e-5);
    for (size_t r = 0; r < length; ++r) {
      CHECK(step.argmax[r] == citadel::runtime::argmax(step.rows.subspan(r * config.vocab_size, config.vocab_size)));
    }
  }
}

TEST_CASE("CUDA forward refuses a chunk whose positions exceed its cache blocks", "[cuda]") {
  REQUIRE(cuda::device_available());
  const std::vector<fs::path> models = reference_models();
  REQUIRE_FALSE(models.empty());
  const HfModelConfig config = load_hf_config(models.front());
  const ModelWeights weights = load_checkpoint_weights(config, models.front().string());
  const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f16};
  CudaForwardPass gpu(config, weights, kv, nullptr);
  DeviceBlocks blocks(kv, kTokensPerBlock);
  const std::vector<int32_t> ids(kTokensPerBlock + 1, 1);
  CHECK_THROWS_WITH(gpu.run(std::vector<SequenceChunk>{{ids, 0, blocks.addresses, true}}),
                    Catch::Contains("cache blocks"));
}

#endif  // CITADEL_HAVE_CUDA
