// bench_llm_decode --offload (see bench_offload.h). The random checkpoint is
// filled by all cores (a fast counter-based generator, not the seeded
// mt19937 of random_model.cpp, which would take minutes at 18 GB); tensors,
// names and GPTQ packing are those of make_random_checkpoint. Steps are timed
// on the host around run() (logits copied back), median of the timed steps.
#include "bench_offload.h"

#include "cuda_forward.h"
#include "random_model.h"

#include "runtime/core/half.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_buffer.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

namespace citadel::llm {
namespace {

using Clock = std::chrono::steady_clock;
namespace cuda = runtime::cuda;
using runtime::DType;
using runtime::Tensor;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Qwen2.5-32B: 64 layers, hidden 5120, ffn 27648, 40 heads / 8 KV heads.
HfModelConfig qwen25_32b_shape() {
  HfModelConfig config;
  config.model_type = "qwen2";
  config.hidden_size = 5120;
  config.intermediate_size = 27648;
  config.num_layers = 64;
  config.num_heads = 40;
  config.num_kv_heads = 8;
  config.head_dim = 128;
  config.vocab_size = 152064;
  config.max_position_embeddings = 4096;
  config.rms_norm_eps = 1e-6;
  config.rope.theta = 1000000.0;
  config.attention_bias = true;
  config.gptq = GptqSettings{};  // 4 bit, group 128, sym, v1
  return config;
}

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body) {
  const int64_t threads = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t chunk = (n + threads - 1) / threads;
  std::vector<std::thread> workers;
  for (int64_t begin = 0; begin < n; begin += chunk) workers.emplace_back(body, begin, std::min(n, begin + chunk));
  for (std::thread& worker : workers) worker.join();
}

Tensor random_half(runtime::Shape shape, float bound, uint64_t seed) {
  Tensor t = Tensor::zeros(DType::f16, std::move(shape));
  uint16_t* data = t.data_as<uint16_t>();
  parallel_for(t.numel(), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float unit = static_cast<float>(mix(seed * 0x100000001b3ull + i) >> 40) / 16777216.0f;
      data[i] = runtime::float_to_half((2.0f * unit - 1.0f) * bound);
    }
  });
  return t;
}

Tensor constant_half(runtime::Shape shape, float value) {
  Tensor t = Tensor::zeros(DType::f16, std::move(shape));
  std::fill_n(t.data_as<uint16_t>(), t.numel(), runtime::float_to_half(value));
  return t;
}

InMemoryCheckpoint fast_random_checkpoint(const HfModelConfig& config) {
  InMemoryCheckpoint checkpoint;
  checkpoint.config = config;
  auto& tensors = checkpoint.tensors;
  const int64_t hidden = config.hidden_size, ffn = config.intermediate_size;
  const int64_t q_dim = int64_t{config.num_heads} * config.head_dim, kv_dim = int64_t{config.num_kv_heads} * config.head_dim;
  uint64_t seed = 1;
  auto linear = [&](const std::string& prefix, int64_t in, int64_t out, bool bias) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));
    if (bias) tensors[prefix + ".bias"] = random_half({out}, bound, ++seed);
    Tensor qweight = Tensor::zeros(DType::i32, {in / 8, out});
    int32_t* words = qweight.data_as<int32_t>();
    const uint64_t s = ++seed;
    parallel_for(qweight.numel(), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) words[i] = static_cast<int32_t>(mix(s * 0x100000001b3ull + i));
    });
    tensors[prefix + ".qweight"] = qweight;
    const int64_t groups = in / 128;
    Tensor qzeros = Tensor::zeros(DType::i32, {groups, out / 8});
    std::fill_n(qzeros.data_as<int32_t>(), qzeros.numel(), static_cast<int32_t>(0x77777777u));  // 8 - 1 (v1)
    tensors[prefix + ".qzeros"] = qzeros;
    tensors[prefix + ".scales"] = constant_half({groups, out}, bound * std::sqrt(3.0f) / 8.0f);
    Tensor g_idx = Tensor::zeros(DType::i32, {in});
    for (int64_t i = 0; i < in; ++i) g_idx.data_as<int32_t>()[i] = static_cast<int32_t>(i / 128);
    tensors[prefix + ".g_idx"] = g_idx;
  };
  tensors["model.embed_tokens.weight"] = random_half({int64_t{config.vocab_size}, hidden}, 1.0f, ++seed);
  tensors["model.norm.weight"] = constant_half({hidden}, 1.0f);
  tensors["lm_head.weight"] = random_half({int64_t{config.vocab_size}, hidden}, 1.0f / std::sqrt(float(hidden)), ++seed);
  for (uint32_t i = 0; i < config.num_layers; ++i) {
    const std::string prefix = "model.layers." + std::to_string(i);
    tensors[prefix + ".input_layernorm.weight"] = constant_half({hidden}, 1.0f);
    tensors[prefix + ".post_attention_layernorm.weight"] = constant_half({hidden}, 1.0f);
    linear(prefix + ".self_attn.q_proj", hidden, q_dim, config.attention_bias);
    linear(prefix + ".self_attn.k_proj", hidden, kv_dim, config.attention_bias);
    linear(prefix + ".self_attn.v_proj", hidden, kv_dim, config.attention_bias);
    linear(prefix + ".self_attn.o_proj", q_dim, hidden, false);
    linear(prefix + ".mlp.gate_proj", hidden, ffn, false);
    linear(prefix + ".mlp.up_proj", hidden, ffn, false);
    linear(prefix + ".mlp.down_proj", ffn, hidden, false);
  }
  return checkpoint;
}

