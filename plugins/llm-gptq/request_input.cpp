// Parsing of a request's input JSON (see request_input.h for the schema).
#include "request_input.h"

#include "runtime/core/error.h"

#include <boost/json.hpp>

#include <random>

namespace citadel::llm {
namespace {

namespace json = boost::json;

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  runtime::throw_invalid("request input: '" + field + "' " + what);
}

double number(const json::value& value, const std::string& field) {
  if (value.is_int64()) return static_cast<double>(value.as_int64());
  if (value.is_uint64()) return static_cast<double>(value.as_uint64());
  if (value.is_double()) return value.as_double();
  bad(field, "must be a number");
}

int64_t integer(const json::value& value, const std::string& field) {
  const double n = number(value, field);
  if (n != static_cast<double>(static_cast<int64_t>(n))) bad(field, "must be an integer");
  return static_cast<int64_t>(n);
}

std::string message_content(const json::value& content, size_t index) {
  const std::string field = "messages[" + std::to_string(index) + "].content";
  if (content.is_string()) return std::string(content.as_string());
  if (content.is_null()) return {};
  if (!content.is_array()) bad(field, "must be a string or an array of text parts");
  std::string text;
  for (const json::value& part : content.as_array()) {
    const json::object* object = part.if_object();
    const json::value* type = object ? object->if_contains("type") : nullptr;
    const json::value* part_text = object ? object->if_contains("text") : nullptr;
    if (type == nullptr || !type->is_string() || type->as_string() != "text" || part_text == nullptr ||
        !part_text->is_string()) {
      bad(field, "holds a part that is not {\"type\": \"text\", \"text\": ...}");
    }
    text += std::string(part_text->as_string());
  }
  return text;
}

void parse_prompt(const json::value& prompt, RequestInput& input) {
  if (prompt.is_string()) {
    input.prompt_text = std::string(prompt.as_string());
    return;
  }
  if (!prompt.is_array() || prompt.as_array().empty()) bad("prompt", "must be a string or a non-empty array of token ids");
  for (const json::value& id : prompt.as_array()) {
    const int64_t value = integer(id, "prompt");
    if (value < 0 || value > INT32_MAX) bad("prompt", "holds a token id out of range: " + std::to_string(value));
    input.prompt_token_ids.push_back(static_cast<int32_t>(value));
  }
}

void parse_messages(const json::value& messages, RequestInput& input) {
  if (!messages.is_array() || messages.as_array().empty()) bad("messages", "must be a non-empty array");
  size_t index = 0;
  for (const json::value& item : messages.as_array()) {
    const json::object* message = item.if_object();
    const json::value* role = message ? message->if_contains("role") : nullptr;
    if (role == nullptr || !role->is_string()) {
      bad("messages[" + std::to_string(index) + "].role", "must be a string");
    }
    const json::value* content = message->if_contains("content");
    runtime::ChatMessage parsed{std::string(role->as_string()),
                                content ? message_content(*content, index) : std::string(), {}, {}};
    parsed.tool_calls = runtime::structured::parse_message_tool_calls(*message, index);
    if (const json::value* id = message->if_contains("tool_call_id"); id && id->is_string())
      parsed.tool_call_id = std::string(id->as_string());
    input.messages.push_back(std::move(parsed));
    ++index;
  }
}

void parse_logprob_options(const json::value* logprobs, const json::value* top, const json::value* prompt,
                           LogprobOptions& options) {
  if (logprobs != nullptr) {
    if (!logprobs->is_bool()) bad("logprobs", "must be true or false");
    options.sampled = logprobs->as_bool();
  }
  if (top != nullptr) {
    const int64_t count = integer(*top, "top_logprobs");
    if (count < 0 || count > kMaxTopLogprobs) {
      bad("top_logprobs", "must be in [0, " + std::to_string(kMaxTopLogprobs) + "]");
    }
    options.top = static_cast<uint32_t>(count);
  }
  if (prompt != nullptr) {
    if (!prompt->is_bool()) bad("prompt_logprobs", "must be true or false");
    options.prompt = prompt->as_bool();
  }
  if (options.top > 0 && !options.sampled && !options.prompt) {
    bad("top_logprobs", "needs 'logprobs' or 'prompt_logprobs' to be true");
  }
}

}  // namespace

RequestInput parse_request_input(std::string_view input_json) {
  boost::system::error_code error;
  json::value root = json::parse(input_json, error);
  if (error || !root.is_object()) runtime::throw_invalid("request input is not a JSON object");
  const json::object& object = root.as_object();
  RequestInput input;
  auto field = [&](const char* key) -> const json::value* {
    const json::value* value = object.if_contains(key);
    return (value == nullptr || value->is_null()) ? nullptr : value;
  };

  const json::value* prompt = field("prompt");
  const json::value* messages = field("messages");
  if ((prompt == nullptr) == (messages == nullptr)) bad("prompt", "or 'messages' must be given (exactly one)");
  if (prompt) parse_prompt(*prompt, input);
  if (messages) parse_messages(*messages, input);

  if (const json::value* value = field("max_tokens")) {
    const int64_t max_tokens = integer(*value, "max_tokens");
    if (max_tokens < 0) bad("max_tokens", "must not be negative");
    input.max_tokens = static_cast<uint32_t>(std::min<int64_t>(max_tokens, UINT32_MAX));
  }
  runtime::SamplingParams& sampling = input.sampling;
  if (const json::value* value = field("temperature")) {
    sampling.temperature = static_cast<float>(number(*value, "temperature"));
    if (sampling.temperature < 0.0f) bad("temperature", "must not be negative");
  }
  if (const json::value* value = field("top_p")) {
    sampling.top_p = static_cast<float>(number(*value, "top_p"));
    if (!(sampling.top_p > 0.0f && sampling.top_p <= 1.0f)) bad("top_p", "must be in (0, 1]");
  }
  if (const json::value* value = field("top_k")) {
    const int64_t top_k = integer(*value, "top_k");
    if (top_k < 0) bad("top_k", "must not be negative");
    sampling.top_k = static_cast<int32_t>(std::min<int64_t>(top_k, INT32_MAX));
  }
  if (const json::value* value = field("repetition_penalty")) {
    sampling.repetition_penalty = static_cast<float>(number(*value, "repetition_penalty"));
    if (!(sampling.repetition_penalty > 0.0f)) bad("repetition_penalty", "must be positive");
  }
  if (const json::value* value = field("seed")) {
    sampling.seed = static_cast<uint64_t>(integer(*value, "seed"));
  } else {
    sampling.seed = std::random_device{}();
  }
  if (const json::value* value = field("stop")) {
    if (value->is_string()) {
      input.stop.emplace_back(value->as_string());
    } else if (value->is_array()) {
      for (const json::value& item : value->as_array()) {
        if (!item.is_string()) bad("stop", "must hold strings");
        input.stop.emplace_back(item.as_string());
      }
    } else {
      bad("stop", "must be a string or an array of strings");
    }
    std::erase_if(input.stop, [](const std::string& s) { return s.empty(); });
  }
  if (const json::value* value = field("ignore_eos")) {
    if (!value->is_bool()) bad("ignore_eos", "must be true or false");
    input.ignore_eos = value->as_bool();
  }
  input.structured = runtime::structured::parse_structured_request(object);
  parse_logprob_options(field("logprobs"), field("top_logprobs"), field("prompt_logprobs"), input.logprobs);
  if (input.max_tokens == 0u && !input.logprobs.prompt) {
    bad("max_tokens", "may be 0 only with prompt_logprobs (nothing would be computed)");
  }
  return input;
}

}  // namespace citadel::llm
