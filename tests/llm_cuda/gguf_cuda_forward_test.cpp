// llm-gptq's CUDA forward pass on the GGUF test models (tests/data/gguf:
// llama, llama-spm, qwen2, qwen3, every block type used as stored; the real
// SmolLM2 Q4_1 file too when installed): the 32-token greedy continuations
// of all prompts batched together identical on cuda:0 and on the CPU path
// (and to transformers' reference), the prefill logits within 1e-2 of the
// CPU's (relative to their largest magnitude), and the weights on the device
// about the file's size (quantized, not f16 copies). GPU only: [cuda].
#ifdef CITADEL_HAVE_CUDA

#include "cuda_forward.h"
#include "forward.h"
#include "gguf_model.h"

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
#include <functional>
#include <iostream>

namespace fs = std::filesystem;
using namespace citadel::llm;
namespace cuda = citadel::runtime::cuda;

namespace {

std::vector<fs::path> gguf_models() {
  const fs::path root = citadel::test::source_dir() / "tests/data/gguf";
  std::vector<fs::path> models;
  for (const char* name : {"llama-gguf", "llama-spm-gguf", "qwen2-gguf", "qwen3-gguf"}) models.push_back(root / name / "model.gguf");
  const char* env = std::getenv("CITADEL_SMOLLM2_GGUF");
  const fs::path smollm2 = env != nullptr ? fs::path(env) : citadel::test::source_dir() / "models/smollm2-135m-instruct-q4_1.gguf";
  if (fs::exists(smollm2)) {
    models.push_back(smollm2);
  } else {
    std::cout << "SKIPPED: SmolLM2 GGUF on CUDA: " << smollm2.string() << " is not installed\n";
  }
  return models;
}

fs::path reference_of(const fs::path& model) {
  if (model.parent_path().filename() == "models" || model.filename().string().find("smollm2") != std::string::npos) {
    return citadel::test::source_dir() / "tests/data/gguf/smollm2";
  }
  return model.parent_path();
}

// KV blocks of one sequence: device (cudaMalloc'd) or host memory.
struct Blocks {
  Blocks(const KvGeometry& kv, size_t positions, bool device) {
    for (size_t b = 0; b < (positions + kTokensPerBlock - 1) / kTokensPerBlock; ++b) {
      if (device) {
        on_device.emplace_back(kv.block_bytes(), "test KV block");
        addresses.push_back(on_device.back().data());
      } else {
        on_host.emplace_back(kv.block_bytes());
        addresses.push_back(on_host.back().data());
      }
    }
  }
  std::vector<cuda::DeviceBuffer> on_device;
  std::vector<std::vector<std::byte>> on_host;
  std::vector<void*> addresses;
};

using StepFn = std::function<std::vector<float>(const std::vector<SequenceChunk>&)>;

// All prompts prefilled in one step, then one token per sequence per step;
// returns the generated ids per prompt and the logits of the first step.
std::vector<std::vector<int32_t>> greedy(const StepFn& step, const std::vector<std::vector<int32_t>>& prompts,
                                         size_t steps, size_t vocab, const KvGeometry& kv, bool device,
                                         std::vector<float>& first_logits) {
  std::vector<std::vector<int32_t>> sequences = prompts;
  std::vector<Blocks> blocks;
  for (const auto& prompt : prompts) blocks.emplace_back(kv, prompt.size() + steps, device);
  std::vector<size_t> computed(prompts.size(), 0);
  for (size_t s = 0; s < steps; ++s) {
    std::vector<SequenceChunk> chunks;
    for (size_t i = 0; i < sequences.size(); ++i) {
      chunks.push_back(SequenceChunk{std::span<const int32_t>(sequences[i]).subspan(computed[i]),
                                     static_cast<uint32_t>(computed[i]), blocks[i].addresses, true});
    }
    const std::vector<float> logits = step(chunks);
    REQUIRE(logits.size() == sequences.size() * vocab);
    if (s == 0) first_logits = logits;
    for (size_t i = 0; i < sequences.size(); ++i) {
      computed[i] = sequences[i].size();
      sequences[i].push_back(citadel::runtime::argmax(std::span<const float>(logits.data() + i * vocab, vocab)));
    }
  }
  for (size_t i = 0; i < sequences.size(); ++i) sequences[i].erase(sequences[i].begin(), sequences[i].begin() + static_cast<std::ptrdiff_t>(prompts[i].size()));
  return sequences;
}

}  // namespace

TEST_CASE("GGUF models on CUDA: greedy tokens identical to the CPU path, weights kept quantized", "[cuda]") {
  REQUIRE(cuda::device_available());
  citadel::runtime::ThreadPool pool(4);
  for (const fs::path& path : gguf_models()) {
    INFO("model " << path.string());
    const GgufModel model = load_gguf_model(path, "auto", "");
    const HfModelConfig& config = model.config;
    const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f32};
    const boost::json::object reference = citadel::test::read_reference(reference_of(path));
    const size_t steps = static_cast<size_t>(reference.at("steps").to_number<int64_t>());
    std::vector<std::vector<int32_t>> prompts, expected;
    for (const auto& prompt : reference.at("prompts").as_array()) {
      prompts.push_back(citadel::test::reference_numbers<int32_t>(prompt.at("input_ids")));
      expected.push_back(citadel::test::reference_numbers<int32_t>(prompt.at("greedy_ids")));
    }

    CudaForwardPass gpu(config, model.weights, kv, nullptr);
    const uint64_t file_bytes = fs::file_size(path);
    std::cout << path.filename().string() << " (" << path.parent_path().filename().string() << "): "
              << gpu.device_weight_bytes() << " bytes of weights on the device, file " << file_bytes << " bytes\n";
    // Blocks as stored (rows padded to 16 bytes), a tied token_embd held once: about the file's size.
    CHECK(gpu.device_weight_bytes() < file_bytes * 11 / 10);

    ForwardPass cpu(config, model.weights, kv);
    std::vector<float> gpu_logits, cpu_logits;
    const auto on_gpu = greedy([&](const std::vector<SequenceChunk>& c) { return gpu.run(c); }, prompts, steps,
                               config.vocab_size, kv, true, gpu_logits);
    const auto on_cpu = greedy([&](const std::vector<SequenceChunk>& c) { return cpu.run(c, pool); }, prompts, steps,
                               config.vocab_size, kv, false, cpu_logits);
    double worst = 0.0, scale = 0.0;
    for (size_t i = 0; i < cpu_logits.size() && i < gpu_logits.size(); ++i) {
      worst = std::max(worst, double{std::abs(gpu_logits[i] - cpu_logits[i])});
      scale = std::max(scale, double{std::abs(cpu_logits[i])});
    }
    INFO("prefill logits: max |cuda - cpu| " << worst << " of " << scale);
    CHECK(worst / scale < 1e-2);
    for (size_t i = 0; i < prompts.size(); ++i) {
      INFO("prompt " << i);
      CHECK(on_gpu[i] == on_cpu[i]);
      CHECK(on_gpu[i] == expected[i]);
    }
  }
}

#endif  // CITADEL_HAVE_CUDA
