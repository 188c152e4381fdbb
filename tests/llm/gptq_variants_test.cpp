// GPTQ variants load to the weights they stand for: 4- and 8-bit, v1 and v2
// zero points, act-order g_idx and group size -1 give the logits of a dense
// model holding the dequantized weights.
#include "forward.h"
#include "random_model.h"
#include "small_config.hpp"

#include "runtime/core/thread_pool.h"
#include "runtime/kernels/gptq.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

using namespace citadel::llm;
using citadel::runtime::DType;
using citadel::runtime::Tensor;

namespace {

HfModelConfig variant_config(uint32_t bits, GptqCheckpointFormat format, int32_t group_size) {
  HfModelConfig config = citadel::test::small_llm_config("llama", 80, true);
  config.gptq = GptqSettings{bits, group_size, true, true, format};
  return config;
}

// Replaces each GPTQ projection by a dense f32 weight with its dequantized values.
InMemoryCheckpoint dequantized_copy(const InMemoryCheckpoint& quantized) {
  InMemoryCheckpoint dense;
  dense.config = quantized.config;
  dense.config.gptq.reset();
  const GptqSettings& gptq = *quantized.config.gptq;
  for (const auto& [name, tensor] : quantized.tensors) {
    const std::string suffix = ".qweight";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      if (name.find(".qzeros") == std::string::npos && name.find(".scales") == std::string::npos &&
          name.find(".g_idx") == std::string::npos) {
        dense.tensors[name] = tensor;
      }
      continue;
    }
    const std::string prefix = name.substr(0, name.size() - suffix.size());
    citadel::runtime::GptqTensors layout;
    layout.bits = static_cast<int>(gptq.bits);
    layout.in_features = tensor.dim(0) * (32 / gptq.bits);
    layout.out_features = tensor.dim(1);
    layout.group_size = gptq.group_size;
    layout.qweight = tensor.data_as<int32_t>();
    layout.qzeros = quantized.tensors.at(prefix + ".qzeros").data_as<int32_t>();
    layout.scales = quantized.tensors.at(prefix + ".scales").data_as<uint16_t>();
    layout.g_idx = quantized.tensors.at(prefix + ".g_idx").data_as<int32_t>();
    layout.zero_format = gptq.format == GptqCheckpointFormat::gptq_v2 ? citadel::runtime::GptqZeroFormat::v2
                                                                      : citadel::runtime::GptqZeroFormat::v1;
    const std::vector<float> weight = citadel::runtime::GptqLinear(layout, prefix).dequantize();
    dense.tensors[prefix + ".weight"] =
        Tensor::copy_of(DType::f32, {layout.out_features, layout.in_features}, weight.data());
  }
  return dense;
}

// Act-order: every input row's group is shuffled.
void shuffle_groups(InMemoryCheckpoint& checkpoint, uint32_t seed) {
  std::mt19937 rng(seed);
  for (auto& [name, tensor] : checkpoint.tensors) {
    if (name.find(".g_idx") == std::string::npos) continue;
    Tensor shuffled = tensor.clone();
    int32_t* data = shuffled.data_as<int32_t>();
    std::shuffle(data, data + shuffled.numel(), rng);
    tensor = shuffled;
  }
}

std::vector<float> last_logits(const InMemoryCheckpoint& checkpoint) {
  const ModelWeights weights = load_model_weights(checkpoint.config, checkpoint.finder(), "memory");
  const HfModelConfig& config = checkpoint.config;
  const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, DType::f32};
  ForwardPass forward(config, weights, kv);
  std::vector<std::vector<std::byte>> storage(2, std::vector<std::byte>(kv.block_bytes()));
  std::vector<void*> blocks{storage[0].data(), storage[1].data()};
  const std::vector<int32_t> prompt{3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 3, 2, 38, 4, 6, 26, 43};
  citadel::runtime::ThreadPool pool(2);
  return forward.run(std::vector<SequenceChunk>{{prompt, 0, blocks, true}}, pool);
}

}  // namespace

TEST_CASE("GPTQ variants give the logits of their dequantized dense model", "[llm]") {
  const uint32_t bits = GENERATE(4u, 8u);
  const GptqCheckpointFormat format = GENERATE(GptqCheckpointFormat::gptq_v1, GptqCheckpointFormat::gptq_v2);
  const int32_t group_size = GENERATE(32, -1);
  INFO("bits " << bits << ", v" << (format == GptqCheckpointFormat::gptq_v1 ? 1 : 2) << ", group " << group_size);
  InMemoryCheckpoint quantized = make_random_checkpoint(variant_config(bits, format, group_size), 11);
  if (group_size > 0) shuffle_groups(quantized, 5);
  const std::vector<float> expected = last_logits(dequantized_copy(quantized));
  const std::vector<float> actual = last_logits(quantized);
  REQUIRE(actual.size() == expected.size());
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    diff = std::max(diff, std::abs(double{actual[i]} - expected[i]));
    scale = std::max(scale, std::abs(double{expected[i]}));
  }
  CHECK(scale > 0.1);
  CHECK(diff / scale < 1e-4);
}
