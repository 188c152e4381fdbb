// POST /tokenize and /detokenize (vLLM's shapes): a text model's tokenizer
// through the plugin's optional tokenize / detokenize operations.
//   {"model", "prompt": str} | {"model", "messages": [...]}
//       -> {"tokens": [ids], "count": n, "max_model_len": m}
//   {"model", "tokens": [ids]} -> {"prompt": str}
// The call runs on the session's thread and waits for the model's current
// step (the plugin is called between steps), which is short.
#include "host/http/endpoints.h"

#include "host/http/api_error.h"
#include "host/http/model_lookup.h"
#include "host/http/request_fields.h"

#include <boost/json.hpp>

namespace citadel::http {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

constexpr size_t kMaxDetokenizeTokens = 1 << 20;

// Raises the reply's refusal as an API error (404 unknown model, else 400).
void check_reply(const sched::TokenizerReply& reply, const std::string& model) {
  if (reply) return;
  if (reply.rejection.reason == sched::RejectReason::unknown_model) throw model_not_found(model);
  throw bad_request(reply.rejection.message, "", "invalid_request");
}

// The plugin input of a /tokenize body: its prompt or messages.
std::string tokenize_input(const json::object& body) {
  const json::value* prompt = body.if_contains("prompt");
  const json::value* messages = body.if_contains("messages");
  const bool has_prompt = prompt != nullptr && !prompt->is_null();
  const bool has_messages = messages != nullptr && !messages->is_null();
  if (has_prompt == has_messages)
    throw bad_request("give exactly one of 'prompt' and 'messages'", "prompt", "missing_field");
  json::object input;
  if (has_prompt) {
    if (!prompt->is_string()) throw bad_request("'prompt' must be a string", "prompt", "invalid_type");
    input["prompt"] = *prompt;
  } else {
    if (!messages->is_array() || messages->as_array().empty())
      throw bad_request("'messages' must be a non-empty array", "messages", "invalid_type");
    input["messages"] = *messages;
  }
  return json::serialize(input);
}

std::vector<int32_t> token_list(const json::object& body) {
  const json::value* tokens = body.if_contains("tokens");
  if (tokens == nullptr || !tokens->is_array())
    throw bad_request("'tokens' must be an array of token ids", "tokens",
                      tokens == nullptr ? "missing_field" : "invalid_type");
  if (tokens->as_array().size() > kMaxDetokenizeTokens)
    throw bad_request("'tokens' holds more than " + std::to_string(kMaxDetokenizeTokens) + " ids", "tokens");
  std::vector<int32_t> ids;
  for (const json::value& id : tokens->as_array()) {
    if (!id.is_int64() && !id.is_uint64())
      throw bad_request("'tokens' must hold integers", "tokens", "invalid_type");
    const int64_t value = id.to_number<int64_t>();
    if (value < 0 || value > INT32_MAX)
      throw bad_request("'tokens' holds an id out of range: " + std::to_string(value), "tokens");
    ids.push_back(static_cast<int32_t>(value));
  }
  return ids;
}

json::object tokens_reply(const sched::TokenizerReply& reply) {
  json::array tokens;
  for (int32_t id : reply.tokens) tokens.emplace_back(id);
  json::object body;
  body["count"] = reply.tokens.size();
  body["max_model_len"] = reply.max_model_len;
  body["tokens"] = std::move(tokens);
  return body;
}

json::object text_reply(const sched::TokenizerReply& reply) {
  json::object body;
  body["prompt"] = reply.text;
  return body;
}

}  // namespace

net::awaitable<void> handle_tokenize(Exchange& exchange) {
  ServerContext& server = exchange.server();
  const json::object body = parse_json_object(exchange.request().body());
  const std::string model = required_string(body, "model");
  exchange.authorize_model(model);
  require_task(server.router.list_models(), model, {"text_generation", "generic"}, "/tokenize");
  const sched::TokenizerReply reply = server.router.tokenize(model, tokenize_input(body));
  check_reply(reply, model);
  co_await exchange.respond_json(200, tokens_reply(reply));
}

net::awaitable<void> handle_detokenize(Exchange& exchange) {
  ServerContext& server = exchange.server();
  const json::object body = parse_json_object(exchange.request().body());
  const std::string model = required_string(body, "model");
  exchange.authorize_model(model);
  require_task(server.router.list_models(), model, {"text_generation", "generic"}, "/detokenize");
  const sched::TokenizerReply reply = server.router.detokenize(model, token_list(body));
  check_reply(reply, model);
  co_await exchange.respond_json(200, text_reply(reply));
}

}  // namespace citadel::http
