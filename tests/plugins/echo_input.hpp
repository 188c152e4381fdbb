// Parsing of the text-generation input schema (docs/plugin-authoring.md) for
// the echo test plugin: {"prompt": str} or {"messages": [{"role","content"}]}
// plus max_tokens, temperature, top_p, top_k, seed, stop, repetition_penalty,
// and content_runs (byte ranges of the prompt standing for other content,
// declared to the host as prefix-cache extra keys).
//
// Used by echo_plugin.cpp only. Throws sdk::PluginError(INVALID_ARGUMENT)
// naming the field on bad input.
#pragma once

#include <citadel/sdk.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::test::echo {

// A run of prompt bytes that stands for other content (as an image's vision
// tokens do): its cache entries depend on `content` too.
struct ContentRun {
  uint32_t begin = 0;
  uint32_t end = 0;
  std::string content;
};

struct TextGenerationInput {
  std::string prompt;               // the prompt, or the messages' contents joined by "\n"
  uint32_t max_tokens = 16;
  std::vector<std::string> stop;    // stop strings (empty ones dropped)
  std::vector<ContentRun> content_runs;  // "content_runs": [{"begin", "end", "content"}]
};

inline sdk::PluginError input_error(const std::string& field, const std::string& what) {
  return sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "input: " + field + ": " + what);
}

inline void require_number(const boost::json::object& input, const char* field) {
  const boost::json::value* value = input.if_contains(field);
  if (value != nullptr && !value->is_null() && !value->is_number()) {
    throw input_error(field, "must be a number");
  }
}

inline uint32_t run_bound(const boost::json::object& run, const std::string& field, const char* key) {
  const boost::json::value* value = run.if_contains(key);
  if (value == nullptr || (!value->is_int64() && !value->is_uint64()) || value->to_number<int64_t>() < 0) {
    throw input_error(field + "." + key, "must be a non-negative integer");
  }
  return static_cast<uint32_t>(value->to_number<int64_t>());
}

inline std::vector<ContentRun> parse_content_runs(const boost::json::value& runs, size_t prompt_bytes) {
  if (!runs.is_array()) throw input_error("content_runs", "must be an array");
  std::vector<ContentRun> result;
  for (size_t i = 0; i < runs.as_array().size(); ++i) {
    const std::string field = "content_runs[" + std::to_string(i) + "]";
    const boost::json::value& run = runs.as_array()[i];
    if (!run.is_object()) throw input_error(field, "must be an object");
    ContentRun parsed;
    parsed.begin = run_bound(run.as_object(), field, "begin");
    parsed.end = run_bound(run.as_object(), field, "end");
    const boost::json::value* content = run.as_object().if_contains("content");
    if (content == nullptr || !content->is_string()) throw input_error(field + ".content", "must be a string");
    parsed.content = std::string(content->as_string());
    if (parsed.begin >= parsed.end || parsed.end > prompt_bytes ||
        (!result.empty() && parsed.begin < result.back().end)) {
      throw input_error(field, "must be a non-empty run inside the prompt, after the previous run");
    }
    result.push_back(std::move(parsed));
  }
  return result;
}

inline TextGenerationInput parse_text_generation_input(std::string_view input_json) {
  boost::system::error_code parse_error;
  boost::json::value value = boost::json::parse(input_json, parse_error);
  if (parse_error) throw input_error("(json)", "not valid JSON: " + parse_error.message());
  if (!value.is_object()) throw input_error("(json)", "must be a JSON object");
  const boost::json::object& input = value.as_object();

  TextGenerationInput result;
  const boost::json::value* prompt = input.if_contains("prompt");
  const boost::json::value* messages = input.if_contains("messages");
  if (prompt != nullptr && messages != nullptr) {
    throw input_error("prompt", "give either prompt or messages, not both");
  }
  if (prompt != nullptr) {
    if (!prompt->is_string()) throw input_error("prompt", "must be a string");
    result.prompt = std::string(prompt->as_string());
  } else if (messages != nullptr) {
    if (!messages->is_array()) throw input_error("messages", "must be an array");
    const boost::json::array& list = messages->as_array();
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string field = "messages[" + std::to_string(i) + "]";
      if (!list[i].is_object()) throw input_error(field, "must be an object");
      const boost::json::value* content = list[i].as_object().if_contains("content");
      if (content == nullptr || !content->is_string()) {
        throw input_error(field + ".content", "must be a string");
      }
      if (i > 0) result.prompt += "\n";
      result.prompt += std::string(content->as_string());
    }
  } else {
    throw input_error("prompt", "missing (give prompt or messages)");
  }
  if (result.prompt.empty()) throw input_error("prompt", "must not be empty");

  if (const boost::json::value* max_tokens = input.if_contains("max_tokens");
      max_tokens != nullptr && !max_tokens->is_null()) {
    if (!max_tokens->is_int64() && !max_tokens->is_uint64()) {
      throw input_error("max_tokens", "must be an integer");
    }
    const int64_t count = max_tokens->to_number<int64_t>();
    if (count < 1 || count > 1000000) throw input_error("max_tokens", "must be in [1, 1000000]");
    result.max_tokens = static_cast<uint32_t>(count);
  }
  for (const char* field : {"temperature", "top_p", "top_k", "seed", "repetition_penalty"}) {
    require_number(input, field);
  }
  if (const boost::json::value* stop = input.if_contains("stop"); stop != nullptr) {
    if (stop->is_string()) {
      if (!stop->as_string().empty()) result.stop.emplace_back(stop->as_string());
    } else if (stop->is_array()) {
      for (const boost::json::value& item : stop->as_array()) {
        if (!item.is_string()) throw input_error("stop", "must be a string or a list of strings");
        if (!item.as_string().empty()) result.stop.emplace_back(item.as_string());
      }
    } else if (!stop->is_null()) {
      throw input_error("stop", "must be a string or a list of strings");
    }
  }
  if (const boost::json::value* runs = input.if_contains("content_runs"); runs != nullptr && !runs->is_null()) {
    result.content_runs = parse_content_runs(*runs, result.prompt.size());
  }
  return result;
}

}  // namespace citadel::test::echo
