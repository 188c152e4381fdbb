// The image-probe test plugin: a model of task IMAGE_TO_TEXT that "reads"
// its payload and answers deterministic text describing it, so the tests of
// /v1/ocr and image chat can check through the real host exactly which bytes
// each request carried:
//
//   bytes=<n> head=<first 8 bytes, hex> fnv=<FNV-1a 64 of all bytes, hex>
//   size=<w>x<h> (stb's header read; "?" when stb cannot) mode=<mode|none>
//   prompt=<prompt|none>
//
// and, when the prompt contains "<|grounding|>", two grounding spans as
// DeepSeek-OCR writes them (coordinates 0-999):
//   <|ref|>title<|/ref|><|det|>[[0,0,999,499]]<|/det|>
//   <|ref|>cell<|/ref|><|det|>[[500,500,999,999], [0,0,99,99]]<|/det|>
// The text comes out 5 bytes a step (so spans are cut across stream chunks);
// max_tokens counts these steps. A request without a payload fails with
// INVALID_ARGUMENT. Built by tests/plugins/CMakeLists.txt as
// test-plugins/image-probe/image-probe.so.
#include "test_model_parts.hpp"

#include <citadel/sdk.hpp>

#include <stb_image.h>

#include <boost/json.hpp>

#include <climits>
#include <cstdio>
#include <map>

namespace citadel::test::image_probe {
namespace {

constexpr uint32_t kBytesPerStep = 5;
constexpr uint32_t kImageTokens = 16;

std::string hex(uint64_t value, int digits) {
  char buffer[24];
  std::snprintf(buffer, sizeof(buffer), "%0*llx", digits, static_cast<unsigned long long>(value));
  return buffer;
}

std::string describe_payload(std::span<const uint8_t> payload) {
  std::string head;
  for (size_t i = 0; i < payload.size() && i < 8; ++i) head += hex(payload[i], 2);
  uint64_t fnv = 14695981039346656037ull;
  for (uint8_t byte : payload) fnv = (fnv ^ byte) * 1099511628211ull;
  int width = 0;
  int height = 0;
  int components = 0;
  const bool known = payload.size() < static_cast<size_t>(INT_MAX) &&
                     stbi_info_from_memory(payload.data(), static_cast<int>(payload.size()), &width, &height,
                                           &components) != 0;
  return "bytes=" + std::to_string(payload.size()) + " head=" + head + " fnv=" + hex(fnv, 16) +
         " size=" + (known ? std::to_string(width) + "x" + std::to_string(height) : std::string("?"));
}

struct ProbeRequest {
  std::string answer;
  uint32_t prompt_tokens = 0;
  uint32_t steps = 0;      // steps the answer needs
  uint32_t max_steps = 0;  // max_tokens
  uint32_t produced = 0;
  std::string piece;       // this step's text (outputs point into it)
};

class ImageProbeModel : public sdk::Model {
 public:
  ImageProbeModel(const sdk::Host&, const sdk::ModelConfig&) {}

  citadel_model_info describe() override {
    return one_layer_model_info({.task = CITADEL_TASK_IMAGE_TO_TEXT,
                                 .max_context_tokens = 8192,
                                 .max_batch_requests = 64,
                                 .max_step_tokens = 4096,
                                 .model_version = "image-probe 1.0.0",
                                 .vocab_size = 256});
  }

  sdk::RequestPlan open_request(uint64_t request_id, std::string_view input_json,
                                std::span<const uint8_t> payload) override {
    if (payload.empty()) throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "image-probe: the request has no image");
    boost::system::error_code error;
    const boost::json::value input = boost::json::parse(input_json, error);
    if (error || !input.is_object()) throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "image-probe: input is not an object");
    const boost::json::object& fields = input.as_object();
    auto text_of = [&](const char* key) -> std::string {
      const boost::json::value* value = fields.if_contains(key);
      return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string("none");
    };
    const std::string prompt = text_of("prompt");
    ProbeRequest request;
    request.answer = describe_payload(payload) + " mode=" + text_of("mode") + " prompt=" + prompt;
    if (prompt.find("<|grounding|>") != std::string::npos)
      request.answer +=
          "\n<|ref|>title<|/ref|><|det|>[[0,0,999,499]]<|/det|>\n"
          "<|ref|>cell<|/ref|><|det|>[[500,500,999,999], [0,0,99,99]]<|/det|>";
    request.steps = static_cast<uint32_t>((request.answer.size() + kBytesPerStep - 1) / kBytesPerStep);
    const boost::json::value* max_tokens = fields.if_contains("max_tokens");
    request.max_steps = max_tokens != nullptr && max_tokens->is_int64() && max_tokens->as_int64() > 0
                            ? static_cast<uint32_t>(max_tokens->as_int64())
                            : request.steps;
    request.prompt_tokens = 1 + kImageTokens + static_cast<uint32_t>(prompt.size());
    ProbeRequest& stored = requests_[request_id] = std::move(request);
    sdk::RequestPlan plan;
    plan.prompt_tokens = stored.prompt_tokens;
    plan.max_new_tokens = std::min(stored.steps, stored.max_steps);
    return plan;
  }

  void step(const citadel_step_batch& batch, citadel_step_output* outputs) override {
    for (uint32_t i = 0; i < batch.num_items; ++i) step_one(batch.items[i], outputs[i]);
  }

  void close_request(uint64_t request_id) override { requests_.erase(request_id); }

 private:
  void step_one(const citadel_step_item& item, citadel_step_output& output) {
    ProbeRequest* found = find_step_request(requests_, item, output, "image-probe: unknown request");
    if (found == nullptr) return;
    ProbeRequest& request = *found;
    output.state = CITADEL_REQUEST_RUNNING;
    if (item.num_computed_tokens + item.num_new_tokens < request.prompt_tokens) return;  // prefill chunk
    request.piece = request.answer.substr(request.produced * kBytesPerStep, kBytesPerStep);
    ++request.produced;
    output.appended_tokens = 1;
    output.token_id = static_cast<unsigned char>(request.piece[0]);
    output.text = request.piece.c_str();
    output.text_len = static_cast<uint32_t>(request.piece.size());
    if (request.produced == request.steps) {
      output.state = CITADEL_REQUEST_FINISHED;
      output.finish_reason = CITADEL_FINISH_STOP;
    } else if (request.produced == request.max_steps) {
      output.state = CITADEL_REQUEST_FINISHED;
      output.finish_reason = CITADEL_FINISH_LENGTH;
    }
  }

  std::map<uint64_t, ProbeRequest> requests_;
};

}  // namespace
}  // namespace citadel::test::image_probe

CITADEL_REGISTER_PLUGIN(::citadel::test::image_probe::ImageProbeModel, "image-probe", "1.0.0")
