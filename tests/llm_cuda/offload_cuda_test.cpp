// Streamed layers (options gpu_layers / cpu_offload_gb, layer_streamer.h):
// on the reference models (tests/data/llm) and the GGUF test models
// (tests/data/gguf), a CudaForwardPass that keeps only the first N layers on
// the GPU (N = 0, 1 and num_layers - 1, so both staging slots and an odd
// count of streamed layers are exercised), run eagerly and as CUDA graphs,
// gives the 32-token greedy continuations (all prompts batched together) of
// the fully resident pass, and the same prefill logits; only its resident
// layers hold device bytes of their own and pinned host images hold the rest. GPU only: [cuda]; empty without CUDA.
#ifdef CITADEL_HAVE_CUDA

#include "cuda_forward.h"
#include "gguf_model.h"
#include "hf_config.h"
#include "weights.h"

#include "runtime/cuda/device_buffer.h"
#include "runtime/kernels/sampling.h"
#include "llm/reference_data.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

namespace fs = std::filesystem;
using namespace citadel::llm;
namespace cuda = citadel::runtime::cuda;

namespace {

struct Greedy {
  std::vector<std::vector<int32_t>> generated;  // per prompt
  std::vector<float> prefill_logits;
};

// All prompts prefilled in one step, then one token per sequence per step.
Greedy run_greedy(CudaForwardPass& pass, const HfModelConfig& config, const KvGeometry& kv,
                  const std::vector<std::vector<int32_t>>& prompts, size_t steps) {
  Greedy out;
  std::vector<std::vector<int32_t>> sequences = prompts;
  std::vector<std::vector<cuda::DeviceBuffer>> storage(prompts.size());
  std::vector<std::vector<void*>> blocks(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    for (size_t b = 0; b < (prompts[i].size() + steps + kTokensPerBlock - 1) / kTokensPerBlock; ++b) {
      storage[i].emplace_back(kv.block_bytes(), "test KV block");
      blocks[i].push_back(storage[i].back().data());
    }
  }
  std::vector<size_t> computed(prompts.size(), 0);
  for (size_t s = 0; s < steps; ++s) {
    std::vector<SequenceChunk> chunks;
    for (size_t i = 0; i < sequences.size(); ++i) {
      chunks.push_back(SequenceChunk{std::span<const int32_t>(sequences[i]).subspan(computed[i]),
                                     static_cast<uint32_t>(computed[i]), blocks[i], true});
    }
    const std::vector<float> logits = pass.run(chunks);
    REQUIRE(logits.size() == sequences.size() * config.vocab_size);
    if (s == 0) out.prefill_logits = logits;
    for (size_t i = 0; i < sequences.size(); ++i) {
      computed[i] = sequences[i].size();
      sequences[i].push_back(citadel::runtime::argmax(
          std::span<const float>(logits.data() + i * config.vocab_size, config.vocab_size)));
    }
  }
  for (size_t i = 0; i < sequences.size(); ++i) {
    out.generated.emplace_back(sequences[i].begin() + static_cast<std::ptrdiff_t>(prompts[i].size()), sequences[i].end());
  }
  return out;
}

struct GraphsSetting {
  explicit GraphsSetting(bool on) { setenv("CITADEL_CUDA_GRAPHS", on ? "1" : "0", 1); }
  ~GraphsSetting() { unsetenv("CITADEL_CUDA_GRAPHS"); }
};

void check_streamed_equals_resident(const std::string& name, const HfModelConfig& config, const ModelWeights& weights,
                                    const std::vector<std::vector<int32_t>>& prompts, size_t steps) {
  INFO("model " << name);
  const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f16};
  CudaForwardPass resident(config, weights, kv, nullptr);
  const Greedy expected = run_greedy(resident, config, kv, prompts, steps);
  std::set<uint32_t> keeps{0u, 1u, config.num_layers - 1};
  keeps.erase(config.num_layers);  // a one-layer model: 0 only
  for (const uint32_t keep : keeps) {
    for (const bool graphs : {false, true}) {
      INFO("gpu_layers " << keep << (graphs ? ", CUDA graphs" : ", eager"));
      const GraphsSetting setting(graphs);
      CudaForwardPass streamed(config, weights, kv, nullptr, keep);
      CHECK(streamed.resident_layers() == keep);
      CHECK(streamed.host_weight_bytes() > 0);
      for (uint32_t i = 0; i < config.num_layers; ++i) {
        CHECK(streamed.layer_device_bytes(i) == (i < keep ? resident.layer_device_bytes(i) : 0));
      }
      const Greedy got = run_greedy(streamed, config, kv, prompts, steps);
      if (graphs) CHECK(streamed.graph_replays() > 0);
      double worst = 0.0;
      REQUIRE(got.prefill_logits.size() == expected.prefill_logits.size());
      for (size_t i = 0; i < got.prefill_logits.size(); ++i) {
        worst = std::max(worst, double{std::abs(got.prefill_logits[i] - expected.prefill_logits[i])});
      }
      CHECK(worst == 0.0);  // the same kernels on the same bytes
      for (size_t i = 0; i < prompts.size(); ++i) {
        INFO("prompt " << i);
        CHECK(got.generated[i] == expected.generated[i]);
      }
    }
  }
  std::cout << name << ": streamed layers give the resident pass's greedy tokens\n";
}

std::vector<std::vector<int32_t>> prompts_of(const boost::json::object& reference) {
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& prompt : reference.at("prompts").as_array()) {
    prompts.push_back(citadel::test::reference_numbers<int32_t>(prompt.at("input_ids")));
  }
  return prompts;
}

}  // namespace

TEST_CASE("CUDA streamed layers (gpu_layers < num_layers) give the resident greedy tokens, HF test models", "[cuda]") {
  REQUIRE(cuda::device_available());
  const std::vector<fs::path> models = citadel::test::reference_models();
  REQUIRE(models.size() >= 3);
  for (const fs::path& model : models) {
    const HfModelConfig config = load_hf_config(model);
    const ModelWeights weights = load_checkpoint_weights(config, model.string());
    const boost::json::object reference = citadel::test::read_reference(model);
    check_streamed_equals_resident(model.filename().string(), config, weights, prompts_of(reference),
                                   static_cast<size_t>(reference.at("steps").to_number<int64_t>()));
  }
}

TEST_CASE("CUDA streamed layers (gpu_layers < num_layers) give the resident greedy tokens, GGUF test models", "[cuda]") {
  REQUIRE(cuda::device_available());
  const fs::path root = citadel::test::source_dir() / "tests/data/gguf";
  for (const char* name : {"llama-gguf", "llama-spm-gguf", "qwen2-gguf", "qwen3-gguf"}) {
    const GgufModel model = load_gguf_model(root / name / "model.gguf", "auto", "");
    const boost::json::object reference = citadel::test::read_reference(root / name);
    check_streamed_equals_resident(name, model.config, model.weights, prompts_of(reference),
                                   static_cast<size_t>(reference.at("steps").to_number<int64_t>()));
  }
}

#endif  // CITADEL_HAVE_CUDA
