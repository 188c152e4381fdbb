// bench_vista: prints (1) the frame KV cache of Wan2.1-T2V-1.3B as the vista
// plugin declares it (bytes per token per layer at bf16, per latent frame,
// per 81-frame 480x832 video) next to the formula 2 * heads * head_dim * 2 B
// and the 6,038,323,200 B of the design notes, and (2) CPU seconds of one
// chunk (4 denoising steps + the committing pass, 3 latent frames, attending
// to `--history` cached frames) for random weights of the 1.3B block shape
// with fewer layers, at a chosen latent size. Options: --layers N (2),
// --height H --width W (latent, 30x52 = 240x416 pixels, 390 tokens a frame;
// 60x104 is 480x832), --history F (3), --threads T (0: all), --cuda (CUDA
// builds: the chunk on the CUDA backend, cache blocks in device memory, one
// warm-up chunk then --repeat N timed; prints the linear and attention
// TFLOP/s of a pass, to set beside bench/vista/diffusers_forward.py and the
// chip's dense bf16 peak, and a per-stage table of the pass from CUDA events:
// host, linears, self- and cross-attention, norms/modulation/RoPE, K/V
// gather/scatter and f16 conversion). --attention LIST (wgmma,f16): a comma
// list of the kernels to measure in turn, in the same run: wgmma (the
// f16-operand kernel on warpgroup tensor cores, flash_attention_wgmma.h;
// mma.sync where the device has no sm_90a), f16 (the f16-operand mma.sync
// kernel, flash_attention_f16.h), wmma (the older WMMA kernel on f32
// operands, flash_attention.h); `all` is all three, `both` wmma,f16. A "+fused" suffix
// (wgmma+fused) also fuses the linear layers' epilogues
// (CudaPassOptions::fused_epilogues, video_epilogues.h).
#include "chunk_denoiser.h"
#include "chunk_forward.h"
#include "flow_schedule.h"
#include "frame_kv.h"
#include "model_config.h"
#include "wan_transformer.h"

#include "runtime/core/thread_pool.h"

#ifdef CITADEL_HAVE_CUDA
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/flash_attention_wgmma.h"
#include "runtime/cuda/stage_timer.h"
#include "wan_transformer_cuda.h"
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

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

int64_t option(int argc, char** argv, const char* name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::stoll(argv[i + 1]);
  return fallback;
}

[[maybe_unused]] std::string text_option(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

bool flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return true;
  return false;
}

// Floating-point operations of one pass of one block over `tokens` chunk
// tokens attending to `history` cached tokens and `text` text tokens (the
// text K/V are made once per prompt, not per pass): {linears, attention}.
std::pair<double, double> pass_flops(const vista::WanConfig& config, double tokens, double history, double text) {
  const double dim = static_cast<double>(config.dim()), ffn = static_cast<double>(config.ffn_dim);
  const double linears = 2 * tokens * (4 * dim * dim + 2 * dim * dim + 2 * dim * ffn);
  const double attention = 4 * tokens * dim * (tokens + history) + 4 * tokens * dim * text;
  return {linears, attention};
}

}  // namespace

