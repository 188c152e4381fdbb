// The faulty test plugin: a text-generation "model" that echoes its prompt
// (one byte a step, like the echo plugin but without cache checks) and
// misbehaves on purpose, so the tests can prove the host contains plugin
// faults. Option `fault` picks the misbehaviour; it strikes only steps that
// carry a request whose prompt contains `trigger` (default "FAULT"), so the
// same model serves ordinary requests until the faults fail it.
//
// Batch faults (the whole step fails):
//   throw          step throws a C++ exception (the SDK turns it into a status)
//   bad_status     step returns CITADEL_ERR_INTERNAL with a message
//   oom            step returns CITADEL_ERR_OUT_OF_MEMORY (transient)
//   device_fatal   step returns CITADEL_ERR_DEVICE_FATAL (a sticky CUDA error)
//   stall          step sleeps stall_ms before answering normally
// Output faults (only the triggering request's output is malformed):
//   unknown_request_id   answers for another request id
//   token_out_of_range   appends token id vocab_size (256)
//   appended_inconsistent appends 2 tokens in one step
//   failed_no_message    state FAILED with no error message
//   unknown_state        a request state outside the enum
// Built by tests/plugins/CMakeLists.txt as test-plugins/faulty/faulty.so.
#include "echo_input.hpp"
#include "test_model_parts.hpp"

#include <citadel/sdk.hpp>

#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>

namespace citadel::test::faulty {
namespace {

constexpr uint32_t kVocabSize = 256;

const std::vector<std::string> kFaults = {
    "none",  "throw", "bad_status", "oom", "device_fatal", "stall", "unknown_request_id",
    "token_out_of_range", "appended_inconsistent", "failed_no_message", "unknown_state"};

struct FaultyOptions {
  std::string fault = "none";
  std::string trigger = "FAULT";
  uint32_t step_delay_ms = 0;
  uint32_t stall_ms = 5000;
};

uint32_t option_uint(const boost::json::value& value, const std::string& key) {
  if (!value.is_int64() && !value.is_uint64()) {
    throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "option " + key + ": must be an integer");
  }
  const int64_t number = value.to_number<int64_t>();
  if (number < 0 || number > 600000) {
    throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "option " + key + ": outside [0, 600000]");
  }
  return static_cast<uint32_t>(number);
}

FaultyOptions parse_options(const boost::json::object& options) {
  FaultyOptions result;
  for (const auto& [key_view, value] : options) {
    const std::string key(key_view);
    if (key == "fault" || key == "trigger") {
      if (!value.is_string()) {
        throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "option " + key + ": must be a string");
      }
      (key == "fault" ? result.fault : result.trigger) = std::string(value.as_string());
    } else if (key == "step_delay_ms") {
      result.step_delay_ms = option_uint(value, key);
    } else if (key == "stall_ms") {
      result.stall_ms = option_uint(value, key);
    } else {
      throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "unknown option " + key);
    }
  }
  if (std::find(kFaults.begin(), kFaults.end(), result.fault) == kFaults.end()) {
    throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "option fault: unknown fault " + result.fault);
  }
  return result;
}

struct FaultyRequest {
  std::vector<int32_t> tokens;  // prompt bytes, then generated ones
  uint32_t prompt_tokens = 0;
  uint32_t max_new_tokens = 0;
  bool triggers = false;
  std::string text;
};

class FaultyModel : public sdk::Model {
 public:
  FaultyModel(const sdk::Host& host, const sdk::ModelConfig& config)
      : host_(host), options_(parse_options(config.options)) {
    host_.info("faulty instance " + config.name + " created with fault " + options_.fault);
  }

  citadel_model_info describe() override {
    return one_layer_model_info({.task = CITADEL_TASK_TEXT_GENERATION,
                                 .max_context_tokens = 4096,
                                 .max_batch_requests = 64,
                                 .max_step_tokens = 2048,
                                 .model_version = "faulty 1.0.0",
                                 .vocab_size = kVocabSize});
  }

