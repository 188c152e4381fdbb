// bench_deepseek_ocr_decode: decode steps of the deepseek-ocr decoder, the
// CPU pass (decoder_pass.h) or with --cuda the CUDA pass
// (cuda_decoder_pass.cpp, CUDA builds), on random bf16 weights with
// DeepSeek-OCR's released sizes (1280 wide, 12 layers, dense layer 0 of
// 6848, 64 routed experts of 896, top-6, 2 shared, vocabulary 129,280), or
// smaller via flags, over a context of random f16 KV entries (in device
// memory with --cuda). Prints decode tokens/s per batch size (every logits
// row copied back, then as greedy steps copy only each row's argmax), and with
// --cuda the step's roofline: the bytes it must read (the weights of the
// dense layer, attention, shared experts, lm_head and of the distinct
// routed experts the batch's tokens chose, plus the KV context) over the
// device copy bandwidth measured in the same run. --cuda-core-attention
// switches the flash decoding off tensor cores (the kernel before them).
// --variants lists the CUDA decoders timed side by side in the same run:
// `graphs` (the default: experts routed on the device with the grouped
// expert GEMM, greedy steps replayed as CUDA graphs), `device` (the same
// without graphs), `host` (routing on the host, experts through cuBLAS's
// batched GEMMs, as prefills run). The CUDA decoders work on a stream of
// their own; with graphs, the all-logits column's timed steps include the
// one that captures the graph, so the greedy column is the steady state.
// Never asserts.
//
//   bench_deepseek_ocr_decode [--experts 64] [--layers 12] [--batches 1,16,64]
//                             [--context 512] [--steps 8] [--threads 0] [--cuda]
//                             [--cuda-core-attention] [--variants graphs,device,host]
#include "decoder_backend.h"
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
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#ifdef CITADEL_HAVE_CUDA
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/flash_decode.h"

#include <cuda_runtime_api.h>
#endif

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

#ifdef CITADEL_HAVE_CUDA
// Device-to-device copy bandwidth, bytes/s (read + write), of 1 GiB copies.
double device_copy_bandwidth() {
  const size_t bytes = size_t{1} << 30;
  runtime::cuda::DeviceBuffer from(bytes, "bandwidth source"), to(bytes, "bandwidth target");
  cudaEvent_t start = nullptr, stop = nullptr;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  cudaMemcpy(to.data(), from.data(), bytes, cudaMemcpyDeviceToDevice);  // warm-up
  constexpr int kCopies = 10;
  cudaEventRecord(start);
  for (int i = 0; i < kCopies; ++i) cudaMemcpyAsync(to.data(), from.data(), bytes, cudaMemcpyDeviceToDevice);
  cudaEventRecord(stop);
  cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return 2.0 * static_cast<double>(bytes) * kCopies / (ms * 1e-3);
}
#endif

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
  bool use_cuda = false;
  std::vector<std::string> variants;
  try {
    const bench::BenchFlags flags(argc, argv, {"--cuda", "--cuda-core-attention"});
    config.n_routed_experts = static_cast<uint32_t>(flags.integer("--experts", config.n_routed_experts));
    config.num_layers = static_cast<uint32_t>(flags.integer("--layers", config.num_layers));
    batches = flags.integer_list("--batches", {1, 16, 64});
    context = static_cast<int>(flags.integer("--context", 512));
    steps = static_cast<int>(flags.integer("--steps", 8));
    threads = static_cast<unsigned>(flags.integer("--threads", 0));
    use_cuda = flags.has("--cuda");
    std::stringstream list(flags.text("--variants", "graphs"));
    for (std::string variant; std::getline(list, variant, ',');) {
      if (variant != "graphs" && variant != "device" && variant != "host")
        throw std::invalid_argument("--variants: graphs, device or host, not " + variant);
      variants.push_back(variant);
    }
#ifdef CITADEL_HAVE_CUDA
    if (flags.has("--cuda-core-attention")) runtime::cuda::set_flash_decode_tensor_cores(false);
#endif
    flags.reject_unknown();
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 2;
  }
  config.experts_per_token = std::min(config.experts_per_token, config.n_routed_experts);
#ifndef CITADEL_HAVE_CUDA
  if (use_cuda) {
    std::fprintf(stderr, "bench_deepseek_ocr_decode: --cuda needs a CUDA build (-DCITADEL_CUDA=ON)\n");
    return 2;
  }
#endif

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
  // The decoders timed side by side, with their labels.
  std::vector<std::pair<std::string, std::unique_ptr<deepseek_ocr::DecoderBackend>>> backends;
  void* stream = nullptr;
#ifdef CITADEL_HAVE_CUDA
  cudaStream_t cuda_stream = nullptr;
  if (use_cuda) cudaStreamCreateWithFlags(&cuda_stream, cudaStreamNonBlocking);
  stream = cuda_stream;
