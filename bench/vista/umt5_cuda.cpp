// bench_vista_umt5 (CUDA builds): milliseconds of one prompt through the
// vista plugin's CUDA UMT5 encoder (CudaUmt5Encoder) on random bf16 weights
// made on the device (runtime/cuda/random_fill.h: 9 GB of UMT5-XXL in well
// under a second), at UMT5-XXL's shape by default: --d-model 4096 --layers 24
// --heads 64 --d-kv 64 --d-ff 10240 --tokens 512 (prompt tokens, no padding),
// --vocab 1024 (the host embedding table; only its rows are read), --repeat 5,
// --precision bf16x2|bf16x2_qkv|bf16|all (all: each in turn, fresh weights;
// Umt5GemmPrecision: activations split in two bf16 parts, the default; only
// the q|k|v one split; one bf16 rounding). Prints ms per encode, the TFLOP/s of the
// model, a per-stage table from CUDA events (one more set of encodes, timed by
// StageTimer) with the TFLOP/s of the linears and of the attention, and one
// cuBLAS bf16 GEMM of the largest shape (the fused wi_0|wi_1, tokens x
// d_model x 2 d_ff) alone as the reference rate. Prints; never asserts.
#include "umt5_encoder_cuda.h"

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/random_fill.h"
#include "runtime/cuda/stage_timer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace citadel;
using runtime::cuda::DeviceBuffer;

