// [cuda] The vista CUDA pass at head sizes the tensor-core kernels take (32,
// and 64, which the wgmma kernel also takes on sm_90a; the committed tiny
// checkpoint's 12 falls back to the f32 kernel): random
// weights, 2 layers, 16x16 latents (64 tokens a frame), a committing pass of
// chunk 0 and then chunk 1 over its 3 cached frames (384 keys: several K/V
// tiles, two query blocks), on the CPU backend, the CUDA backend with the
// f16-operand attention on wgmma (where the device has it), on mma.sync and
// with the older f32-input WMMA kernel, each with the linear layers'
// epilogues separate and fused (video_epilogues.h). Every CUDA path equals
// the CPU within 1e-2 of the output's scale (f16 GEMMs and f16 attention
// operands), and each kernel's fused pass its separate one within 1e-4.
#ifdef CITADEL_HAVE_CUDA
#include "chunk_forward.h"
#include "wan_transformer_cuda.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/device_buffer.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

using namespace citadel;
using runtime::cuda::DeviceBuffer;

namespace {

vista::Linear random_linear(int64_t in, int64_t out, std::mt19937& rng) {
  runtime::Tensor tensor = runtime::Tensor::zeros(runtime::DType::f32, {out, in});
  std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(static_cast<float>(in)));
  for (int64_t i = 0; i < out * in; ++i) tensor.data_as<float>()[i] = normal(rng);
  std::vector<float> bias(static_cast<size_t>(out));
  for (float& b : bias) b = 0.1f * normal(rng);
  return {std::move(tensor), std::move(bias)};
}

std::vector<float> random_vector(int64_t n, std::mt19937& rng, float mean, float spread) {
  std::normal_distribution<float> normal(mean, spread);
  std::vector<float> values(static_cast<size_t>(n));
  for (float& v : values) v = normal(rng);
  return values;
}

vista::WanWeights random_weights(const vista::WanConfig& config, std::mt19937& rng) {
  const int64_t dim = config.dim();
  vista::WanWeights weights;
  weights.patch_embedding = random_linear(config.in_channels * 4, dim, rng);
  weights.time_linear_1 = random_linear(config.freq_dim, dim, rng);
  weights.time_linear_2 = random_linear(dim, dim, rng);
  weights.time_projection = random_linear(dim, 6 * dim, rng);
  weights.text_linear_1 = random_linear(config.text_dim, dim, rng);
  weights.text_linear_2 = random_linear(dim, dim, rng);
  for (int64_t i = 0; i < config.num_layers; ++i) {
    vista::WanBlockWeights block;
    block.modulation = random_vector(6 * dim, rng, 0.0f, 0.1f);
    for (vista::WanAttentionWeights* attention : {&block.self_attention, &block.cross_attention}) {
      attention->to_q = random_linear(dim, dim, rng);
      attention->to_k = random_linear(dim, dim, rng);
      attention->to_v = random_linear(dim, dim, rng);
      attention->to_out = random_linear(dim, dim, rng);
      attention->norm_q = random_vector(dim, rng, 1.0f, 0.2f);
      attention->norm_k = random_vector(dim, rng, 1.0f, 0.2f);
    }
    block.cross_norm_weight = random_vector(dim, rng, 1.0f, 0.1f);
    block.cross_norm_bias = random_vector(dim, rng, 0.0f, 0.1f);
    block.ffn_in = random_linear(dim, config.ffn_dim, rng);
    block.ffn_out = random_linear(config.ffn_dim, dim, rng);
    weights.blocks.push_back(std::move(block));
  }
  weights.output_modulation = random_vector(2 * dim, rng, 0.0f, 0.1f);
  weights.proj_out = random_linear(dim, config.out_channels * 4, rng);
  return weights;
}

double scaled_error(const std::vector<float>& got, const std::vector<float>& expected) {
  double error = 0.0, scale = 1e-30;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (i >= got.size() || !std::isfinite(got[i])) return INFINITY;
    error = std::max(error, std::abs(static_cast<double>(got[i]) - expected[i]));
    scale = std::max(scale, std::abs(static_cast<double>(expected[i])));
  }
  return got.size() == expected.size() ? error / scale : INFINITY;
}

