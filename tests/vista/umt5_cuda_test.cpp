// [cuda] The vista UMT5 encoder on CUDA against the CPU Umt5Encoder on a tiny
// random UMT5 (4 heads of 16 = 64 inner != d_model 48, 2 layers), written as
// a bf16 and as an f32 checkpoint, over prompts of 1 to 200 tokens padded
// to 16..256 (relative distances past max_distance 128 reach the clamped
// bucket), padding rows exactly zero. Tolerances, as the scaled max error
// (max |cuda - cpu| / max |cpu|), set from a float64 emulation of the
// device's roundings on this model shape (Umt5GemmPrecision): bf16 weights
// 1e-3 by default (activations split in two bf16 parts; emulated 1.5e-5),
// 1e-2 with only q|k|v split (emulated 3.5e-3 to 6e-3), 3e-2 with one bf16
// rounding (emulated 0.8e-2 to 1.2e-2: the softmax of T5's unscaled logits
// amplifies it); f32 weights 3e-2 (rounded to bf16 on upload; emulated 0.9e-2
// to 1.1e-2). A model whose FFN activations reach ~1e6 (f16 overflows at
// 65504) must give the same result: the encoder may not use f16 for
// activations. The pieces alone too: t5_attention against a direct loop
// (head batches, bucket clamp) and the bf16 GEMMs with a split activation.
#ifdef CITADEL_HAVE_CUDA
#include "vista_reference.hpp"

#include "umt5_encoder_cuda.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/cuda/t5_kernels.h"
#include "runtime_cuda/cuda_test_support.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace citadel;

namespace {

vista::Umt5Config tiny_config() {
  vista::Umt5Config config;
  config.vocab_size = 97;
  config.d_model = 48;
  config.d_kv = 16;
  config.num_heads = 4;
  config.d_ff = 80;
  config.num_layers = 2;
  return config;
}

// A random UMT5EncoderModel checkpoint (transformers' names) in `folder`,
// every tensor stored as `dtype`; the FFN norm weights scaled by `ffn_scale`.
void write_random_umt5(const std::filesystem::path& folder, const vista::Umt5Config& config, runtime::DType dtype,
                       float ffn_scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::pair<std::string, runtime::Tensor>> tensors;
  const auto add = [&](const std::string& name, runtime::Shape shape, float mean, float deviation) {
    runtime::Tensor tensor = runtime::Tensor::zeros(runtime::DType::f32, shape);
    std::normal_distribution<float> normal(mean, deviation);
    float* data = tensor.data_as<float>();
    for (int64_t i = 0; i < tensor.numel(); ++i) data[i] = normal(rng);
    tensors.emplace_back(name, tensor.converted(dtype));
  };
  const int64_t d = config.d_model, inner = config.num_heads * config.d_kv, ff = config.d_ff;
  const float in_d = 1.0f / std::sqrt(static_cast<float>(d));
  add("shared.weight", {config.vocab_size, d}, 0.0f, 1.0f);
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string prefix = "encoder.block." + std::to_string(i) + ".layer.";
    add(prefix + "0.layer_norm.weight", {d}, 1.0f, 0.1f);
    for (const char* name : {"q", "k", "v"}) add(prefix + "0.SelfAttention." + name + ".weight", {inner, d}, 0.0f, in_d);
    add(prefix + "0.SelfAttention.o.weight", {d, inner}, 0.0f, 1.0f / std::sqrt(static_cast<float>(inner)));
    add(prefix + "0.SelfAttention.relative_attention_bias.weight",
        {config.relative_attention_num_buckets, config.num_heads}, 0.0f, 2.0f);
    add(prefix + "1.layer_norm.weight", {d}, ffn_scale, 0.1f * ffn_scale);
    add(prefix + "1.DenseReluDense.wi_0.weight", {ff, d}, 0.0f, in_d);
    add(prefix + "1.DenseReluDense.wi_1.weight", {ff, d}, 0.0f, in_d);
    add(prefix + "1.DenseReluDense.wo.weight", {d, ff}, 0.0f, 1.0f / std::sqrt(static_cast<float>(ff)));
  }
  add("encoder.final_layer_norm.weight", {d}, 1.0f, 0.1f);
  std::filesystem::create_directories(folder);
  runtime::write_safetensors(folder / "model.safetensors", tensors);
}