namespace {

int64_t option(int argc, char** argv, const char* name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::stoll(argv[i + 1]);
  return fallback;
}

std::string text_option(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

uint64_t next_seed = 1;

// bf16 [rows, in] uniform with the standard deviation 1/sqrt(in).
DeviceBuffer random_bf16(int64_t rows, int64_t in) {
  DeviceBuffer buffer(static_cast<size_t>(rows * in) * 2, "bench umt5 weight");
  const float bound = std::sqrt(3.0f / static_cast<float>(in));
  runtime::cuda::fill_uniform_bf16(buffer.as<uint16_t>(), rows * in, -bound, bound, next_seed++, nullptr);
  return buffer;
}

DeviceBuffer random_f32(int64_t count, float low, float high) {
  DeviceBuffer buffer(static_cast<size_t>(count) * 4, "bench umt5 vector");
  runtime::cuda::fill_uniform_f32(buffer.as<float>(), count, low, high, next_seed++, nullptr);
  return buffer;
}

vista::CudaUmt5Encoder::DeviceWeights random_weights(const vista::Umt5Config& config) {
  const int64_t d = config.d_model, inner = config.num_heads * config.d_kv, ff = config.d_ff;
  vista::CudaUmt5Encoder::DeviceWeights weights;
  for (int64_t i = 0; i < config.num_layers; ++i) {
    vista::CudaUmt5Encoder::DeviceLayer layer;
    layer.attention_norm = random_f32(d, 0.9f, 1.1f);
    layer.ffn_norm = random_f32(d, 0.9f, 1.1f);
    layer.qkv = random_bf16(3 * inner, d);
    layer.o = random_bf16(d, inner);
    layer.wi = random_bf16(2 * ff, d);
    layer.wo = random_bf16(d, ff);
    layer.relative_bias = random_f32(config.relative_attention_num_buckets * config.num_heads, -2.0f, 2.0f);
    weights.layers.push_back(std::move(layer));
  }
  weights.final_norm = random_f32(d, 0.9f, 1.1f);
  runtime::cuda::synchronize();
  return weights;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  vista::Umt5Config config;
  config.d_model = option(argc, argv, "--d-model", 4096);
  config.num_layers = option(argc, argv, "--layers", 24);
  config.num_heads = option(argc, argv, "--heads", 64);
  config.d_kv = option(argc, argv, "--d-kv", 64);
  config.d_ff = option(argc, argv, "--d-ff", 10240);
  config.vocab_size = option(argc, argv, "--vocab", 1024);
  const int64_t tokens = option(argc, argv, "--tokens", 512), repeat = option(argc, argv, "--repeat", 5);
  if (tokens < 1 || repeat < 1 || config.vocab_size < 2) {
    std::fprintf(stderr, "bench_vista_umt5: --tokens, --repeat must be >= 1 and --vocab >= 2\n");
    return 2;
  }
  const int64_t d = config.d_model, inner = config.num_heads * config.d_kv, ff = config.d_ff;
  std::printf("device: %s\n", runtime::cuda::device_name().c_str());

  // The host embedding table (bf16, as the released checkpoint) and the prompt.
  std::mt19937 rng(3);
  runtime::Tensor table = runtime::Tensor::zeros(runtime::DType::f32, {config.vocab_size, d});
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < table.numel(); ++i) table.data_as<float>()[i] = normal(rng);
  std::vector<int32_t> ids(static_cast<size_t>(tokens));
  std::uniform_int_distribution<int32_t> id(1, static_cast<int32_t>(config.vocab_size - 1));
  for (int32_t& value : ids) value = id(rng);

  const double n = static_cast<double>(tokens), layers = static_cast<double>(config.num_layers);
  const double qkv_flops = 2.0 * n * layers * 3.0 * d * inner;
  const double linear_flops = 2.0 * n * layers * (3.0 * d * inner + inner * d + 2.0 * d * ff + ff * d);
  const double attention_flops = 4.0 * n * n * inner * layers;
  bool finite = true;
  // One encoder (fresh random weights) per precision.
  const auto measure = [&](vista::Umt5GemmPrecision precision, const char* label) {
    auto started = std::chrono::steady_clock::now();
    vista::CudaUmt5Encoder encoder(config, table.converted(runtime::DType::bf16), random_weights(config), nullptr,
                                   vista::CudaUmt5Options{precision});
    std::printf("\nUMT5 %lld layers, d_model %lld, %lld heads x %lld, d_ff %lld, GEMM activations %s: %.2f GB of "
                "bf16 weights made on the device in %.2f s\n",
                (long long)config.num_layers, (long long)d, (long long)config.num_heads, (long long)config.d_kv,
                (long long)ff, label, encoder.weight_bytes() / 1e9, seconds_since(started));
    std::vector<float> out = encoder.encode(ids, tokens);  // warm-up: cuBLAS heuristics, workspace
    started = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < repeat; ++i) out = encoder.encode(ids, tokens);
    const double seconds = seconds_since(started) / static_cast<double>(repeat);
    bool all_finite = true;
    for (float value : out) all_finite = all_finite && std::isfinite(value);
    finite = finite && all_finite;
    // GEMM work done: a split activation runs its GEMM twice.
    const double gemm_flops = precision == vista::Umt5GemmPrecision::bf16x2       ? 2.0 * linear_flops
                              : precision == vista::Umt5GemmPrecision::bf16x2_qkv ? linear_flops + qkv_flops
                                                                                   : linear_flops;
    std::printf("encode of %lld tokens: %.2f ms (mean of %lld, output %s)\n", (long long)tokens, seconds * 1e3,
                (long long)repeat, all_finite ? "finite" : "NOT FINITE");
    std::printf("  %.1f GFLOP linears (%.1f GFLOP of GEMMs run) + %.1f GFLOP attention: %.1f TFLOP/s of model "
                "FLOPs overall\n",
                linear_flops / 1e9, gemm_flops / 1e9, attention_flops / 1e9,
                (linear_flops + attention_flops) / seconds / 1e12);

    runtime::cuda::StageTimer timer(vista::umt5_stage_names(), nullptr);
    encoder.set_stage_timer(&timer);
    for (int64_t i = 0; i < repeat; ++i) encoder.encode(ids, tokens);
    encoder.set_stage_timer(nullptr);
    double total = 0.0;
    for (double ms : timer.total_ms()) total += ms;
    const double passes = static_cast<double>(timer.passes());
    std::printf("  per-stage time of an encode (CUDA events, mean of %lld; %.2f ms; linears: GEMMs run):\n",
                (long long)timer.passes(), total / passes);
    std::printf("  | stage | ms | share | TFLOP/s |\n  | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < timer.names().size(); ++i) {
      const double ms = timer.total_ms()[i] / passes;
      const double flops = i == static_cast<size_t>(vista::Umt5Stage::linears)     ? gemm_flops
                           : i == static_cast<size_t>(vista::Umt5Stage::attention) ? attention_flops
                                                                                    : 0.0;
      std::printf("  | %s | %.2f | %.1f%% |", timer.names()[i].c_str(), ms, 100.0 * ms / (total / passes));
      if (flops > 0) std::printf(" %.1f |\n", flops / (ms * 1e-3) / 1e12);
      else std::printf(" |\n");
    }
  };
  const std::string which = text_option(argc, argv, "--precision", "all");
  if (which != "all" && which != "bf16x2" && which != "bf16x2_qkv" && which != "bf16") {
    std::fprintf(stderr, "bench_vista_umt5: --precision %s (bf16x2, bf16x2_qkv, bf16 or all)\n", which.c_str());
    return 2;
  }
  if (which == "all" || which == "bf16x2")
    measure(vista::Umt5GemmPrecision::bf16x2, "split in two bf16 parts (bf16x2, the default)");
  if (which == "all" || which == "bf16x2_qkv")
    measure(vista::Umt5GemmPrecision::bf16x2_qkv, "q|k|v split, the others one bf16 rounding (bf16x2_qkv)");
  if (which == "all" || which == "bf16") measure(vista::Umt5GemmPrecision::bf16, "one bf16 rounding (bf16)");

  // The reference: the largest GEMM of a layer alone (bf16 operands, f32 out).
  runtime::cuda::CublasContext cublas;
  const DeviceBuffer x = random_bf16(tokens, d), weight = random_bf16(2 * ff, d);
  DeviceBuffer y(static_cast<size_t>(tokens * 2 * ff) * 4, "bench gemm out");
  const auto gemm = [&] {
    runtime::cuda::matmul_bf16_input(cublas, x.as<uint16_t>(), tokens, d, weight.as<uint16_t>(),
                                     runtime::cuda::WeightLayout::out_in, 2 * ff, y.as<float>(), nullptr, nullptr);
  };
  gemm();
  runtime::cuda::synchronize();
  const int gemms = 50;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < gemms; ++i) gemm();
  runtime::cuda::synchronize();
  const double gemm_seconds = seconds_since(started) / gemms;
  std::printf("\nreference: one cuBLAS bf16 GEMM %lld x %lld x %lld (wi_0|wi_1): %.3f ms, %.1f TFLOP/s\n",
              (long long)tokens, (long long)d, (long long)(2 * ff), gemm_seconds * 1e3,
              2.0 * n * d * 2.0 * ff / gemm_seconds / 1e12);
  return finite ? 0 : 1;
}