int main(int argc, char** argv) {
  const bool use_cuda = flag(argc, argv, "--cuda");
#ifndef CITADEL_HAVE_CUDA
  if (use_cuda) {
    std::fprintf(stderr, "bench_vista: --cuda needs a CUDA build (-DCITADEL_CUDA=ON)\n");
    return 2;
  }
#endif
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

  config.num_layers = option(argc, argv, "--layers", 2);
  config.rope_max_seq_len = 1024;
  const int64_t height = option(argc, argv, "--height", 30), width = option(argc, argv, "--width", 52);
  const int64_t history = option(argc, argv, "--history", 3);
  runtime::ThreadPool pool(static_cast<unsigned>(option(argc, argv, "--threads", 0)));
  std::mt19937 rng(1);
  const vista::WanTransformer model(config, random_weights(config, rng));
  std::vector<float> text(static_cast<size_t>(512 * config.text_dim), 0.0f);
  std::normal_distribution<float> normal;
  for (size_t i = 0; i < 20 * static_cast<size_t>(config.text_dim); ++i) text[i] = normal(rng);
  const int64_t per_frame = model.tokens_per_frame(height, width);
  const vista::KvGeometry geometry{config.num_layers, config.num_heads, config.head_dim, 16, runtime::DType::bf16};
  const int64_t positions = (history + 3) * per_frame;
  const size_t block_bytes = 16 * config.num_layers * per_token;
  const size_t num_blocks = static_cast<size_t>((positions + 15) / 16);
  std::vector<std::vector<uint8_t>> storage;
  std::vector<void*> blocks;
#ifdef CITADEL_HAVE_CUDA
  runtime::cuda::DeviceBuffer device_storage;
  if (use_cuda) {
    device_storage = runtime::cuda::DeviceBuffer(num_blocks * block_bytes, "bench cache blocks");
    for (size_t b = 0; b < num_blocks; ++b) blocks.push_back(static_cast<uint8_t*>(device_storage.data()) + b * block_bytes);
  }
#endif
  if (!use_cuda) {
    storage.assign(num_blocks, std::vector<uint8_t>(block_bytes));
    for (auto& block : storage) blocks.push_back(block.data());
  }
  const auto [linear_flops, attention_flops] =
      pass_flops(config, 3.0 * per_frame, static_cast<double>(history * per_frame), 512.0);
  [[maybe_unused]] const auto [self_flops, cross_flops] = std::pair{4.0 * 3 * per_frame * config.dim() * (3.0 * per_frame + history * per_frame),
                                                   4.0 * 3 * per_frame * config.dim() * 512.0};
  const int64_t repeat = use_cuda ? option(argc, argv, "--repeat", 3) : 1;
  // One backend measured: a warm-up chunk (CUDA), then `repeat` chunks.
  const auto measure = [&](std::unique_ptr<vista::ChunkForward> forward, const char* label, auto&& after_warmup) {
    const std::unique_ptr<vista::PreparedText> context = forward->prepare_text(text.data(), 512);
    vista::SeededNoise noise(7);
    const std::vector<float> timesteps = vista::warped_timesteps(vista::self_forcing_steps(), vista::kSelfForcingShift);
    const vista::ChunkPosition chunk{history / 3, history, {3, height, width}};
    const vista::CacheBlocks cache{geometry, blocks.data(), static_cast<int64_t>(blocks.size()), per_frame, {}};
    const auto run_chunk = [&] {
      const std::vector<float> clean = vista::denoise_chunk(*forward, *context, chunk, timesteps, noise, cache);
      vista::commit_chunk(*forward, *context, chunk, clean, cache);
    };
    if (use_cuda) run_chunk();  // warm-up: cuBLAS handles, first-touch of the blocks
    after_warmup();
    const auto started = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < repeat; ++i) run_chunk();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / static_cast<double>(repeat);
    std::printf("%s chunk%s, random bf16 weights, 1.3B block shape x %lld layers, %u threads\n", use_cuda ? "CUDA" : "CPU",
                label, (long long)config.num_layers, pool.size());
    std::printf("  latent %lldx%lld (%lld tokens/frame), 3 frames + %lld cached: %.3f s per chunk (5 passes), "
                "%.4f s per pass per layer; 30 layers: ~%.2f s per chunk\n",
                (long long)height, (long long)width, (long long)per_frame, (long long)history, seconds,
                seconds / 5.0 / config.num_layers, seconds / config.num_layers * 30.0);
    const double per_pass = seconds / 5.0;
    std::printf("  per pass: %.1f ms; %.2f GFLOP linears + %.2f GFLOP attention over %lld layers = %.1f TFLOP/s\n",
                per_pass * 1e3, linear_flops * config.num_layers / 1e9, attention_flops * config.num_layers / 1e9,
                (long long)config.num_layers, (linear_flops + attention_flops) * config.num_layers / per_pass / 1e12);
  };
  if (!use_cuda) measure(vista::make_cpu_chunk_forward(model, pool), "", [] {});