// `valid` random ids (never the padding id 0) padded with zeros to `padded`.
std::vector<int32_t> random_ids(int64_t padded, int64_t valid, int64_t vocab, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> id(1, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> ids(static_cast<size_t>(padded), 0);
  for (int64_t i = 0; i < valid; ++i) ids[static_cast<size_t>(i)] = id(rng);
  return ids;
}

// Encodes prompts of several lengths on both and checks each within
// `tolerance` of the output's scale; returns the largest error.
double compare_encoders(const std::filesystem::path& folder, const vista::Umt5Config& config, double tolerance,
                        vista::CudaUmt5Options options = {}) {
  const vista::WeightStore store(folder);
  const vista::Umt5Encoder cpu(config, store);
  vista::CudaUmt5Encoder cuda(cpu, nullptr, options);
  runtime::ThreadPool pool(2);
  std::mt19937 rng(11);
  double worst = 0.0;
  // Longest first, then shorter: the workspace and bucket table are reused.
  for (const auto& [padded, valid] : {std::pair<int64_t, int64_t>{16, 9}, {256, 200}, {256, 37}, {16, 1}, {64, 64}}) {
    const std::vector<int32_t> ids = random_ids(padded, valid, config.vocab_size, rng);
    const std::vector<float> expected = cpu.encode(pool, ids, valid);
    const std::vector<float> got = cuda.encode(ids, valid);
    REQUIRE(got.size() == static_cast<size_t>(padded * config.d_model));
    const double error = runtime::cuda::test::scaled_max_error(got, expected);
    INFO(valid << " of " << padded << " tokens: scaled max error " << error);
    CHECK(error < tolerance);
    worst = std::max(worst, error);
    size_t nonzero_padding = 0;
    for (size_t i = static_cast<size_t>(valid * config.d_model); i < got.size(); ++i) nonzero_padding += got[i] != 0.0f;
    CHECK(nonzero_padding == 0);
  }
  return worst;
}

}  // namespace

TEST_CASE("vista CUDA UMT5 encoder matches the CPU encoder on bf16 weights within 1e-3", "[vista][cuda]") {
  const test::TempDir dir;
  const vista::Umt5Config config = tiny_config();
  write_random_umt5(dir.path() / "bf16", config, runtime::DType::bf16, 1.0f, 5);
  const double split = compare_encoders(dir.path() / "bf16", config, 1e-3);
  // The faster precisions: bf16 roundings the softmax amplifies.
  const double split_qkv =
      compare_encoders(dir.path() / "bf16", config, 1e-2, {vista::Umt5GemmPrecision::bf16x2_qkv});
  const double plain = compare_encoders(dir.path() / "bf16", config, 3e-2, {vista::Umt5GemmPrecision::bf16});
  WARN("bf16 weights: worst scaled max error " << split << " (bf16x2, the default), " << split_qkv
                                               << " (bf16x2_qkv), " << plain << " (bf16)");
}

TEST_CASE("vista CUDA UMT5 encoder matches the CPU encoder on f32 weights within 3e-2", "[vista][cuda]") {
  // The device rounds f32 weights to bf16, which the CPU does not: the q and
  // k weights' rounding reaches the logits (0.9e-2 to 1.1e-2 emulated).
  const test::TempDir dir;
  const vista::Umt5Config config = tiny_config();
  write_random_umt5(dir.path() / "f32", config, runtime::DType::f32, 1.0f, 8);
  WARN("f32 weights: worst scaled max error " << compare_encoders(dir.path() / "f32", config, 3e-2));
}