// Pinned host -> device bandwidth (bytes/s) in copies of `chunk` bytes.
double pinned_h2d_bandwidth(size_t chunk) {
  void* host = nullptr;
  cuda::check_cuda(cudaHostAlloc(&host, chunk, cudaHostAllocDefault), "cudaHostAlloc (bench)");
  std::fill_n(static_cast<char*>(host), chunk, 1);
  cuda::DeviceBuffer device(chunk, "bench H2D target");
  cuda::check_cuda(cudaMemcpy(device.data(), host, chunk, cudaMemcpyHostToDevice), "warm-up copy");
  const int repeats = 8;
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < repeats; ++i) {
    cuda::check_cuda(cudaMemcpyAsync(device.data(), host, chunk, cudaMemcpyHostToDevice, nullptr), "copy");
  }
  cuda::synchronize();
  const double seconds = seconds_since(start);
  cudaFreeHost(host);
  return repeats * static_cast<double>(chunk) / seconds;
}

// Median seconds per decode step of `batch` sequences at `context`.
double time_decode(CudaForwardPass& pass, const HfModelConfig& config, int batch, int context, int steps) {
  const KvGeometry& kv = pass.kv_geometry();
  const size_t per_sequence = (context + steps + 3 + kTokensPerBlock - 1) / kTokensPerBlock;
  cuda::DeviceBuffer storage(batch * per_sequence * kv.block_bytes(), "bench KV blocks");
  storage.zero();
  std::vector<void*> blocks;
  for (size_t b = 0; b < batch * per_sequence; ++b) blocks.push_back(storage.as<std::byte>() + b * kv.block_bytes());
  std::vector<int32_t> tokens(batch);
  std::vector<SequenceChunk> chunks(batch);
  std::vector<double> times;
  for (int step = 0; step < steps + 2; ++step) {
    for (int i = 0; i < batch; ++i) {
      tokens[i] = (i * 31 + step * 7 + 11) % static_cast<int32_t>(config.vocab_size);
      chunks[i] = SequenceChunk{std::span<const int32_t>(&tokens[i], 1), static_cast<uint32_t>(context + step),
                                std::span<void* const>(blocks).subspan(i * per_sequence, per_sequence), true};
    }
    const Clock::time_point start = Clock::now();
    pass.run(chunks);
    if (step >= 2) times.push_back(seconds_since(start));  // the first two: eager, then captured
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

void run_offload_bench(const OffloadBenchOptions& options) {
  const HfModelConfig config = qwen25_32b_shape();
  const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, DType::f16};
  Clock::time_point start = Clock::now();
  const InMemoryCheckpoint checkpoint = fast_random_checkpoint(config);
  const ModelWeights weights = load_model_weights(config, checkpoint.finder(), "random Qwen2.5-32B shape");
  std::printf("Qwen2.5-32B shape (64 layers, int4 g128, f16 embedding and lm_head) on %s: random weights made in "
              "%.1f s\n", cuda::device_name().c_str(), seconds_since(start));

  // Fully resident first: its per-layer device bytes size the split.
  start = Clock::now();
  auto resident = std::make_unique<CudaForwardPass>(config, weights, kv, nullptr);
  const double total = static_cast<double>(resident->device_weight_bytes());
  double layer_max = 0.0, layers_sum = 0.0;
  for (uint32_t i = 0; i < config.num_layers; ++i) {
    layers_sum += static_cast<double>(resident->layer_device_bytes(i));
    layer_max = std::max(layer_max, static_cast<double>(resident->layer_device_bytes(i)));
  }
  const double fixed = total - layers_sum;  // embedding, lm_head, final norm
  std::printf("  fully resident: %.2f GB of weights on the device (%.2f GB per layer, %.2f GB embedding+lm_head), "
              "built in %.1f s\n", total / 1e9, layer_max / 1e9, fixed / 1e9, seconds_since(start));
  for (int batch : {1, 32}) {
    const double step = time_decode(*resident, config, batch, options.context, options.decode_steps);
    std::printf("  fully resident  decode batch %2d ctx %d: %8.1f tok/s  %7.2f ms/step\n", batch, options.context,
                batch / step, step * 1e3);
  }
  resident.reset();

  // The split under the budget: the staging region (one layer + one build
  // peak with its repacking temporaries: about 2.3 layers) besides the
  // resident layers.
  const double budget = options.budget_gb * 1e9;
  const auto keep = static_cast<uint32_t>(
      std::clamp(std::floor((budget - fixed - 2.4 * layer_max) / layer_max), 0.0, static_cast<double>(config.num_layers)));
  start = Clock::now();
  CudaForwardPass offloaded(config, weights, kv, nullptr, keep);
  const double streamed = static_cast<double>(offloaded.host_weight_bytes());
  const double bandwidth = pinned_h2d_bandwidth(static_cast<size_t>(layer_max));
  std::printf("  budget %.1f GB: gpu_layers %u of %u, %.2f GB of weights on the device, %.2f GB streamed per step "
              "from pinned host memory (built in %.1f s); pinned H2D %.1f GB/s in %.0f MB copies\n",
              options.budget_gb, keep, config.num_layers, offloaded.device_weight_bytes() / 1e9, streamed / 1e9,
              seconds_since(start), bandwidth / 1e9, layer_max / 1e6);
  for (int batch : {1, 32}) {
    const double step = time_decode(offloaded, config, batch, options.context, options.decode_steps);
    const double limit = batch * bandwidth / streamed;  // the copies alone, compute fully hidden
    std::printf("  offloaded       decode batch %2d ctx %d: %8.1f tok/s  %7.2f ms/step | H2D limit %8.1f tok/s "
                "(%4.1f%%) | %zu graph replays\n",
                batch, options.context, batch / step, step * 1e3, limit, 100.0 * (batch / step) / limit,
                offloaded.graph_replays());
  }
}

}  // namespace citadel::llm
