// POST /v1/completions and /v1/chat/completions: translate, submit n
// requests, then answer with one response object or an SSE stream.
#include "host/http/endpoints.h"

#include "host/http/api_error.h"
#include "host/http/logprob_render.h"
#include "host/http/model_lookup.h"
#include "host/http/openai_translate.h"
#include "host/http/request_group.h"

#include <boost/json.hpp>


namespace citadel::http {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

void record_final(ChoiceOutcome& outcome, const sched::InferenceEvent& event) {
  outcome.finish_reason = event.finish_reason;
  outcome.usage = event.usage;
}

// Collects every choice and writes one response object.
net::awaitable<void> answer_whole(Exchange& exchange, RequestGroup& group,
                                  const CompletionRequest& request, const ResponseIdentity& identity) {
  std::vector<ChoiceOutcome> outcomes(group.size());
  std::optional<ApiError> failure;
  while (std::optional<GroupEvent> item = co_await group.next()) {
    ChoiceOutcome& outcome = outcomes.at(item->index);
    outcome.text += item->event.text;
    outcome.logprobs.insert(outcome.logprobs.end(), item->event.logprobs.begin(), item->event.logprobs.end());
    if (!item->event.final) continue;
    record_final(outcome, item->event);
    const bool failed = item->event.finish_reason == sched::FinishReason::error ||
                        item->event.finish_reason == sched::FinishReason::cancelled;
    if (failed && !failure && !exchange.client_gone()) {
      failure = from_failed_event(item->event);
      group.cancel_all();
    }
  }
  if (exchange.client_gone()) co_return;
  if (failure) throw *failure;
  if (request.structured.tools_active()) {
    const std::vector<std::string> names = request.structured.tool_names();
    for (ChoiceOutcome& outcome : outcomes) {
      AssistantOutput parsed = parse_tool_calls(outcome.text, names);
      if (parsed.calls.empty()) continue;
      outcome.text = std::move(parsed.content);
      outcome.tool_calls = std::move(parsed.calls);
    }
  }
  co_await exchange.respond_json(200, completion_response(request, identity, outcomes));
}

// Writes one chunk unless the stream already failed; a failed write (the
// client left) cancels every request of the group at once.
net::awaitable<void> send_chunk(SseWriter* writer, RequestGroup& group, std::string data) {
  if (writer == nullptr || writer->failed()) co_return;
  const bool sent = co_await writer->send(data);
  if (!sent) group.cancel_all();
}

// Streams every event as it arrives, in arrival order per choice.
net::awaitable<void> answer_stream(Exchange& exchange, RequestGroup& group,
                                   const CompletionRequest& request, const ResponseIdentity& identity) {
  SseWriter* writer = co_await exchange.open_stream();
  if (writer == nullptr) group.cancel_all();
  for (uint32_t index = 0; index < group.size(); ++index) {
    if (request.api == CompletionApi::chat)
      co_await send_chunk(writer, group, json::serialize(stream_role_chunk(request, identity, index)));
    if (request.echo)
      co_await send_chunk(writer, group,
                          json::serialize(stream_text_chunk(request, identity, index,
                                                            request.prompts.at(index / request.n))));
  }
  std::vector<ChoiceOutcome> outcomes(group.size());
  // With tools, text that may become a tool call is held back per choice.
  std::vector<ToolCallStream> tool_streams;
  if (request.structured.tools_active())
    tool_streams.assign(group.size(), ToolCallStream(request.structured.tool_names()));
  std::vector<CompletionLogprobs> completion_logprobs(group.size());
  while (std::optional<GroupEvent> item = co_await group.next()) {
    const sched::InferenceEvent& event = item->event;
    json::value logprobs = nullptr;
    if (request.logprobs && !event.logprobs.empty()) {
      if (request.api == CompletionApi::chat) {
        logprobs = chat_logprob_chunk(event.logprobs, event.usage.prompt_tokens);
      } else {
        CompletionLogprobs& lists = completion_logprobs.at(item->index);
        lists.append(event.logprobs, event.usage.prompt_tokens, request.echo);
        logprobs = lists.take_new();
      }
    }
    const std::string text = tool_streams.empty() ? event.text : tool_streams[item->index].push(event.text);
    if (!text.empty() || !logprobs.is_null())
      co_await send_chunk(writer, group,
                          json::serialize(stream_text_chunk(request, identity, item->index, text,
                                                            std::move(logprobs))));
    if (!event.final) continue;
    record_final(outcomes.at(item->index), event);
    bool called_tools = false;
    if (!tool_streams.empty()) {
      const AssistantOutput rest = tool_streams[item->index].finish();
      if (!rest.content.empty())
        co_await send_chunk(writer, group,
                            json::serialize(stream_text_chunk(request, identity, item->index, rest.content)));
      if (!rest.calls.empty())
        co_await send_chunk(writer, group,
                            json::serialize(stream_tool_calls_chunk(request, identity, item->index, rest.calls)));
      called_tools = !rest.calls.empty();
    }
    if (event.finish_reason == sched::FinishReason::error)
      co_await send_chunk(writer, group, from_failed_event(event).error_body());
    co_await send_chunk(writer, group,
                        json::serialize(stream_final_chunk(request, identity, item->index,
                                                           event.finish_reason, called_tools)));
  }
  if (writer == nullptr || writer->failed()) co_return;
  if (request.include_usage)
    co_await send_chunk(writer, group,
                        json::serialize(stream_usage_chunk(request, identity, total_usage(request, outcomes))));
  co_await writer->finish();
}

// The text of prompts given as token ids, for echo: the model's detokenize.
void echo_token_prompts(sched::RequestRouter& router, CompletionRequest& request) {
  for (size_t i = 0; i < request.prompt_token_ids.size(); ++i) {
    if (request.prompt_token_ids[i].empty()) continue;
    const sched::TokenizerReply reply = router.detokenize(request.model, request.prompt_token_ids[i]);
    if (!reply)
      throw bad_request("'prompt' " + std::to_string(i) + ": token ids cannot be echoed: " + reply.rejection.message,
                        "prompt");
    request.prompts[i] = reply.text;
  }
}

net::awaitable<void> serve_completion(Exchange& exchange, CompletionApi api) {
  ServerContext& server = exchange.server();
  const TranslateLimits limits{server.settings.max_tokens_limit};
  const std::string& body = exchange.request().body();
  CompletionRequest request = api == CompletionApi::chat ? parse_chat_request(body, limits)
                                                         : parse_completion_request(body, limits);
  exchange.authorize_model(request.model);
  require_task(server.router.list_models(), request.model, {"text_generation", "generic"},
               api == CompletionApi::chat ? "/v1/chat/completions" : "/v1/completions");
  if (request.echo) echo_token_prompts(server.router, request);

  std::vector<sched::InferenceRequest> submissions;
  for (uint32_t index = 0; index < request.choice_count(); ++index) {
    sched::InferenceRequest submission;
    submission.model = request.model;
    submission.input_json = native_input(request, index);
    submission.priority = request.priority;
    submissions.push_back(std::move(submission));
  }
  auto group = std::make_shared<RequestGroup>(exchange.executor(), server.gate);
  if (std::optional<sched::Rejection> rejection = group->submit_all(server.router, std::move(submissions)))
    throw from_rejection(*rejection, request.model);
  std::weak_ptr<RequestGroup> weak_group = group;
  exchange.watch_client([weak_group] {
    if (auto alive = weak_group.lock()) alive->cancel_all();
  });
  const ResponseIdentity identity{response_id(api, server.take_response_id()), unix_time_now()};
  if (request.stream)
    co_await answer_stream(exchange, *group, request, identity);
  else
    co_await answer_whole(exchange, *group, request, identity);
}

}  // namespace

net::awaitable<void> handle_completions(Exchange& exchange) {
  co_await serve_completion(exchange, CompletionApi::completions);
}

net::awaitable<void> handle_chat_completions(Exchange& exchange) {
  if (is_image_chat(exchange)) {
    co_await handle_image_chat(exchange);
    co_return;
  }
  co_await serve_completion(exchange, CompletionApi::chat);
}

}  // namespace citadel::http