TEST_CASE("vista CUDA UMT5 encoder keeps activations beyond the f16 range", "[vista][cuda]") {
  // FFN norm weights ~1000: the wi GEMM input is ~1e3, gelu(wi_0 h) * wi_1 h
  // ~1e6 and the residual stream ~1e6, far past f16's 65504; bf16 and f32
  // hold them. (The attention norms stay ~1: logits of 1e6 would make the
  // softmax a near-tie argmax, a comparison of rounding, not of encoders.)
  const test::TempDir dir;
  const vista::Umt5Config config = tiny_config();
  write_random_umt5(dir.path() / "large", config, runtime::DType::bf16, 1000.0f, 6);
  // 1.6e-5 emulated; an overflow would give inf/NaN (an infinite error).
  WARN("large activations: worst scaled max error " << compare_encoders(dir.path() / "large", config, 1e-3));
}

TEST_CASE("vista CUDA UMT5 encoder refuses bad prompt lengths and ids", "[vista][cuda]") {
  const test::TempDir dir;
  const vista::Umt5Config config = tiny_config();
  write_random_umt5(dir.path() / "m", config, runtime::DType::bf16, 1.0f, 7);
  const vista::WeightStore store(dir.path() / "m");
  const vista::Umt5Encoder cpu(config, store);
  vista::CudaUmt5Encoder cuda(cpu, nullptr);
  const std::vector<int32_t> ids = {5, 6, 7, 0};
  CHECK_THROWS(cuda.encode(ids, 0));
  CHECK_THROWS(cuda.encode(ids, 5));
  const std::vector<int32_t> outside = {5, 97, 0, 0};
  CHECK_THROWS(cuda.encode(outside, 2));
}
TEST_CASE("t5_attention matches a direct loop over heads batched through small scratch", "[vista][cuda]") {
  // 37 tokens, 3 heads of 8 in rows of 29 floats (not packed), scratch for
  // two heads at once: batches of 2 and 1; max_distance 20 < 36 (clamped).
  const int64_t tokens = 37, heads = 3, head_dim = 8, stride = 29, buckets_count = 32;
  std::mt19937 rng(3);
  const std::vector<float> q = runtime::cuda::test::random_floats(tokens * stride, rng);
  const std::vector<float> k = runtime::cuda::test::random_floats(tokens * stride, rng);
  const std::vector<float> v = runtime::cuda::test::random_floats(tokens * stride, rng);
  const std::vector<float> bias = runtime::cuda::test::random_floats(buckets_count * heads, rng, 2.0f);
  std::vector<int32_t> buckets;
  for (int64_t r = -(tokens - 1); r <= tokens - 1; ++r)
    buckets.push_back(static_cast<int32_t>(vista::t5_relative_bucket(r, buckets_count, 20)));
  std::vector<float> expected(static_cast<size_t>(tokens * heads * head_dim));
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < tokens; ++i) {
      std::vector<double> p(static_cast<size_t>(tokens));
      double top = -INFINITY, total = 0.0;
      for (int64_t j = 0; j < tokens; ++j) {
        double dot = bias[static_cast<size_t>(buckets[static_cast<size_t>(j - i + tokens - 1)] * heads + h)];
        for (int64_t c = 0; c < head_dim; ++c) dot += double(q[i * stride + h * head_dim + c]) * k[j * stride + h * head_dim + c];
        p[static_cast<size_t>(j)] = dot;
        top = std::max(top, dot);
      }
      for (double& value : p) total += value = std::exp(value - top);
      for (int64_t c = 0; c < head_dim; ++c) {
        double sum = 0.0;
        for (int64_t j = 0; j < tokens; ++j) sum += p[static_cast<size_t>(j)] / total * v[j * stride + h * head_dim + c];
        expected[static_cast<size_t>(i * heads * head_dim + h * head_dim + c)] = static_cast<float>(sum);
      }
    }
  runtime::cuda::CublasContext cublas;
  const auto q_d = runtime::cuda::test::to_device(q), k_d = runtime::cuda::test::to_device(k);
  const auto v_d = runtime::cuda::test::to_device(v), bias_d = runtime::cuda::test::to_device(bias);
  const auto buckets_d = runtime::cuda::test::to_device(buckets);
  runtime::cuda::DeviceBuffer out(expected.size() * sizeof(float)), scores(2 * tokens * tokens * sizeof(float));
  runtime::cuda::t5_attention(cublas, q_d.as<float>(), k_d.as<float>(), v_d.as<float>(), stride, tokens, heads,
                              head_dim, bias_d.as<float>(), buckets_d.as<int32_t>(), out.as<float>(),
                              scores.as<float>(), 2 * tokens * tokens, nullptr);
  const double error = runtime::cuda::test::scaled_max_error(out.to_vector<float>(expected.size()), expected);
  INFO("scaled max error " << error);
  CHECK(error < 1e-5);  // f32 throughout
}

