// API key authentication and rate limiting of HTTP requests.
#include "host/http/api_key_gate.h"

#include "host/common/sha256.h"

#include <boost/beast/core/string.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace citadel::http {

namespace {

constexpr std::string_view kChallenge = "Bearer realm=\"citadel\"";

ApiError missing_api_key() {
  ApiError error(401, "invalid_request_error",
                 "You didn't provide an API key. Send it in the header 'Authorization: Bearer <key>'.",
                 {}, "missing_api_key");
  return error.with_header("WWW-Authenticate", std::string(kChallenge));
}

ApiError invalid_api_key() {
  ApiError error(401, "invalid_request_error", "Incorrect API key provided.", {},
                 "invalid_api_key");
  return error.with_header("WWW-Authenticate", std::string(kChallenge) + ", error=\"invalid_token\"");
}

ApiError rate_limited(const ApiCaller& caller, uint32_t requests_per_minute, uint32_t retry_after_s) {
  ApiError error(429, "rate_limit_error",
                 "Rate limit reached for API key " + caller.key_id + ": " +
                     std::to_string(requests_per_minute) + " requests per minute. Retry in " +
                     std::to_string(retry_after_s) + " s.",
                 {}, "rate_limit_exceeded");
  return error.with_retry_after(retry_after_s);
}

}  // namespace

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !boost::beast::iequals(authorization.substr(0, kScheme.size()), kScheme) ||
      (authorization[kScheme.size()] != ' ' && authorization[kScheme.size()] != '\t'))
    return {};
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

bool ApiCaller::may_use(const std::string& model) const {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

ApiKeyGate::ApiKeyGate(const config::ApiKeySettings& settings, metrics::Registry& metrics)
    : metrics_(metrics) {
  update(settings);
}

void ApiKeyGate::update(const config::ApiKeySettings& settings) {
  auto next = std::make_shared<Snapshot>();
  next->enabled = settings.enabled();
  next->public_routes = settings.public_routes;
  for (const config::ApiKeyEntry& entry : settings.keys) {
    auto caller = std::make_shared<ApiCaller>();
    caller->key_id = entry.id;
    caller->models = entry.models;
    caller->admin = entry.admin;
    next->keys.push_back(Key{entry, std::move(caller), common::digest_hex(entry.digest)});
  }
  limiter_.retain([&next](const std::string& bucket) {
    return std::any_of(next->keys.begin(), next->keys.end(),
                       [&bucket](const Key& key) { return key.bucket == bucket; });
  });
  {
    std::lock_guard lock(mutex_);
    snapshot_ = next;
  }
  if (next->enabled) {
    std::string routes;
    for (const std::string& route : next->public_routes) routes += (routes.empty() ? "" : ", ") + route;
    spdlog::info("http: API keys on: {} key(s); public routes: {}", next->keys.size(),
                 routes.empty() ? std::string("none") : routes);
  }
}

std::shared_ptr<const ApiKeyGate::Snapshot> ApiKeyGate::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

bool ApiKeyGate::enabled() const { return snapshot()->enabled; }

void ApiKeyGate::count_refusal(const std::string& reason) {
  metrics_
      .counter("citadel_http_auth_refused_total",
               "Requests refused by API key checks, by reason", {{"reason", reason}})
      .add(1.0);
}

std::shared_ptr<const ApiCaller> ApiKeyGate::authenticate(std::string_view path,
                                                          std::string_view authorization) {
  const std::shared_ptr<const Snapshot> keys = snapshot();
  if (!keys->enabled) return nullptr;
  if (std::find(keys->public_routes.begin(), keys->public_routes.end(), path) !=
      keys->public_routes.end())
    return nullptr;
  const std::string_view token = bearer_token(authorization);
  if (token.empty()) {
    count_refusal("missing_api_key");
    throw missing_api_key();
  }
  const common::Sha256Digest digest = common::sha256(token);
  // Every digest is compared, matched or not: the time taken does not say
  // which key (if any) came close.
  const Key* found = nullptr;
  for (const Key& key : keys->keys)
    if (common::digests_equal(key.entry.digest, digest)) found = &key;
  if (found == nullptr) {
    spdlog::debug("http: unknown API key (id {}) for {}", common::digest_hex(digest, 4), path);
    count_refusal("invalid_api_key");
    throw invalid_api_key();
  }
  const uint32_t rpm = found->entry.requests_per_minute;
  if (const uint32_t wait_s = limiter_.take(found->bucket, rpm)) {
    spdlog::debug("http: API key {} over its rate limit ({} rpm)", found->caller->key_id, rpm);
    count_refusal("rate_limit_exceeded");
    throw rate_limited(*found->caller, rpm, wait_s);
  }
  return found->caller;
}

ApiError model_not_allowed(const std::string& model) {
  return ApiError(403, "permission_error",
                  "This API key may not use the model '" + model + "'", "model",
                  "model_not_allowed");
}

ApiError admin_scope_required(const std::string& path) {
  return ApiError(403, "permission_error",
                  path + " needs an API key with scope=admin", {}, "insufficient_scope");
}

}  // namespace citadel::http
