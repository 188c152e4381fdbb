// bench_vista: prints (1) the frame KV cache of Wan2.1-T2V-1.3B as the vista
// plugin declares it (bytes per token per layer at bf16, per latent frame,
// per 81-frame 480x832 video) next to the formula 2 * heads * head_dim * 2 B
// and the 6,038,323,200 B of the design notes, and (2) CPU seconds of one
// chunk (4 denoising steps + the committing pass, 3 latent frames, attending
// to `--history` cached frames) for random weights of the 1.3B block shape
// with fewer layers, at a chosen latent size. Options: --layers N (2),
// --height H --width W (latent, 30x52 = 480x832), --history F (3),
// --threads T (0: all).
#include "chunk_denoiser.h"
#include "chunk_forward.h"
#include "flow_schedule.h"
#include "frame_kv.h"
#include "model_config.h"
#include "wan_transformer.h"

#include "runtime/core/thread_pool.h"

#include "bench_flags.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

using namespace citadel;

namespace {

runtime::Tensor random_matrix(int64_t out, int64_t in, std::mt19937& rng) {
  runtime::Tensor tensor = runtime::Tensor::zeros(runtime::DType::f32, {out, in});
  std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(static_cast<float>(in)));
  float* data = tensor.data_as<float>();
  for (int64_t i = 0; i < out * in; ++i) data[i] = normal(rng);
  return tensor.converted(runtime::DType::bf16);
}

vista::Linear random_linear(int64_t in, int64_t out, std::mt19937& rng) {
  return {random_matrix(out, in, rng), std::vector<float>(static_cast<size_t>(out), 0.01f)};
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
    block.modulation.assign(static_cast<size_t>(6 * dim), 0.01f);
    for (vista::WanAttentionWeights* attention : {&block.self_attention, &block.cross_attention}) {
      attention->to_q = random_linear(dim, dim, rng);
      attention->to_k = random_linear(dim, dim, rng);
      attention->to_v = random_linear(dim, dim, rng);
      attention->to_out = random_linear(dim, dim, rng);
      attention->norm_q.assign(static_cast<size_t>(dim), 1.0f);
      attention->norm_k.assign(static_cast<size_t>(dim), 1.0f);
    }
    block.cross_norm_weight.assign(static_cast<size_t>(dim), 1.0f);
    block.cross_norm_bias.assign(static_cast<size_t>(dim), 0.0f);
    block.ffn_in = random_linear(dim, config.ffn_dim, rng);
    block.ffn_out = random_linear(config.ffn_dim, dim, rng);
    weights.blocks.push_back(std::move(block));
  }
  weights.output_modulation.assign(static_cast<size_t>(2 * dim), 0.01f);
  weights.proj_out = random_linear(dim, 64, rng);
  return weights;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t layers = 0, height = 0, width = 0, history = 0, threads = 0;
  try {
    const bench::BenchFlags flags(argc, argv);
    layers = flags.integer("--layers", 2);
    height = flags.integer("--height", 30);
    width = flags.integer("--width", 52);
    history = flags.integer("--history", 3);
    threads = flags.integer("--threads", 0);
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 2;
  }
  vista::WanConfig config;  // Wan2.1-T2V-1.3B
  config.num_heads = 12;
  config.head_dim = 128;
  config.ffn_dim = 8960;
  config.num_layers = 30;
  const uint64_t per_token = config.kv_bytes_per_token_per_layer(2);
  const uint64_t tokens_per_frame = 30 * 52, latent_frames = 21;
  const uint64_t per_video = per_token * config.num_layers * tokens_per_frame * latent_frames;
  std::printf("Wan2.1-T2V-1.3B frame KV cache (bf16)\n");
  std::printf("  bytes per token per layer   %llu (formula 2*12*128*2 = %d) %s\n", (unsigned long long)per_token,
              2 * 12 * 128 * 2, per_token == 6144 ? "ok" : "MISMATCH");
  std::printf("  bytes per latent frame/layer %llu\n", (unsigned long long)(per_token * tokens_per_frame));
  std::printf("  bytes per 81-frame video     %llu (%.2f GiB; design notes 6,038,323,200) %s\n",
              (unsigned long long)per_video, per_video / 1073741824.0, per_video == 6038323200ull ? "ok" : "MISMATCH");

  config.num_layers = layers;
  config.rope_max_seq_len = 1024;
  runtime::ThreadPool pool(static_cast<unsigned>(threads));
  std::mt19937 rng(1);
  const vista::WanTransformer model(config, random_weights(config, rng));
  std::vector<float> text(static_cast<size_t>(512 * config.text_dim), 0.0f);
  std::normal_distribution<float> normal;
  for (size_t i = 0; i < 20 * static_cast<size_t>(config.text_dim); ++i) text[i] = normal(rng);
  const std::unique_ptr<vista::ChunkForward> forward = vista::make_cpu_chunk_forward(model, pool);
  const std::unique_ptr<vista::PreparedText> context = forward->prepare_text(text.data(), 512);
  const int64_t per_frame = model.tokens_per_frame(height, width);
  const vista::KvGeometry geometry{config.num_layers, config.num_heads, config.head_dim, 16, runtime::DType::bf16};
  const int64_t positions = (history + 3) * per_frame;
  const size_t block_bytes = 16 * config.num_layers * per_token;
  std::vector<std::vector<uint8_t>> storage(static_cast<size_t>((positions + 15) / 16), std::vector<uint8_t>(block_bytes));
  std::vector<void*> blocks;
  for (auto& block : storage) blocks.push_back(block.data());
  vista::SeededNoise noise(7);
  const std::vector<float> timesteps = vista::warped_timesteps(vista::self_forcing_steps(), vista::kSelfForcingShift);
  const vista::ChunkPosition chunk{history / 3, history, {3, height, width}};
  const vista::CacheBlocks cache{geometry, blocks.data(), static_cast<int64_t>(blocks.size()), per_frame, {}};
  const auto started = std::chrono::steady_clock::now();
  const std::vector<float> clean = vista::denoise_chunk(*forward, *context, chunk, timesteps, noise, cache);
  vista::commit_chunk(*forward, *context, chunk, clean, cache);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("CPU chunk, random bf16 weights, 1.3B block shape x %lld layers, %u threads\n",
              (long long)config.num_layers, pool.size());
  std::printf("  latent %lldx%lld (%lld tokens/frame), 3 frames + %lld cached: %.3f s per chunk (5 passes), "
              "%.3f s per pass per layer; 30 layers: ~%.1f s per chunk\n",
              (long long)height, (long long)width, (long long)per_frame, (long long)history, seconds,
              seconds / 5.0 / config.num_layers, seconds / config.num_layers * 30.0);
  return 0;
}
