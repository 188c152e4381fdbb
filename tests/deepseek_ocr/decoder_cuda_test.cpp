// [cuda] The deepseek-ocr CUDA decoder (decoder_backend.h) against the
// reference on the tiny checkpoint, fed the reference's image embeddings with
// the K/V in device blocks: last-position logits within 1e-2 relative error
// for every case (f16 weights and GEMM inputs), and greedy tokens identical
// to the reference up to the first step whose reference margin is below
// 2e-2 (fragile at f16, see tools/deepseek_ocr/README.md). A step that
// decodes two sequences at once (their rows routed to experts together)
// gives each the logits of its step alone. Both cases run with the experts
// routed on the host for every step and on the device for every step
// (prompts included: the grouped expert GEMM over more rows than one pass),
// on a stream of their own, so that the second case's greedy steps are
// captured and replayed as CUDA graphs.
#ifdef CITADEL_HAVE_CUDA
#include "deepseek_ocr/ocr_reference.hpp"

#include "decoder_backend.h"
#include "decoder_config.h"
#include "decoder_weights.h"

#include "runtime/cuda/device_buffer.h"
#include "runtime/kernels/attention.h"
#include "runtime/kernels/sampling.h"

#include <catch2/catch.hpp>
#include <cuda_runtime_api.h>

using namespace citadel;

namespace {

// A stream of the test's own (graphs are not captured on the legacy default stream).
class Stream {
 public:
  Stream() { REQUIRE(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking) == cudaSuccess); }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  void* get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

}  // namespace

TEST_CASE("the CUDA decoder matches the reference's logits and greedy tokens", "[deepseek-ocr][cuda]") {
  const deepseek_ocr::DecoderConfig config = deepseek_ocr::load_decoder_config(test::ocr_model_dir());
  const runtime::SafetensorsCheckpoint checkpoint(test::ocr_model_dir());
  const deepseek_ocr::DecoderWeights weights = deepseek_ocr::load_decoder_weights(config, checkpoint);
  deepseek_ocr::CudaDecoderOptions options;
  options.device_routing_max_rows = GENERATE(int64_t{0}, int64_t{1} << 20);
  INFO((options.device_routing_max_rows == 0 ? "routing on the host" : "routing on the device, decode steps as graphs"));
  const Stream stream;
  const auto decoder = deepseek_ocr::make_cuda_decoder(config, weights, runtime::DType::f16, 0, stream.get(), options);
  const boost::json::object index = test::ocr_index();
  std::vector<int32_t> used_ids;
  for (const auto& id : index.at("used_vocab_ids").as_array()) used_ids.push_back(static_cast<int32_t>(id.to_number<int64_t>()));
  const size_t block_bytes = size_t{deepseek_ocr::kTokensPerBlock} * config.num_layers *
                             runtime::kv_bytes_per_token_per_layer(config.num_kv_heads, config.head_dim, runtime::DType::f16);
  for (const std::string& name : test::ocr_case_names()) {
    INFO("case " << name);
    const runtime::SafetensorsFile ref(test::ocr_data_dir() / "cases" / name / "ref.safetensors");
    std::vector<int32_t> sequence = test::tensor_values<int32_t>(ref.tensor("input_ids"));
    const std::vector<float> image = test::tensor_values<float>(ref.tensor("image_embeddings"));
    const std::vector<float> ref_logits = test::tensor_values<float>(ref.tensor("logits_last"));
    const std::vector<int32_t> ref_greedy = test::tensor_values<int32_t>(ref.tensor("greedy_tokens"));
    const std::vector<float> margins = test::tensor_values<float>(ref.tensor("greedy_margins"));
    const uint32_t image_tokens = static_cast<uint32_t>(image.size() / config.hidden_size);
    const uint32_t run_begin = static_cast<uint32_t>(std::find(sequence.begin(), sequence.end(), 128815) - sequence.begin());

    const size_t blocks = (sequence.size() + ref_greedy.size()) / deepseek_ocr::kTokensPerBlock + 1;
    runtime::cuda::DeviceBuffer storage(blocks * block_bytes, "test KV blocks");
    storage.zero();
    std::vector<void*> addresses;
    for (size_t b = 0; b < blocks; ++b) addresses.push_back(storage.as<std::byte>() + b * block_bytes);

    deepseek_ocr::DecoderChunk prompt;
    prompt.tokens = sequence;
    prompt.blocks = addresses;
    prompt.image = deepseek_ocr::EmbeddingRun{run_begin, image_tokens, image.data()};
    prompt.want_logits = true;
    std::vector<float> logits = decoder->run(std::span(&prompt, 1));
    REQUIRE(logits.size() == config.vocab_size);
    std::vector<float> used;
    for (int32_t id : used_ids) used.push_back(logits[id]);
    CHECK(test::relative_error(used, ref_logits) < 1e-2);

    // Every other step as the model's greedy steps run it: run_step with
    // argmax_only, the token from the device's argmax.
    int32_t device_token = -1;
    for (size_t step = 0; step < ref_greedy.size() && margins[step] >= 2e-2f; ++step) {
      const int32_t token = device_token >= 0 ? device_token : runtime::argmax(logits);
      REQUIRE(token == ref_greedy[step]);
      sequence.push_back(token);
      deepseek_ocr::DecoderChunk next;
      next.tokens = std::span<const int32_t>(&sequence.back(), 1);
      next.first_position = static_cast<uint32_t>(sequence.size() - 1);
      next.blocks = addresses;
      next.want_logits = true;
      if (step % 2 == 0) {
        next.argmax_only = true;
        const deepseek_ocr::DecoderBackend::StepLogits result = decoder->run_step(std::span(&next, 1));
        REQUIRE(result.argmax.size() == 1);
        device_token = result.argmax[0];
      } else {
        logits = decoder->run(std::span(&next, 1));
        device_token = -1;
      }
    }
  }
}