#ifdef CITADEL_HAVE_CUDA
  std::string which = text_option(argc, argv, "--attention", "wgmma,f16");
  if (which == "all") which = "wmma,f16,wgmma";
  if (which == "both") which = "wmma,f16";  // the earlier default, as bench/README's dated runs used it
  std::vector<std::string> kernels;
  for (size_t from = 0; from <= which.size();) {
    const size_t comma = std::min(which.find(',', from), which.size());
    kernels.push_back(which.substr(from, comma - from));
    from = comma + 1;
  }
  const auto base_of = [](const std::string& kernel) { return kernel.substr(0, kernel.find('+')); };
  const auto fused_of = [](const std::string& kernel) {
    const size_t plus = kernel.find('+');
    return plus != std::string::npos && kernel.substr(plus) == "+fused";
  };
  for (const std::string& entry : kernels) {
    const std::string kernel = base_of(entry);
    const bool suffix_ok = entry.find('+') == std::string::npos || fused_of(entry);
    if ((kernel != "wgmma" && kernel != "f16" && kernel != "wmma") || !suffix_ok) {
      std::fprintf(stderr,
                   "bench_vista: --attention: unknown kernel '%s' (wgmma, f16, wmma, each optionally +fused; a comma "
                   "list, or all)\n",
                   entry.c_str());
      return 2;
    }
  }
  bool fused = false;
  const auto measure_cuda = [&](vista::CudaAttentionKernel kernel, std::string label) {
    runtime::cuda::StageTimer timer(vista::pass_stage_names(), nullptr);
    if (fused) label.insert(label.size() - 1, "; fused epilogues");
    measure(vista::make_cuda_chunk_forward(model, pool, nullptr, vista::CudaPassOptions{kernel, &timer, fused}),
            label.c_str(), [&] { timer.reset(); });
    const double passes = static_cast<double>(timer.passes());
    double total = 0.0;
    for (double ms : timer.total_ms()) total += ms;
    std::printf("  per-stage time of a pass (CUDA events, mean of %lld passes; %.1f ms a pass):\n", (long long)timer.passes(),
                total / passes);
    std::printf("  | stage | ms a pass | share | TFLOP/s |\n  | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < timer.names().size(); ++i) {
      const double ms = timer.total_ms()[i] / passes;
      const double flops = i == static_cast<size_t>(vista::PassStage::linears)           ? linear_flops
                           : i == static_cast<size_t>(vista::PassStage::self_attention)  ? self_flops
                           : i == static_cast<size_t>(vista::PassStage::cross_attention) ? cross_flops
                                                                                         : 0.0;
      if (flops > 0)
        std::printf("  | %s | %.2f | %.1f%% | %.1f |\n", timer.names()[i].c_str(), ms, 100.0 * ms / (total / passes),
                    flops * config.num_layers / (ms * 1e-3) / 1e12);
      else
        std::printf("  | %s | %.2f | %.1f%% | |\n", timer.names()[i].c_str(), ms, 100.0 * ms / (total / passes));
    }
  };
  for (const std::string& entry : kernels) {
    if (!use_cuda) break;
    const std::string kernel = base_of(entry);
    fused = fused_of(entry);
    if (kernel == "wmma") measure_cuda(vista::CudaAttentionKernel::f32_wmma, " (attention: WMMA kernel on f32 Q/K/V)");
    if (kernel == "f16") measure_cuda(vista::CudaAttentionKernel::f16_mma, " (attention: mma.sync kernel on f16 Q/K/V)");
    if (kernel == "wgmma")
      measure_cuda(vista::CudaAttentionKernel::f16_wgmma,
                   runtime::cuda::flash_attention_wgmma_available()
                       ? " (attention: wgmma kernel on f16 Q/K/V)"
                       : " (attention: wgmma unavailable on this device: mma.sync kernel on f16 Q/K/V)");
  }
#endif
  return 0;
}
