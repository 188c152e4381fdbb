// ApiError and the mapping of scheduler rejections and failed requests to
// HTTP statuses (see docs/http-api.md for the table).
#include "host/http/api_error.h"

#include <boost/json.hpp>

namespace citadel::http {

namespace json = boost::json;

ApiError::ApiError(unsigned status, std::string type, std::string message, std::string param,
                   std::string code)
    : std::runtime_error(std::move(message)),
      status_(status),
      type_(std::move(type)),
      param_(std::move(param)),
      code_(std::move(code)) {}

ApiError& ApiError::with_retry_after(unsigned seconds) {
  retry_after_s_ = seconds;
  return with_header("Retry-After", std::to_string(seconds));
}

ApiError& ApiError::with_header(std::string name, std::string value) {
  headers_.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::string ApiError::error_body() const {
  json::object error;
  error["message"] = what();
  error["type"] = type_;
  error["param"] = param_.empty() ? json::value(nullptr) : json::value(param_);
  error["code"] = code_.empty() ? json::value(nullptr) : json::value(code_);
  return json::serialize(json::object{{"error", std::move(error)}});
}

ApiError bad_request(const std::string& message, const std::string& param,
                     const std::string& code) {
  return ApiError(400, "invalid_request_error", message, param, code);
}

ApiError model_not_found(const std::string& model) {
  return ApiError(404, "not_found_error", "The model '" + model + "' does not exist or is not loaded",
                  "model", "model_not_found");
}

namespace {

// A request path as error messages show it: bytes outside printable ASCII
// percent-encoded, so the JSON error body stays valid UTF-8 whatever the
// client sent.
std::string printable_path(const std::string& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte > 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

}  // namespace

ApiError route_not_found(const std::string& target) {
  return ApiError(404, "not_found_error", "No route for " + printable_path(target), {},
                  "route_not_found");
}

ApiError method_not_allowed(const std::string& method, const std::string& target,
                            const std::string& allowed_methods) {
  ApiError error(405, "invalid_request_error",
                 "Method " + method + " is not allowed for " + printable_path(target) + " (allowed: " +
                     allowed_methods + ")",
                 {}, "method_not_allowed");
  return error.with_header("Allow", allowed_methods);
}

ApiError body_too_large(unsigned long long limit_bytes) {
  return ApiError(413, "invalid_request_error",
                  "Request body is larger than the limit of " + std::to_string(limit_bytes) +
                      " bytes (http.max_body_bytes)",
                  {}, "request_too_large");
}

ApiError internal_error(const std::string& message, const std::string& code) {
  return ApiError(500, "server_error", message, {}, code);
}

ApiError from_rejection(const sched::Rejection& rejection, const std::string& model) {
  using sched::RejectReason;
  switch (rejection.reason) {
    case RejectReason::unknown_model:
      return model_not_found(model);
    case RejectReason::queue_full: {
      ApiError error(429, "rate_limit_error",
                     rejection.message.empty() ? "The queue of model '" + model + "' is full"
                                               : rejection.message,
                     {}, "queue_full");
      return error.with_retry_after(rejection.retry_after_s > 0 ? rejection.retry_after_s : 1);
    }
    case RejectReason::invalid_input:
      return bad_request(rejection.message.empty() ? "Invalid input" : rejection.message, {},
                         "invalid_input");
    case RejectReason::too_large:
      return bad_request(rejection.message.empty() ? "The request exceeds the model's limits"
                                                   : rejection.message,
                         {}, "context_length_exceeded");
    case RejectReason::draining: {
      ApiError error(503, "service_unavailable_error",
                     rejection.message.empty() ? "The server is draining" : rejection.message, {},
                     "draining");
      return error.with_retry_after(rejection.retry_after_s > 0 ? rejection.retry_after_s : 1);
    }
    case RejectReason::model_failed:
      return ApiError(503, "service_unavailable_error",
                      rejection.message.empty() ? "Model '" + model + "' has failed" : rejection.message,
                      {}, "model_failed");
    case RejectReason::none:
      break;
  }
  return internal_error(rejection.message.empty() ? "Request refused" : rejection.message,
                        "rejected");
}

ApiError from_failed_event(const sched::InferenceEvent& event) {
  const std::string message =
      event.error_message.empty() ? "The model failed to run the request" : event.error_message;
  if (event.error_code == "invalid_argument" || event.error_code == "unsupported")
    return bad_request(message, {}, event.error_code);
  if (event.error_code == "deadline_exceeded" || event.error_code == "timeout")
    return ApiError(504, "timeout_error", message, {}, event.error_code);
  if (event.error_code == "model_failed" || event.error_code == "device_fatal")
    return ApiError(503, "service_unavailable_error", message, {}, event.error_code);
  if (event.error_code == "out_of_memory")
    return ApiError(503, "service_unavailable_error", message, {}, event.error_code).with_retry_after(1);
  if (event.error_code == "cancelled" || event.finish_reason == sched::FinishReason::cancelled)
    return ApiError(503, "service_unavailable_error",
                    event.error_message.empty() ? "The request was cancelled" : event.error_message,
                    {}, "cancelled");
  return internal_error(message, event.error_code.empty() ? "plugin_error" : event.error_code);
}

}  // namespace citadel::http
