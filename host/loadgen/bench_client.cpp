// The benchmark's HTTP request: Beast over an Asio coroutine.
#include "host/loadgen/bench_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <chrono>

namespace citadel::loadgen {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string request_body(const std::string& model, const BenchRequest& request, bool stream) {
  json::object body{{"model", model},
                    {"prompt", request.prompt},
                    {"max_tokens", request.output_tokens},
                    {"temperature", 0.0},
                    {"stream", stream}};
  if (stream) body["stream_options"] = json::object{{"include_usage", true}};
  return json::serialize(body);
}

void read_usage(const json::value& value, RequestOutcome& outcome) {
  const json::object* object = value.if_object();
  const json::value* usage = object ? object->if_contains("usage") : nullptr;
  if (usage == nullptr || !usage->is_object()) return;
  outcome.prompt_tokens = usage->at("prompt_tokens").to_number<uint32_t>();
  outcome.completion_tokens = usage->at("completion_tokens").to_number<uint32_t>();
}

// Handles one SSE event of a streamed completion.
void on_stream_event(const std::string& data, Clock::time_point sent, Clock::time_point& last_chunk,
                     RequestOutcome& outcome) {
  if (data == "[DONE]") return;
  json::error_code error;
  const json::value chunk = json::parse(data, error);
  if (error || !chunk.is_object()) return;
  if (const json::value* failure = chunk.as_object().if_contains("error")) {
    outcome.error = json::serialize(*failure);
    return;
  }
  read_usage(chunk, outcome);
  const json::array* choices = chunk.as_object().contains("choices")
                                   ? chunk.at("choices").if_array()
                                   : nullptr;
  if (choices == nullptr || choices->empty()) return;
  const json::value* text = choices->at(0).as_object().if_contains("text");
  if (text == nullptr || !text->is_string() || text->as_string().empty()) return;
  const Clock::time_point now = Clock::now();
  if (outcome.ttft_s == 0)
    outcome.ttft_s = seconds_between(sent, now);
  else
    outcome.gaps_s.push_back(seconds_between(last_chunk, now));
  last_chunk = now;
}

}  // namespace

net::awaitable<RequestOutcome> send_completion(ServerAddress server, std::string model,
                                               BenchRequest request, bool stream) {
  RequestOutcome outcome;
  outcome.model = model;
  const net::any_io_executor executor = co_await net::this_coro::executor;
  beast::tcp_stream connection(executor);
  net::ip::tcp::endpoint endpoint(net::ip::make_address(server.host), server.port);
  connection.expires_after(std::chrono::minutes(10));
  auto [connect_error] = co_await connection.async_connect(endpoint, net::as_tuple(net::use_awaitable));
  if (connect_error) {
    outcome.error = "connect: " + connect_error.message();
    co_return outcome;
  }
  bhttp::request<bhttp::string_body> message{bhttp::verb::post, "/v1/completions", 11};
  message.set(bhttp::field::host, server.host);
  message.set(bhttp::field::content_type, "application/json");
  if (!server.api_key.empty()) message.set(bhttp::field::authorization, "Bearer " + server.api_key);
  message.body() = request_body(model, request, stream);
  message.prepare_payload();
  const Clock::time_point sent = Clock::now();
  auto [write_error, written] = co_await bhttp::async_write(connection, message, net::as_tuple(net::use_awaitable));
  (void)written;
  if (write_error) {
    outcome.error = "write: " + write_error.message();
    co_return outcome;
  }

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(1ull << 34);
  auto [header_error, header_bytes] =
      co_await bhttp::async_read_header(connection, buffer, parser, net::as_tuple(net::use_awaitable));
  (void)header_bytes;
  if (header_error) {
    outcome.error = "read: " + header_error.message();
    co_return outcome;
  }
  std::string body;
  std::string pending;
  Clock::time_point last_chunk = sent;
  char chunk[16384];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    auto [read_error, read_bytes] =
        co_await bhttp::async_read_some(connection, buffer, parser, net::as_tuple(net::use_awaitable));
    (void)read_bytes;
    if (read_error && read_error != bhttp::error::need_buffer) {
      outcome.error = "read: " + read_error.message();
      co_return outcome;
    }
    const size_t got = sizeof chunk - parser.get().body().size;
    if (!stream || parser.get().result_int() != 200) {
      body.append(chunk, got);
      continue;
    }
    pending.append(chunk, got);
    for (size_t boundary; (boundary = pending.find("\n\n")) != std::string::npos;) {
      const std::string event = pending.substr(0, boundary);
      pending.erase(0, boundary + 2);
      if (event.rfind("data: ", 0) == 0) on_stream_event(event.substr(6), sent, last_chunk, outcome);
    }
  }
  outcome.latency_s = seconds_between(sent, Clock::now());
  beast::error_code ignored;
  connection.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  if (parser.get().result_int() != 200) {
    outcome.error = std::to_string(parser.get().result_int()) + ": " + body;
    co_return outcome;
  }
  if (!stream) {
    json::error_code error;
    const json::value value = json::parse(body, error);
    if (error) {
      outcome.error = "invalid JSON response";
      co_return outcome;
    }
    read_usage(value, outcome);
  }
  outcome.success = outcome.error.empty();
  co_return outcome;
}

}  // namespace citadel::loadgen