// Chunk 0 committed, then chunk 1's prediction over the cache in `blocks`.
std::vector<float> second_chunk(vista::ChunkForward& forward, const vista::KvGeometry& geometry,
                                const std::vector<void*>& blocks, const std::vector<float>& text,
                                const std::vector<float>& latents0, const std::vector<float>& latents1) {
  const std::unique_ptr<vista::PreparedText> prepared = forward.prepare_text(text.data(), 512);
  const vista::CacheBlocks cache{geometry, blocks.data(), static_cast<int64_t>(blocks.size()), 64, {}};
  const std::vector<float> zero(3, 0.0f), steps{700.0f, 650.0f, 600.0f};
  forward.forward(latents0.data(), vista::ChunkPosition{0, 0, {3, 16, 16}}, zero.data(), *prepared, cache, true);
  return forward.forward(latents1.data(), vista::ChunkPosition{1, 3, {3, 16, 16}}, steps.data(), *prepared, cache,
                         false);
}

}  // namespace

TEST_CASE("vista CUDA pass with tensor-core attention matches the CPU", "[cuda][vista]") {
  const int64_t head_dim = GENERATE(32, 64);
  INFO("head_dim " << head_dim);
  vista::WanConfig config;
  config.num_heads = 2;
  config.head_dim = head_dim;
  config.ffn_dim = 128;
  config.num_layers = 2;
  config.rope_max_seq_len = 64;
  std::mt19937 rng(11);
  const vista::WanTransformer model(config, random_weights(config, rng));
  runtime::ThreadPool pool(2);
  const std::vector<float> text = random_vector(512 * config.text_dim, rng, 0.0f, 1.0f);
  const std::vector<float> latents0 = random_vector(16 * 3 * 16 * 16, rng, 0.0f, 1.0f);
  const std::vector<float> latents1 = random_vector(16 * 3 * 16 * 16, rng, 0.0f, 1.0f);
  const vista::KvGeometry geometry{config.num_layers, config.num_heads, config.head_dim, 16, runtime::DType::f32};
  const size_t block_bytes = 16 * config.num_layers * config.kv_bytes_per_token_per_layer(4), num_blocks = 6 * 64 / 16;

  std::vector<std::vector<uint8_t>> host_storage(num_blocks, std::vector<uint8_t>(block_bytes));
  std::vector<void*> host_blocks;
  for (auto& block : host_storage) host_blocks.push_back(block.data());
  const auto cpu = vista::make_cpu_chunk_forward(model, pool);
  const std::vector<float> expected = second_chunk(*cpu, geometry, host_blocks, text, latents0, latents1);

  for (vista::CudaAttentionKernel kernel : {vista::CudaAttentionKernel::f16_wgmma, vista::CudaAttentionKernel::f16_mma,
                                            vista::CudaAttentionKernel::f32_wmma}) {
    std::vector<float> separate;  // this kernel's output with the epilogues separate
    for (const bool fused : {false, true}) {
      DeviceBuffer storage(num_blocks * block_bytes);
      storage.zero();
      std::vector<void*> device_blocks;
      for (size_t b = 0; b < num_blocks; ++b)
        device_blocks.push_back(static_cast<uint8_t*>(storage.data()) + b * block_bytes);
      const auto cuda =
          vista::make_cuda_chunk_forward(model, pool, nullptr, vista::CudaPassOptions{kernel, nullptr, fused});
      const std::vector<float> got = second_chunk(*cuda, geometry, device_blocks, text, latents0, latents1);
      const double error = scaled_error(got, expected);
      INFO((kernel == vista::CudaAttentionKernel::f16_wgmma  ? "f16 wgmma (or mma.sync)"
            : kernel == vista::CudaAttentionKernel::f16_mma ? "f16 mma.sync"
                                                            : "f32 WMMA")
           << (fused ? ", fused epilogues" : "") << " error " << error);
      CHECK(error < 1e-2);
      if (!fused) {
        separate = got;
      } else {
        // The fused epilogues give the GEMMs the same f16 inputs and add the
        // same biases once: only reduction order differs, far below what a
        // dropped or doubled bias (0.1 x the weights' scale) would change.
        const double from_separate = scaled_error(got, separate);
        INFO("fused against separate epilogues: " << from_separate);
        CHECK(from_separate < 1e-4);
      }
    }
  }
}
#endif  // CITADEL_HAVE_CUDA
