// ocr_model.h — the deepseek-ocr plugin's model: loads a DeepSeek-OCR
// checkpoint folder (config.json, model.safetensors by mmap, tokenizer.json),
// turns a request (JSON input + the image as payload) into a prompt whose
// <image> placeholder run is keyed for prefix caching by the image's content
// hash (request_open decodes and hashes the image; the plugin's preparation
// thread resamples it and, on CUDA, its encoder thread runs the vision
// encoder on a stream of its own, image_preparer.h), and runs the host's step
// batches on the CPU or the host's CUDA device (decoder_backend.h): at the
// prefill of a request's placeholder run it takes the image's rows (or
// encodes the image there, on the CPU by default), then the DeepSeek-MoE
// decoder with its KV cache in the host's blocks (decoder_pass.h). With
// option defer_unready_images, where the host allows it (ABI 2.2), a
// prefill whose image is still being prepared or encoded on the preparer's
// threads is deferred, so that the step's other requests do not wait.
// The host calls it from one thread at a time; the preparer's threads use
// only the encoder (through the preparer), never the decoder.
// plugin.cpp registers it; the tests drive it through the real host.
// Options: ocr_options.h. Input: ocr_input.h.
#pragma once

#include "decoder_backend.h"
#include "decoder_config.h"
#include "decoder_pass.h"
#include "decoder_weights.h"
#include "image_preparer.h"
#include "ocr_options.h"
#include "ocr_request.h"
#include "vision/deep_encoder.h"

#include <citadel/sdk.hpp>
#include <citadel/step_outputs.hpp>

#include "runtime/core/thread_pool.h"
#include "runtime/formats/safetensors.h"
#include "runtime/text/tokenizer.h"

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace citadel::deepseek_ocr {

class OcrModel final : public sdk::Model {
 public:
  OcrModel(const sdk::Host& host, const sdk::ModelConfig& config);
  ~OcrModel() override;

  citadel_model_info describe() override;
  sdk::RequestPlan open_request(uint64_t request_id, std::string_view input_json,
                                std::span<const uint8_t> payload) override;
  void step(const citadel_step_batch& batch, citadel_step_output* outputs) override;
  void close_request(uint64_t request_id) override;
  std::string detokenize(std::span<const int32_t> ids) override;

 private:
  // 1 for each item whose image the preparer's threads have not finished,
  // to be deferred (none when the host does not take deferred items; when
  // nothing else in the step is to compute, the first of them waits).
  std::vector<char> items_to_defer(const citadel_step_batch& batch) const;

  sdk::Host host_;
  OcrOptions options_;
  std::string folder_;
  std::string version_;
  DecoderConfig config_;
  std::unique_ptr<runtime::SafetensorsCheckpoint> checkpoint_;
  DecoderWeights weights_;
  std::optional<runtime::Tokenizer> tokenizer_;
  int32_t image_token_id_ = -1;
  uint32_t max_context_ = 0;
  // Destroyed bottom up: requests (their tickets), then the preparer (joins
  // its threads, which use encoder_), then the decoder, the encoder, the pools.
  std::unique_ptr<runtime::ThreadPool> pool_;
  std::unique_ptr<runtime::ThreadPool> encoder_pool_;  // CPU encoder on the encoder thread
  std::unique_ptr<DeepEncoder> encoder_;
  std::unique_ptr<DecoderPass> cpu_pass_;        // on the CPU (decoder_ runs it)
  std::unique_ptr<DecoderBackend> decoder_;      // CPU or CUDA, chosen at load
  std::unique_ptr<ImagePreparer> preparer_;       // after encoder_, before requests_
  double reported_encoder_seconds_ = 0;           // preparer_->encoder_seconds() at the last step
  std::unordered_map<uint64_t, std::unique_ptr<OcrRequest>> requests_;
  citadel_prefix_extra_key plan_key_{};              // the last plan's extra key
  sdk::StepOutputs step_outputs_;                    // the last step's strings and block tables
};

}  // namespace citadel::deepseek_ocr
