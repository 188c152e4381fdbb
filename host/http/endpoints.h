// The endpoint handlers of the HTTP server and the function that registers
// them in a RouteTable. One file per group: status_endpoints.cpp (/health,
// /ready, /metrics, /v1/models), completion_endpoint.cpp (/v1/completions,
// /v1/chat/completions), tokenize_endpoint.cpp (/tokenize, /detokenize),
// task_endpoints.cpp (/v1/ocr, /inference), video_job_endpoints.cpp (/v1/videos
// jobs), benchmark_endpoint.cpp
// (POST /benchmark, admin API keys only).
//
// Called by: HttpServer (register_endpoints) and the session (the handlers).
#pragma once

#include "host/http/exchange.h"
#include "host/http/route_table.h"

#include "host/http/awaitable.h"

namespace citadel::http {

void register_endpoints(RouteTable& routes);

boost::asio::awaitable<void> handle_health(Exchange& exchange);
boost::asio::awaitable<void> handle_ready(Exchange& exchange);
boost::asio::awaitable<void> handle_metrics(Exchange& exchange);
boost::asio::awaitable<void> handle_list_models(Exchange& exchange);
boost::asio::awaitable<void> handle_get_model(Exchange& exchange);

boost::asio::awaitable<void> handle_completions(Exchange& exchange);
boost::asio::awaitable<void> handle_chat_completions(Exchange& exchange);

boost::asio::awaitable<void> handle_tokenize(Exchange& exchange);
boost::asio::awaitable<void> handle_detokenize(Exchange& exchange);

boost::asio::awaitable<void> handle_ocr(Exchange& exchange);
boost::asio::awaitable<void> handle_inference(Exchange& exchange);

boost::asio::awaitable<void> handle_create_video(Exchange& exchange);
boost::asio::awaitable<void> handle_list_videos(Exchange& exchange);
boost::asio::awaitable<void> handle_get_video(Exchange& exchange);  // /v1/videos/{id}[/content]
boost::asio::awaitable<void> handle_delete_video(Exchange& exchange);

boost::asio::awaitable<void> handle_benchmark(Exchange& exchange);

}  // namespace citadel::http