TEST_CASE("bf16 GEMMs with a split activation reach f32 accuracy", "[vista][cuda]") {
  // y = x · Wᵀ (W bf16 [48, 40]) from x split in two bf16 parts, the second
  // GEMM accumulating, then the gated GELU's split operand through wo.
  const int64_t rows = 5, in = 40, out = 48;
  std::mt19937 rng(4);
  const std::vector<float> x = runtime::cuda::test::random_floats(rows * in, rng, 100.0f);
  const runtime::Tensor weight_f32 = runtime::Tensor::copy_of(
      runtime::DType::f32, {out, in}, runtime::cuda::test::random_floats(out * in, rng).data());
  const runtime::Tensor weight = weight_f32.converted(runtime::DType::bf16);
  const runtime::Tensor rounded = weight.to_f32();
  std::vector<float> expected(static_cast<size_t>(rows * out));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double sum = 0.0;
      for (int64_t c = 0; c < in; ++c) sum += double(x[r * in + c]) * rounded.data_as<float>()[o * in + c];
      expected[static_cast<size_t>(r * out + o)] = static_cast<float>(sum);
    }
  runtime::cuda::CublasContext cublas;
  const auto x_d = runtime::cuda::test::to_device(x);
  const auto w_d = runtime::cuda::DeviceBuffer::from_host(weight.data(), weight.nbytes());
  runtime::cuda::DeviceBuffer high(rows * in * 2), low(rows * in * 2), y(expected.size() * sizeof(float));
  runtime::cuda::float_to_bf16_split(x_d.as<float>(), high.as<uint16_t>(), low.as<uint16_t>(), rows * in, nullptr);
  using runtime::cuda::WeightLayout;
  runtime::cuda::matmul_bf16_input(cublas, high.as<uint16_t>(), rows, in, w_d.as<uint16_t>(), WeightLayout::out_in,
                                   out, y.as<float>(), nullptr, nullptr);
  runtime::cuda::matmul_bf16_input(cublas, low.as<uint16_t>(), rows, in, w_d.as<uint16_t>(), WeightLayout::out_in,
                                   out, y.as<float>(), nullptr, nullptr, true);
  const double split = runtime::cuda::test::scaled_max_error(y.to_vector<float>(expected.size()), expected);
  runtime::cuda::matmul_bf16(cublas, x_d.as<float>(), rows, in, w_d.as<uint16_t>(), WeightLayout::out_in, out,
                             y.as<float>(), nullptr, nullptr);
  const double single = runtime::cuda::test::scaled_max_error(y.to_vector<float>(expected.size()), expected);
  INFO("split " << split << ", one bf16 rounding " << single);
  CHECK(split < 2e-5);
  CHECK(single < 1e-2);
  CHECK(single > split);  // the split is what made the difference
}
#endif
