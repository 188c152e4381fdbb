// /health, /ready, /metrics, /v1/models, /v1/models/{id}, and the route table.
#include "host/http/endpoints.h"

#include "host/http/openai_translate.h"

#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

namespace citadel::http {

namespace net = boost::asio;
namespace json = boost::json;
using boost::beast::http::verb;

namespace {

// Built outside the coroutines: GCC 12 rejects braced JSON initializers with
// string literals inside a coroutine body ("array used as initializer").
json::object status_object(const std::string& status) {
  json::object body;
  body["status"] = status;
  return body;
}

// The models of /v1/models that the request's API key may use.
json::object visible_models(Exchange& exchange) {
  ServerContext& server = exchange.server();
  json::object list = model_list(server.router.list_models(), server.started_unix);
  const ApiCaller* caller = exchange.caller();
  if (caller == nullptr) return list;
  json::array& data = list.at("data").as_array();
  json::array kept;
  for (json::value& entry : data)
    if (caller->may_use(std::string(entry.as_object().at("id").as_string()))) kept.push_back(std::move(entry));
  data = std::move(kept);
  return list;
}

}  // namespace

void register_endpoints(RouteTable& routes) {
  routes.add(verb::get, "/health", handle_health);
  routes.add(verb::get, "/ready", handle_ready);
  routes.add(verb::get, "/metrics", handle_metrics);
  routes.add(verb::get, "/v1/models", handle_list_models);
  routes.add(verb::get, "/v1/models/*", handle_get_model);
  routes.add(verb::post, "/v1/completions", handle_completions);
  routes.add(verb::post, "/v1/chat/completions", handle_chat_completions);
  routes.add(verb::post, "/tokenize", handle_tokenize);
  routes.add(verb::post, "/detokenize", handle_detokenize);
  routes.add(verb::post, "/v1/ocr", handle_ocr);
  routes.add(verb::post, "/v1/videos", handle_create_video);
  routes.add(verb::get, "/v1/videos", handle_list_videos);
  routes.add(verb::get, "/v1/videos/*", handle_get_video);
  routes.add(verb::delete_, "/v1/videos/*", handle_delete_video);
  routes.add(verb::post, "/inference", handle_inference);
  routes.add(verb::post, "/benchmark", handle_benchmark);
}

net::awaitable<void> handle_health(Exchange& exchange) {
  co_await exchange.respond_json(200, status_object("ok"));
}

net::awaitable<void> handle_ready(Exchange& exchange) {
  ServerContext& server = exchange.server();
  if (server.stopping.load()) {
    co_await exchange.respond_json(503, status_object("draining"));
  } else if (server.router.ready()) {
    co_await exchange.respond_json(200, status_object("ready"));
  } else {
    co_await exchange.respond_json(503, status_object("not_ready"));
  }
}

net::awaitable<void> handle_metrics(Exchange& exchange) {
  co_await exchange.respond(200, "text/plain; version=0.0.4; charset=utf-8",
                            exchange.server().metrics.render());
}

net::awaitable<void> handle_list_models(Exchange& exchange) {
  co_await exchange.respond_json(200, visible_models(exchange));
}

net::awaitable<void> handle_get_model(Exchange& exchange) {
  const std::string_view path = target_path(exchange.request().target());
  const std::string name(path.substr(std::string_view("/v1/models/").size()));
  const json::object list = visible_models(exchange);
  for (const json::value& entry : list.at("data").as_array()) {
    if (entry.as_object().at("id").as_string() == name) {
      co_await exchange.respond_json(200, entry);
      co_return;
    }
  }
  throw model_not_found(name);
}

}  // namespace citadel::http