  sdk::RequestPlan open_request(uint64_t request_id, std::string_view input_json,
                                std::span<const uint8_t>) override {
    echo::TextGenerationInput input = echo::parse_text_generation_input(input_json);
    FaultyRequest request;
    for (unsigned char byte : input.prompt) request.tokens.push_back(byte);
    request.prompt_tokens = static_cast<uint32_t>(request.tokens.size());
    request.max_new_tokens = input.max_tokens;
    request.triggers = input.prompt.find(options_.trigger) != std::string::npos;
    FaultyRequest& stored = requests_[request_id] = std::move(request);
    sdk::RequestPlan plan;
    plan.prompt_tokens = stored.prompt_tokens;
    plan.max_new_tokens = stored.max_new_tokens;
    return plan;
  }

  void step(const citadel_step_batch& batch, citadel_step_output* outputs) override {
    if (options_.step_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(options_.step_delay_ms));
    bool triggered = false;
    for (uint32_t i = 0; i < batch.num_items; ++i) {
      auto found = requests_.find(batch.items[i].request_id);
      triggered = triggered || (found != requests_.end() && found->second.triggers);
    }
    if (triggered) batch_fault();
    for (uint32_t i = 0; i < batch.num_items; ++i) step_one(batch.items[i], outputs[i]);
  }

  void close_request(uint64_t request_id) override { requests_.erase(request_id); }

 private:
  void batch_fault() const {
    const std::string& fault = options_.fault;
    if (fault == "throw") throw std::logic_error("faulty: step threw on purpose");
    if (fault == "bad_status") throw sdk::PluginError(CITADEL_ERR_INTERNAL, "faulty: step failed on purpose");
    if (fault == "oom") throw sdk::PluginError(CITADEL_ERR_OUT_OF_MEMORY, "faulty: out of device memory on purpose");
    if (fault == "device_fatal") {
      throw sdk::PluginError(CITADEL_ERR_DEVICE_FATAL,
                             "faulty: cudaErrorIllegalAddress (an illegal memory access, on purpose)");
    }
    if (fault == "stall") std::this_thread::sleep_for(std::chrono::milliseconds(options_.stall_ms));
  }

  void step_one(const citadel_step_item& item, citadel_step_output& output) {
    FaultyRequest* found = find_step_request(requests_, item, output, "faulty: unknown request");
    if (found == nullptr) return;
    FaultyRequest& request = *found;
    request.text.clear();
    output.state = CITADEL_REQUEST_RUNNING;
    const uint32_t end = item.num_computed_tokens + item.num_new_tokens;
    const std::string& fault = options_.fault;
    if (request.triggers && fault == "failed_no_message") {
      output.state = CITADEL_REQUEST_FAILED;
      output.finish_reason = CITADEL_FINISH_ERROR;
      return;
    }
    if (request.triggers && fault == "unknown_state") {
      output.state = static_cast<citadel_request_state>(7);
      return;
    }
    if (request.triggers && fault == "unknown_request_id") output.request_id = item.request_id + 1000003;
    if (end < request.tokens.size()) return;  // a prefill chunk short of the end
    const uint32_t produced = static_cast<uint32_t>(request.tokens.size()) - request.prompt_tokens;
    const int32_t token = request.tokens[produced % request.prompt_tokens];
    request.tokens.push_back(token);
    request.text.assign(1, static_cast<char>(token));
    output.appended_tokens = 1;
    output.token_id = token;
    if (request.triggers && fault == "token_out_of_range") output.token_id = kVocabSize;
    if (request.triggers && fault == "appended_inconsistent") output.appended_tokens = 2;
    output.text = request.text.c_str();
    output.text_len = static_cast<uint32_t>(request.text.size());
    if (produced + 1 >= request.max_new_tokens) {
      output.state = CITADEL_REQUEST_FINISHED;
      output.finish_reason = CITADEL_FINISH_LENGTH;
    }
  }

  sdk::Host host_;
  FaultyOptions options_;
  std::map<uint64_t, FaultyRequest> requests_;
};

}  // namespace
}  // namespace citadel::test::faulty

CITADEL_REGISTER_PLUGIN(::citadel::test::faulty::FaultyModel, "faulty", "1.0.0")
