// ApiError: a request that cannot be served, with the HTTP status and the
// fields of the OpenAI error body {"error": {"message", "type", "param", "code"}}.
//
// Thrown by the request translators and route handlers in host/http; caught by
// the session, which writes error_body() with status(). Also used by the tests
// to check the shape of every error reply.
#pragma once

#include "host/sched/request.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace citadel::http {

class ApiError : public std::runtime_error {
 public:
  ApiError(unsigned status, std::string type, std::string message, std::string param = {},
           std::string code = {});

  unsigned status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  // Seconds for the Retry-After header; 0 for none.
  unsigned retry_after_s() const { return retry_after_s_; }
  ApiError& with_retry_after(unsigned seconds);
  // Extra response headers (Retry-After, Allow).
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  ApiError& with_header(std::string name, std::string value);

  // {"error": {...}} serialized; param and code are null when empty.
  std::string error_body() const;

 private:
  unsigned status_;
  std::string type_;
  std::string param_;
  std::string code_;
  unsigned retry_after_s_ = 0;
  std::vector<std::pair<std::string, std::string>> headers_;
};

// The common cases, one status each.
ApiError bad_request(const std::string& message, const std::string& param = {},
                     const std::string& code = "invalid_value");
ApiError model_not_found(const std::string& model);
ApiError route_not_found(const std::string& target);
ApiError method_not_allowed(const std::string& method, const std::string& target,
                            const std::string& allowed_methods);
ApiError body_too_large(unsigned long long limit_bytes);
ApiError internal_error(const std::string& message, const std::string& code = "plugin_error");

// Maps a scheduler rejection (queue full, draining, unknown model, ...) to
// its HTTP status and error.
ApiError from_rejection(const sched::Rejection& rejection, const std::string& model);

// Maps the error of a final event (finish_reason == error) to an HTTP error:
// invalid_argument-like codes are 400, the rest 500.
ApiError from_failed_event(const sched::InferenceEvent& event);

}  // namespace citadel::http
