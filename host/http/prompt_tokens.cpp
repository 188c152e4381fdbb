// The "prompt" of completion requests: strings or token ids.
#include "host/http/prompt_tokens.h"

#include "host/http/api_error.h"

namespace citadel::http {

namespace json = boost::json;

namespace {

// One prompt given as token ids: a non-empty array of integers.
std::vector<int32_t> token_prompt(const json::array& ids) {
  std::vector<int32_t> tokens;
  for (const json::value& id : ids) {
    if (!id.is_int64() && !id.is_uint64())
      throw bad_request("'prompt' token arrays must hold integers", "prompt", "invalid_type");
    // Boost.JSON keeps integers past INT64_MAX as uint64: compare each kind as itself.
    const bool in_range = id.is_uint64() ? id.get_uint64() <= INT32_MAX : id.get_int64() >= 0 && id.get_int64() <= INT32_MAX;
    if (!in_range) {
      throw bad_request("'prompt' holds a token id out of range: " + json::serialize(id), "prompt");
    }
    tokens.push_back(static_cast<int32_t>(id.is_uint64() ? id.get_uint64() : static_cast<uint64_t>(id.get_int64())));
  }
  return tokens;
}

}  // namespace

// "prompt": a string, an array of strings, an array of token ids, or an
// array of token-id arrays (as OpenAI's legacy completions take them).
void parse_prompts(const json::value& prompt, CompletionRequest& request) {
  const char* expected = "'prompt' must be a string, an array of strings, an array of token ids or an "
                         "array of token-id arrays (none empty)";
  if (prompt.is_string()) {
    request.prompts.emplace_back(prompt.as_string());
    request.prompt_token_ids.emplace_back();
    return;
  }
  if (!prompt.is_array() || prompt.as_array().empty()) throw bad_request(expected, "prompt", "invalid_type");
  const json::array& items = prompt.as_array();
  if (items[0].is_number()) {
    request.prompts.emplace_back();
    request.prompt_token_ids.push_back(token_prompt(items));
    return;
  }
  for (const json::value& item : items) {
    if (item.is_string()) {
      request.prompts.emplace_back(item.as_string());
      request.prompt_token_ids.emplace_back();
    } else if (item.is_array() && !item.as_array().empty() && item.as_array()[0].is_number()) {
      request.prompts.emplace_back();
      request.prompt_token_ids.push_back(token_prompt(item.as_array()));
    } else {
      throw bad_request(expected, "prompt", "invalid_type");
    }
  }
}

}  // namespace citadel::http