#endif
  if (!use_cuda) {
    backends.emplace_back("", deepseek_ocr::make_cpu_decoder(pass, pool));
  } else {
    for (const std::string& variant : variants) {
      deepseek_ocr::CudaDecoderOptions options;
      options.step_graphs = variant == "graphs";
      if (variant == "host") options.device_routing_max_rows = 0;
      std::string label = variant + ":";
      label.resize(8, ' ');
      backends.emplace_back(variants.size() > 1 ? label : "",
                            deepseek_ocr::make_cuda_decoder(config, weights, runtime::DType::f16, 0, stream, options));
    }
  }
  std::printf("deepseek-ocr decoder, %s: %u layers, %u experts (top-%u) of %u, hidden %u; %.2f GB bf16 weights; "
              "%u threads; context %d\n",
              use_cuda ? "CUDA (f16 weights)" : "CPU", config.num_layers, config.n_routed_experts,
              config.experts_per_token, config.moe_intermediate_size, config.hidden_size, total_bytes / 1e9,
              pool.size(), context);
  // Weight bytes a step reads on the device (f16, as uploaded): everything
  // but the embedding and the routed experts, plus min(experts, top-k x
  // batch) routed experts per MoE layer (as if the tokens chose distinct
  // ones: the most a step can read).
  const uint64_t expert_bytes = 3ull * h * config.moe_intermediate_size * 2;
  const uint64_t embedding_bytes = uint64_t{config.vocab_size} * h * 2;
  uint64_t moe_layers = 0;
  for (uint32_t l = 0; l < config.num_layers; ++l) moe_layers += config.is_moe_layer(l) ? 1 : 0;
  const uint64_t fixed_bytes = total_bytes - embedding_bytes - moe_layers * config.n_routed_experts * expert_bytes;
  double copy_bandwidth = 0;
#ifdef CITADEL_HAVE_CUDA
  if (use_cuda) {
    copy_bandwidth = device_copy_bandwidth();
    std::printf("device %s, copy bandwidth %.2f TB/s (read + write): the roofline below\n",
                runtime::cuda::device_name().c_str(), copy_bandwidth / 1e12);
  }
#endif

  for (int batch : batches) {
    const size_t blocks_per_sequence =
        (context + 2 * steps + deepseek_ocr::kTokensPerBlock) / deepseek_ocr::kTokensPerBlock;
    std::vector<uint16_t> storage(batch * blocks_per_sequence * block_bytes / 2);
    for (size_t i = 0; i < storage.size(); ++i) storage[i] = runtime::float_to_half(static_cast<float>((i * 7919) % 2001) / 1000.0f - 1.0f);
    std::byte* base = reinterpret_cast<std::byte*>(storage.data());
#ifdef CITADEL_HAVE_CUDA
    runtime::cuda::DeviceBuffer device_storage;
    if (use_cuda) {
      device_storage = runtime::cuda::DeviceBuffer::from_host(storage.data(), storage.size() * 2, "bench KV blocks");
      base = static_cast<std::byte*>(device_storage.data());
    }
#endif
    std::vector<void*> addresses;
    for (size_t b = 0; b < batch * blocks_per_sequence; ++b) addresses.push_back(base + b * block_bytes);
    std::vector<int32_t> tokens(batch);
    for (int s = 0; s < batch; ++s) tokens[s] = (s * 104729) % 128000;
    for (auto& [label, backend] : backends) {
      for (int s = 0; s < batch; ++s) tokens[s] = (s * 104729) % 128000;
      // `steps` steps with every logits row returned (run), then `steps` as
      // the model's greedy steps (run_step, argmax_only: on CUDA only each
      // row's argmax is copied back).
      double seconds = 0, greedy_seconds = 0;
      for (int step = 0; step < 2 * steps; ++step) {
        const bool greedy = step >= steps;
        std::vector<deepseek_ocr::DecoderChunk> chunks(batch);
        for (int s = 0; s < batch; ++s) {
          chunks[s].tokens = std::span<const int32_t>(&tokens[s], 1);
          chunks[s].first_position = static_cast<uint32_t>(context + step);
          chunks[s].blocks = std::span<void* const>(addresses).subspan(s * blocks_per_sequence, blocks_per_sequence);
          chunks[s].want_logits = true;
          chunks[s].argmax_only = greedy;
        }
        const auto start = std::chrono::steady_clock::now();
        if (greedy) {
          const deepseek_ocr::DecoderBackend::StepLogits logits = backend->run_step(chunks);
          const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          if (step > steps) greedy_seconds += elapsed;
          for (int s = 0; s < batch; ++s) {
            const int32_t next = logits.argmax.empty() ? s : logits.argmax[static_cast<size_t>(s)];
            tokens[s] = static_cast<int32_t>((tokens[s] + 31 + next % 7) % 128000);
          }
          continue;
        }
        const std::vector<float> logits = backend->run(chunks);
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (step > 0) seconds += elapsed;  // the first step warms the caches
        for (int s = 0; s < batch; ++s) tokens[s] = static_cast<int32_t>((tokens[s] + 31 * (logits[s] > 0)) % 128000);
      }
      const double per_step = seconds / std::max(1, steps - 1);
      const double greedy_per_step = greedy_seconds / std::max(1, steps - 1);
      std::printf("%sbatch %3d: %8.2f ms/step, %9.1f decode tokens/s; "
                  "greedy (argmax copied) %8.2f ms/step, %9.1f tokens/s",
                  label.c_str(), batch, per_step * 1e3, batch / per_step, greedy_per_step * 1e3, batch / greedy_per_step);
      if (use_cuda) {
        const uint64_t routed = std::min<uint64_t>(config.n_routed_experts, uint64_t{config.experts_per_token} * batch);
        const double kv_bytes = static_cast<double>(batch) * (context + steps / 2.0) * config.num_layers *
                                static_cast<double>(pass.bytes_per_token_per_layer());
        const double bytes = static_cast<double>(fixed_bytes + moe_layers * routed * expert_bytes) + kv_bytes;
        const double limit = bytes / copy_bandwidth;
        std::printf("; roofline %.3f ms (%.2f GB: weights of %llu routed experts a layer, KV), %.1f%% of it",
                    limit * 1e3, bytes / 1e9, static_cast<unsigned long long>(routed), 100.0 * limit / per_step);
      }
      std::printf("\n");
    }
  }
  backends.clear();
#ifdef CITADEL_HAVE_CUDA
  if (cuda_stream != nullptr) cudaStreamDestroy(cuda_stream);
#endif
  return 0;
}