TEST_CASE("the CUDA decoder gives each sequence of a batched step its own logits", "[deepseek-ocr][cuda]") {
  const deepseek_ocr::DecoderConfig config = deepseek_ocr::load_decoder_config(test::ocr_model_dir());
  const runtime::SafetensorsCheckpoint checkpoint(test::ocr_model_dir());
  const deepseek_ocr::DecoderWeights weights = deepseek_ocr::load_decoder_weights(config, checkpoint);
  deepseek_ocr::CudaDecoderOptions options;
  options.device_routing_max_rows = GENERATE(int64_t{0}, int64_t{1} << 20);
  INFO((options.device_routing_max_rows == 0 ? "routing on the host" : "routing on the device, decode steps as graphs"));
  const Stream stream;
  const auto decoder = deepseek_ocr::make_cuda_decoder(config, weights, runtime::DType::f16, 0, stream.get(), options);
  const size_t block_bytes = size_t{deepseek_ocr::kTokensPerBlock} * config.num_layers *
                             runtime::kv_bytes_per_token_per_layer(config.num_kv_heads, config.head_dim, runtime::DType::f16);
  const std::vector<std::string> names = test::ocr_case_names();
  REQUIRE(names.size() >= 2);
  struct Sequence {
    std::vector<int32_t> tokens;
    std::vector<float> image;
    runtime::cuda::DeviceBuffer storage;
    std::vector<void*> blocks;
  };
  std::vector<Sequence> sequences(2);
  for (size_t i = 0; i < 2; ++i) {
    Sequence& sequence = sequences[i];
    const runtime::SafetensorsFile ref(test::ocr_data_dir() / "cases" / names[i] / "ref.safetensors");
    sequence.tokens = test::tensor_values<int32_t>(ref.tensor("input_ids"));
    sequence.image = test::tensor_values<float>(ref.tensor("image_embeddings"));
    const size_t blocks = (sequence.tokens.size() + 2) / deepseek_ocr::kTokensPerBlock + 1;
    sequence.storage = runtime::cuda::DeviceBuffer(blocks * block_bytes, "test KV blocks");
    sequence.storage.zero();
    for (size_t b = 0; b < blocks; ++b) sequence.blocks.push_back(sequence.storage.as<std::byte>() + b * block_bytes);
    deepseek_ocr::DecoderChunk prompt;
    prompt.tokens = sequence.tokens;
    prompt.blocks = sequence.blocks;
    const uint32_t begin =
        static_cast<uint32_t>(std::find(sequence.tokens.begin(), sequence.tokens.end(), 128815) - sequence.tokens.begin());
    prompt.image = deepseek_ocr::EmbeddingRun{begin, static_cast<uint32_t>(sequence.image.size() / config.hidden_size),
                                              sequence.image.data()};
    prompt.want_logits = true;
    sequence.tokens.push_back(runtime::argmax(decoder->run(std::span(&prompt, 1))));
  }
  auto step_chunk = [](const Sequence& sequence) {
    deepseek_ocr::DecoderChunk chunk;
    chunk.tokens = std::span<const int32_t>(&sequence.tokens.back(), 1);
    chunk.first_position = static_cast<uint32_t>(sequence.tokens.size() - 1);
    chunk.blocks = sequence.blocks;
    chunk.want_logits = true;
    return chunk;
  };
  const std::vector<deepseek_ocr::DecoderChunk> both{step_chunk(sequences[0]), step_chunk(sequences[1])};
  const std::vector<float> together = decoder->run(both);
  REQUIRE(together.size() == 2 * config.vocab_size);
  for (size_t i = 0; i < 2; ++i) {
    INFO("sequence " << i << " (" << names[i] << ")");
    // The same step alone writes the same K/V at the same position again.
    const deepseek_ocr::DecoderChunk alone = step_chunk(sequences[i]);
    const std::vector<float> solo = decoder->run(std::span(&alone, 1));
    const std::vector<float> mine(together.begin() + i * config.vocab_size, together.begin() + (i + 1) * config.vocab_size);
    CHECK(test::relative_error(mine, solo) < 1e-3);
  }
}
#endif  // CITADEL_HAVE_CUDA
