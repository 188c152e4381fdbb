// Exchange: one HTTP request and its response as an endpoint handler sees
// them: the parsed request, a plain or JSON response, an SSE stream, and a
// watch on the client socket that reports a client that went away (so the
// handler can cancel its scheduler requests at once).
//
// Created by http_session.cpp for each request; passed to the handler found
// in the RouteTable. Used on the session's strand only.
#pragma once

#include "host/http/api_error.h"
#include "host/http/api_key_gate.h"
#include "host/http/server_context.h"
#include "host/http/sse_writer.h"

#include "host/http/awaitable.h"
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace citadel::http {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

class Exchange {
 public:
  Exchange(ServerContext& server, boost::beast::tcp_stream& stream, const HttpRequest& request);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  ServerContext& server() { return server_; }
  const HttpRequest& request() const { return request_; }
  boost::asio::any_io_executor executor();

  // A complete response. Only the first response of an exchange is written.
  boost::asio::awaitable<void> respond(unsigned status, const std::string& content_type,
                                       std::string body, const HeaderList& headers = {});
  boost::asio::awaitable<void> respond_json(unsigned status, const boost::json::value& body,
                                            const HeaderList& headers = {});
  boost::asio::awaitable<void> respond_error(const ApiError& error);

  // Starts an SSE response (status 200); returns nullptr when the header
  // could not be written. The writer lives as long as the exchange.
  boost::asio::awaitable<SseWriter*> open_stream();

  // Starts watching the client socket; `on_gone` runs (on the strand) once if
  // the client closes the connection before the response is complete.
  void watch_client(std::function<void()> on_gone);
  bool client_gone() const;

  bool responded() const { return status_ != 0; }
  unsigned status() const { return status_; }
  // Whether the connection may serve another request after this one.
  bool keep_alive() const;
  // Ends the connection after this response (a body left unread).
  void close_after_response() { close_after_response_ = true; }

  // The API key the request was made with; nullptr when keys are off or the
  // route is public. Set by the session before dispatch.
  const ApiCaller* caller() const { return caller_.get(); }
  void set_caller(std::shared_ptr<const ApiCaller> caller) { caller_ = std::move(caller); }
  // Throws ApiError 403 model_not_allowed unless the caller may use `model`.
  void authorize_model(const std::string& model);

  struct ClientWatch;  // implementation detail of watch_client()

 private:
  ServerContext& server_;
  boost::beast::tcp_stream& stream_;
  const HttpRequest& request_;
  unsigned status_ = 0;
  bool write_failed_ = false;
  bool close_after_response_ = false;
  std::unique_ptr<SseWriter> stream_writer_;
  std::shared_ptr<ClientWatch> watch_;
  std::shared_ptr<const ApiCaller> caller_;
};

}  // namespace citadel::http
