// bench_deepseek_ocr_decode: decode steps of the deepseek-ocr CPU decoder
// (decoder_pass.h) on random bf16 weights with DeepSeek-OCR's released sizes
// (1280 wide, 12 layers, dense layer 0 of 6848, 64 routed experts of 896,
// top-6, 2 shared, vocabulary 129,280), or smaller via flags, over a context
// of random f16 KV entries. Prints decode tokens/s per batch size.
// Never asserts.
//
//   bench_deepseek_ocr_decode [--experts 64] [--layers 12] [--batches 1,16,64]
//                             [--context 512] [--steps 8] [--threads 0]
#include "decoder_config.h"
#include "decoder_pass.h"
#include "decoder_weights.h"

#include "bench_flags.h"

#include "runtime/core/half.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace citadel;

namespace {

runtime::Tensor random_bf16(const runtime::Shape& shape, uint64_t seed, float scale) {
  runtime::Tensor tensor = runtime::Tensor::zeros(runtime::DType::bf16, shape);
  uint16_t* data = tensor.data_as<uint16_t>();
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < tensor.numel(); ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    const float unit = static_cast<float>(state >> 40) / static_cast<float>(1ull << 24) * 2.0f - 1.0f;
    data[i] = runtime::float_to_bfloat16(unit * scale);
  }
  return tensor;
}

}  // namespace

int main(int argc, char** argv) {
  deepseek_ocr::DecoderConfig config;
  config.vocab_size = 129280;
  config.hidden_size = 1280;
  config.num_layers = 12;
  config.num_heads = config.num_kv_heads = 10;
  config.head_dim = 128;
  config.intermediate_size = 6848;
  config.moe_intermediate_size = 896;
  config.n_routed_experts = 64;
  config.n_shared_experts = 2;
  config.experts_per_token = 6;
  config.first_k_dense_replace = 1;
  std::vector<int> batches;
  int context = 0, steps = 0;
  unsigned threads = 0;
  try {
    const bench::BenchFlags flags(argc, argv);
    config.n_routed_experts = static_cast<uint32_t>(flags.integer("--experts", config.n_routed_experts));
    config.num_layers = static_cast<uint32_t>(flags.integer("--layers", config.num_layers));
    batches = flags.integer_list("--batches", {1, 16, 64});
    context = static_cast<int>(flags.integer("--context", 512));
    steps = static_cast<int>(flags.integer("--steps", 8));
    threads = static_cast<unsigned>(flags.integer("--threads", 0));
    flags.reject_unknown();
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 2;
  }
  config.experts_per_token = std::min(config.experts_per_token, config.n_routed_experts);

  uint64_t seed = 1;
  uint64_t total_bytes = 0;
  // Build the tensors the loader asks for, in the shapes it expects.
  std::map<std::string, runtime::Tensor> tensors;
  auto add = [&](const std::string& name, runtime::Shape shape, float scale) {
    tensors[name] = random_bf16(shape, seed++, scale);
    total_bytes += tensors[name].nbytes();
  };
  const int64_t h = config.hidden_size, qd = int64_t{config.num_heads} * config.head_dim;
  add("model.embed_tokens.weight", {int64_t{config.vocab_size}, h}, 1.0f);
  add("lm_head.weight", {int64_t{config.vocab_size}, h}, 0.05f);
  add("model.norm.weight", {h}, 1.0f);
  auto mlp = [&](const std::string& prefix, int64_t width) {
    add(prefix + ".gate_proj.weight", {width, h}, 0.03f);
    add(prefix + ".up_proj.weight", {width, h}, 0.03f);
    add(prefix + ".down_proj.weight", {h, width}, 0.03f);
  };
  for (uint32_t l = 0; l < config.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    add(p + ".input_layernorm.weight", {h}, 1.0f);
    add(p + ".post_attention_layernorm.weight", {h}, 1.0f);
    for (const char* proj : {"q_proj", "k_proj", "v_proj"}) add(p + ".self_attn." + proj + ".weight", {qd, h}, 0.03f);
    add(p + ".self_attn.o_proj.weight", {h, qd}, 0.03f);
    if (!config.is_moe_layer(l)) {
      mlp(p + ".mlp", config.intermediate_size);
      continue;
    }
    add(p + ".mlp.gate.weight", {int64_t{config.n_routed_experts}, h}, 0.1f);
    for (uint32_t e = 0; e < config.n_routed_experts; ++e) mlp(p + ".mlp.experts." + std::to_string(e), config.moe_intermediate_size);
    mlp(p + ".mlp.shared_experts", config.shared_intermediate());
  }
  const deepseek_ocr::TensorFinder find = [&](const std::string& name) {
    auto it = tensors.find(name);
    return it == tensors.end() ? runtime::Tensor{} : it->second;
  };
  const deepseek_ocr::DecoderWeights weights = deepseek_ocr::load_decoder_weights(config, find, "random weights");
  runtime::ThreadPool pool(threads);
  deepseek_ocr::DecoderPass pass(config, weights, runtime::DType::f16);
  const size_t block_bytes = size_t{deepseek_ocr::kTokensPerBlock} * config.num_layers * pass.bytes_per_token_per_layer();
  std::printf("deepseek-ocr decoder, CPU: %u layers, %u experts (top-%u) of %u, hidden %u; %.2f GB bf16 weights; "
              "%u threads; context %d\n",
              config.num_layers, config.n_routed_experts, config.experts_per_token, config.moe_intermediate_size,
              config.hidden_size, total_bytes / 1e9, pool.size(), context);

  for (int batch : batches) {
    const size_t blocks_per_sequence = (context + steps + deepseek_ocr::kTokensPerBlock) / deepseek_ocr::kTokensPerBlock;
    std::vector<uint16_t> storage(batch * blocks_per_sequence * block_bytes / 2);
    for (size_t i = 0; i < storage.size(); ++i) storage[i] = runtime::float_to_half(static_cast<float>((i * 7919) % 2001) / 1000.0f - 1.0f);
    std::vector<void*> addresses;
    for (size_t b = 0; b < batch * blocks_per_sequence; ++b)
      addresses.push_back(reinterpret_cast<std::byte*>(storage.data()) + b * block_bytes);
    std::vector<int32_t> tokens(batch);
    for (int s = 0; s < batch; ++s) tokens[s] = (s * 104729) % 128000;
    double seconds = 0;
    for (int step = 0; step < steps; ++step) {
      std::vector<deepseek_ocr::DecoderChunk> chunks(batch);
      for (int s = 0; s < batch; ++s) {
        chunks[s].tokens = std::span<const int32_t>(&tokens[s], 1);
        chunks[s].first_position = static_cast<uint32_t>(context + step);
        chunks[s].blocks = std::span<void* const>(addresses).subspan(s * blocks_per_sequence, blocks_per_sequence);
        chunks[s].want_logits = true;
      }
      const auto start = std::chrono::steady_clock::now();
      const std::vector<float> logits = pass.run(chunks, pool);
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (step > 0) seconds += elapsed;  // the first step warms the caches
      for (int s = 0; s < batch; ++s) tokens[s] = static_cast<int32_t>((tokens[s] + 31 * (logits[s] > 0)) % 128000);
    }
    const double per_step = seconds / std::max(1, steps - 1);
    std::printf("batch %3d: %8.1f ms/step, %9.1f decode tokens/s\n", batch, per_step * 1e3, batch / per_step);
  }
  return 0;
}
