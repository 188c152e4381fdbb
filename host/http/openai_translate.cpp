// OpenAI completions / chat completions <-> native plugin input and events.
#include "host/http/openai_translate.h"

#include "host/http/api_error.h"
#include "host/http/logprob_render.h"
#include "host/http/prompt_tokens.h"
#include "host/http/request_fields.h"

#include <algorithm>
#include <map>

namespace citadel::http {

namespace json = boost::json;

namespace {

const std::vector<std::string> kChatRoles = {"system", "developer", "user", "assistant", "tool"};
constexpr size_t kMaxStopSequences = 16;
constexpr int64_t kMaxChatTopLogprobs = 20;       // OpenAI's limits
constexpr int64_t kMaxCompletionLogprobs = 5;

std::vector<std::string> parse_stop(const json::object& body) {
  const json::value* stop = body.if_contains("stop");
  if (stop == nullptr || stop->is_null()) return {};
  if (stop->is_string()) return {std::string(stop->as_string())};
  if (!stop->is_array())
    throw bad_request("'stop' must be a string or an array of strings", "stop", "invalid_type");
  std::vector<std::string> result;
  for (const json::value& item : stop->as_array()) {
    if (!item.is_string())
      throw bad_request("'stop' must be a string or an array of strings", "stop", "invalid_type");
    if (!item.as_string().empty()) result.emplace_back(item.as_string());
  }
  if (result.size() > kMaxStopSequences)
    throw bad_request("'stop' has more than " + std::to_string(kMaxStopSequences) + " sequences",
                      "stop");
  return result;
}

// The options shared by both APIs.
void parse_sampling(const json::object& body, const TranslateLimits& limits,
                    CompletionRequest& request, uint32_t default_max_tokens) {
  request.model = required_string(body, "model");
  std::optional<int64_t> max_tokens = optional_integer(body, "max_tokens");
  if (request.api == CompletionApi::chat && !max_tokens)
    max_tokens = optional_integer(body, "max_completion_tokens");
  if (max_tokens) {
    const char* field = body.contains("max_tokens") ? "max_tokens" : "max_completion_tokens";
    // Completions take 0 with echo (checked once echo is known): score the prompt only.
    if (*max_tokens < (request.api == CompletionApi::completions ? 0 : 1))
      throw bad_request(std::string("'") + field + "' must be at least 1", field);
    if (*max_tokens > limits.max_tokens_limit)
      throw bad_request(std::string("'") + field + "' is " + std::to_string(*max_tokens) +
                            ", more than the limit of " + std::to_string(limits.max_tokens_limit),
                        field, "max_tokens_exceeded");
    request.max_tokens = static_cast<uint32_t>(*max_tokens);
  } else {
    request.max_tokens = std::min(default_max_tokens, limits.max_tokens_limit);
  }
  request.temperature = optional_number_in(body, "temperature", 0.0, 2.0);
  request.top_p = optional_number_in(body, "top_p", 0.0, 1.0);
  if (request.top_p && *request.top_p <= 0.0)
    throw bad_request("'top_p' must be greater than 0", "top_p");
  request.top_k = optional_integer_in(body, "top_k", -1, 1 << 20);
  request.seed = optional_integer(body, "seed");
  request.repetition_penalty = optional_number_in(body, "repetition_penalty", 0.01, 10.0);
  request.stop = parse_stop(body);
  request.n = static_cast<uint32_t>(
      optional_integer_in(body, "n", 1, limits.max_choices).value_or(1));
  request.stream = optional_bool(body, "stream").value_or(false);
  request.priority = static_cast<int>(optional_integer_in(body, "priority", -1000, 1000).value_or(0));
  if (const json::value* options = body.if_contains("stream_options");
      options != nullptr && !options->is_null()) {
    if (!options->is_object())
      throw bad_request("'stream_options' must be an object", "stream_options", "invalid_type");
    if (!request.stream)
      throw bad_request("'stream_options' is only allowed when 'stream' is true", "stream_options");
    request.include_usage =
        optional_bool(options->as_object(), "include_usage").value_or(false);
  }
}

std::string message_content(const json::value& content, size_t index) {
  const std::string field = "messages[" + std::to_string(index) + "].content";
  if (content.is_null()) return {};
  if (content.is_string()) return std::string(content.as_string());
  if (!content.is_array())
    throw bad_request("'" + field + "' must be a string or an array of text parts", field,
                      "invalid_type");
  std::string text;
  for (const json::value& part : content.as_array()) {
    const json::object* object = part.if_object();
    const json::value* type = object ? object->if_contains("type") : nullptr;
    const json::value* part_text = object ? object->if_contains("text") : nullptr;
    if (type == nullptr || !type->is_string() || type->as_string() != "text" ||
        part_text == nullptr || !part_text->is_string())
      throw bad_request("'" + field + "' parts must be {\"type\": \"text\", \"text\": string}",
                        field, "unsupported_content");
    text += part_text->as_string();
  }
  return text;
}

json::array parse_messages(const json::object& body) {
  const json::value* messages = body.if_contains("messages");
  if (messages == nullptr || messages->is_null())
    throw bad_request("'messages' is required", "messages", "missing_field");
  if (!messages->is_array())
    throw bad_request("'messages' must be an array", "messages", "invalid_type");
  if (messages->as_array().empty())
    throw bad_request("'messages' must not be empty", "messages");
  json::array result;
  size_t index = 0;
  for (const json::value& message : messages->as_array()) {
    const std::string field = "messages[" + std::to_string(index) + "]";
    if (!message.is_object())
      throw bad_request("'" + field + "' must be an object", field, "invalid_type");
    const json::object& object = message.as_object();
    const json::value* role = object.if_contains("role");
    if (role == nullptr || !role->is_string())
      throw bad_request("'" + field + ".role' is required and must be a string", field + ".role",
                        role == nullptr ? "missing_field" : "invalid_type");
    const std::string role_name(role->as_string());
    if (std::find(kChatRoles.begin(), kChatRoles.end(), role_name) == kChatRoles.end())
      throw bad_request("'" + field + ".role' must be one of system, developer, user, assistant, tool",
                        field + ".role");
    const json::value* content = object.if_contains("content");
    json::object tool_fields;
    const bool calls_tools = copy_message_tool_fields(object, field, tool_fields);
    if (content == nullptr && !calls_tools)
      throw bad_request("'" + field + ".content' is required", field + ".content", "missing_field");
    json::object entry{{"role", role_name},
                       {"content", content ? message_content(*content, index) : std::string()}};
    for (auto& member : tool_fields) entry[member.key()] = std::move(member.value());
    result.push_back(std::move(entry));
    ++index;
  }
  return result;
}

void check_choice_count(const CompletionRequest& request, const TranslateLimits& limits) {
  if (request.choice_count() > limits.max_choices)
    throw bad_request("The request asks for " + std::to_string(request.choice_count()) +
                          " choices (prompts x n), more than " +
                          std::to_string(limits.max_choices),
                      "n");
}

json::object chunk_base(const CompletionRequest& request, const ResponseIdentity& identity) {
  return json::object{
      {"id", identity.id},
      {"object", request.api == CompletionApi::chat ? "chat.completion.chunk" : "text_completion"},
      {"created", identity.created},
      {"model", request.model}};
}

// The "logprobs" of a whole choice: null unless asked for.
json::value choice_logprobs(const CompletionRequest& request, const ChoiceOutcome& choice) {
  if (!request.logprobs) return nullptr;
  if (request.api == CompletionApi::chat)
    return json::object{{"content", chat_logprob_content(choice.logprobs, choice.usage.prompt_tokens)}};
  CompletionLogprobs lists;
  lists.append(choice.logprobs, choice.usage.prompt_tokens, request.echo);
  return lists.to_json();
}

json::value finish_value(sched::FinishReason reason) {
  const char* name = openai_finish_reason(reason);
  return *name ? json::value(name) : json::value(nullptr);
}

}  // namespace

uint32_t CompletionRequest::choice_count() const {
  const size_t prompt_count = api == CompletionApi::chat ? 1 : prompts.size();
  return static_cast<uint32_t>(prompt_count * n);
}

CompletionRequest parse_completion_request(std::string_view body_text, const TranslateLimits& limits) {
  const json::object body = parse_json_object(body_text);
  CompletionRequest request;
  request.api = CompletionApi::completions;
  parse_sampling(body, limits, request, 16);
  const json::value* prompt = body.if_contains("prompt");
  if (prompt == nullptr || prompt->is_null())
    throw bad_request("'prompt' is required", "prompt", "missing_field");
  parse_prompts(*prompt, request);
  request.echo = optional_bool(body, "echo").value_or(false);
  request.structured.constraint = parse_structured_fields(body).constraint;  // response_format only
  if (request.max_tokens == 0 && !request.echo)
    throw bad_request("'max_tokens' may be 0 only with 'echo': true (scoring the prompt)", "max_tokens");
  if (std::optional<int64_t> logprobs = optional_integer_in(body, "logprobs", 0, kMaxCompletionLogprobs)) {
    request.logprobs = true;
    request.top_logprobs = static_cast<uint32_t>(*logprobs);
  }
  check_choice_count(request, limits);
  return request;
}

CompletionRequest parse_chat_request(std::string_view body_text, const TranslateLimits& limits) {
  const json::object body = parse_json_object(body_text);
  CompletionRequest request;
  request.api = CompletionApi::chat;
  parse_sampling(body, limits, request, limits.max_tokens_limit);
  request.messages = parse_messages(body);
  request.structured = parse_structured_fields(body);
  request.logprobs = optional_bool(body, "logprobs").value_or(false);
  if (std::optional<int64_t> top = optional_integer_in(body, "top_logprobs", 0, kMaxChatTopLogprobs)) {
    if (!request.logprobs && *top > 0)
      throw bad_request("'top_logprobs' needs 'logprobs': true", "top_logprobs");
    request.top_logprobs = static_cast<uint32_t>(*top);
  }
  check_choice_count(request, limits);
  return request;
}

std::string native_input(const CompletionRequest& request, uint32_t index) {
  json::object input;
  const size_t prompt = index / request.n;
  if (request.api == CompletionApi::chat) {
    input["messages"] = request.messages;
  } else if (prompt < request.prompt_token_ids.size() && !request.prompt_token_ids[prompt].empty()) {
    json::array ids;
    for (int32_t id : request.prompt_token_ids[prompt]) ids.emplace_back(id);
    input["prompt"] = std::move(ids);
  } else {
    input["prompt"] = request.prompts.at(prompt);
  }
  input["max_tokens"] = request.max_tokens;
  if (request.temperature) input["temperature"] = *request.temperature;
  if (request.top_p) input["top_p"] = *request.top_p;
  if (request.top_k) input["top_k"] = *request.top_k;
  if (request.seed) input["seed"] = *request.seed + static_cast<int64_t>(index % request.n);
  if (!request.stop.empty()) {
    json::array stop;
    for (const std::string& sequence : request.stop) stop.emplace_back(sequence);
    input["stop"] = std::move(stop);
  }
  if (request.repetition_penalty) input["repetition_penalty"] = *request.repetition_penalty;
  add_structured_input(request.structured, input);
  if (request.logprobs) input["logprobs"] = true;
  if (request.prompt_logprobs()) input["prompt_logprobs"] = true;
  if (request.logprobs && request.top_logprobs > 0) input["top_logprobs"] = request.top_logprobs;
  return json::serialize(input);
}

const char* openai_finish_reason(sched::FinishReason reason) {
  switch (reason) {
    case sched::FinishReason::stop: return "stop";
    case sched::FinishReason::length: return "length";
    case sched::FinishReason::cancelled: return "abort";
    case sched::FinishReason::error: return "error";
    case sched::FinishReason::none: break;
  }
  return "";
}

sched::Usage total_usage(const CompletionRequest& request, const std::vector<ChoiceOutcome>& choices) {
  std::map<size_t, uint32_t> prompt_tokens;  // per prompt, counted once
  std::map<size_t, uint32_t> cached_tokens;
  sched::Usage total;
  for (size_t index = 0; index < choices.size(); ++index) {
    const size_t prompt = index / std::max<uint32_t>(request.n, 1);
    prompt_tokens[prompt] = std::max(prompt_tokens[prompt], choices[index].usage.prompt_tokens);
    cached_tokens[prompt] = std::max(cached_tokens[prompt], choices[index].usage.cached_prompt_tokens);
    total.completion_tokens += choices[index].usage.completion_tokens;
  }
  for (const auto& [prompt, tokens] : prompt_tokens) total.prompt_tokens += tokens;
  for (const auto& [prompt, tokens] : cached_tokens) total.cached_prompt_tokens += tokens;
  return total;
}

json::object usage_json(const sched::Usage& usage) {
  json::object result{{"prompt_tokens", usage.prompt_tokens},
                      {"completion_tokens", usage.completion_tokens},
                      {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
  if (usage.cached_prompt_tokens > 0)
    result["prompt_tokens_details"] = json::object{{"cached_tokens", usage.cached_prompt_tokens}};
  return result;
}

std::string response_id(CompletionApi api, uint64_t sequence) {
  return (api == CompletionApi::chat ? "chatcmpl-" : "cmpl-") + std::to_string(sequence);
}

json::object completion_response(const CompletionRequest& request, const ResponseIdentity& identity,
                                 const std::vector<ChoiceOutcome>& choices) {
  const bool chat = request.api == CompletionApi::chat;
  json::array choice_array;
  for (size_t index = 0; index < choices.size(); ++index) {
    json::object choice{{"index", index}};
    const bool calls_tools = !choices[index].tool_calls.empty();
    if (chat) {
      json::object message{{"role", "assistant"}, {"content", choices[index].text}};
      if (calls_tools) {
        if (choices[index].text.empty()) message["content"] = nullptr;
        json::array calls;
        for (const ToolCall& call : choices[index].tool_calls) calls.push_back(tool_call_json(call));
        message["tool_calls"] = std::move(calls);
      }
      choice["message"] = std::move(message);
    } else {
      const std::string prefix = request.echo ? request.prompts.at(index / request.n) : std::string();
      choice["text"] = prefix + choices[index].text;
    }
    choice["logprobs"] = choice_logprobs(request, choices[index]);
    choice["finish_reason"] = calls_tools ? json::value("tool_calls") : finish_value(choices[index].finish_reason);
    choice_array.push_back(std::move(choice));
  }
  return json::object{{"id", identity.id},
                      {"object", chat ? "chat.completion" : "text_completion"},
                      {"created", identity.created},
                      {"model", request.model},
                      {"choices", std::move(choice_array)},
                      {"usage", usage_json(total_usage(request, choices))}};
}

json::object stream_role_chunk(const CompletionRequest& request, const ResponseIdentity& identity,
                               uint32_t index) {
  json::object chunk = chunk_base(request, identity);
  chunk["choices"] = json::array{json::object{
      {"index", index},
      {"delta", json::object{{"role", "assistant"}, {"content", ""}}},
      {"logprobs", nullptr},
      {"finish_reason", nullptr}}};
  return chunk;
}

json::object stream_text_chunk(const CompletionRequest& request, const ResponseIdentity& identity,
                               uint32_t index, const std::string& text, json::value logprobs) {
  json::object chunk = chunk_base(request, identity);
  json::object choice{{"index", index}};
  if (request.api == CompletionApi::chat)
    choice["delta"] = json::object{{"content", text}};
  else
    choice["text"] = text;
  choice["logprobs"] = std::move(logprobs);
  choice["finish_reason"] = nullptr;
  chunk["choices"] = json::array{std::move(choice)};
  return chunk;
}

json::object stream_tool_calls_chunk(const CompletionRequest& request, const ResponseIdentity& identity,
                                     uint32_t index, const std::vector<ToolCall>& calls) {
  json::object chunk = chunk_base(request, identity);
  json::array deltas;
  for (size_t i = 0; i < calls.size(); ++i) deltas.push_back(tool_call_json(calls[i], static_cast<int>(i)));
  chunk["choices"] = json::array{json::object{{"index", index},
                                              {"delta", json::object{{"tool_calls", std::move(deltas)}}},
                                              {"logprobs", nullptr},
                                              {"finish_reason", nullptr}}};
  return chunk;
}

json::object stream_final_chunk(const CompletionRequest& request, const ResponseIdentity& identity,
                                uint32_t index, sched::FinishReason reason, bool tool_calls) {
  json::object chunk = chunk_base(request, identity);
  json::object choice{{"index", index}};
  if (request.api == CompletionApi::chat)
    choice["delta"] = json::object{};
  else
    choice["text"] = "";
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = tool_calls ? json::value("tool_calls") : finish_value(reason);
  chunk["choices"] = json::array{std::move(choice)};
  return chunk;
}

json::object stream_usage_chunk(const CompletionRequest& request, const ResponseIdentity& identity,
                                const sched::Usage& usage) {
  json::object chunk = chunk_base(request, identity);
  chunk["choices"] = json::array{};
  chunk["usage"] = usage_json(usage);
  return chunk;
}

json::object model_entry(const sched::ModelListing& model, int64_t created) {
  return json::object{{"id", model.name},
                      {"object", "model"},
                      {"created", created},
                      {"owned_by", "citadel"},
                      {"root", model.name},
                      {"parent", nullptr},
                      {"max_model_len", model.max_context_tokens},
                      {"task", model.task},
                      {"plugin", model.plugin},
                      {"plugin_version", model.plugin_version},
                      {"state", model.state}};
}

json::object model_list(const std::vector<sched::ModelListing>& models, int64_t created) {
  std::map<std::string, const sched::ModelListing*> by_name;
  for (const sched::ModelListing& model : models) {
    const sched::ModelListing*& chosen = by_name[model.name];
    if (chosen == nullptr || (chosen->state != "serving" && model.state == "serving") ||
        (chosen->state == model.state && model.generation > chosen->generation))
      chosen = &model;
  }
  json::array data;
  for (const auto& [name, model] : by_name) data.push_back(model_entry(*model, created));
  return json::object{{"object", "list"}, {"data", std::move(data)}};
}

}  // namespace citadel::http
