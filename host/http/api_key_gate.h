// ApiKeyGate: who may call the HTTP API when http.api_keys is set. Checks the
// `Authorization: Bearer <key>` of every request against the SHA-256
// digests of the configured keys in constant time (every digest is compared,
// with CRYPTO_memcmp), then the key's rate limit (token bucket, requests per
// minute). Routes listed in api_keys.public_routes need no key. A key's text
// is never kept or logged: logs and metrics name the key id (the first 8 hex
// digits of its SHA-256).
//
// Owned by ServerContext; authenticate() is called by the session for every
// request, update() by HttpServer::update_api_keys on a reload.
// Thread-safe.
#pragma once

#include "host/config/model_config.h"
#include "host/http/api_error.h"
#include "host/http/rate_limiter.h"
#include "host/metrics/registry.h"

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

// The key a request was made with.
struct ApiCaller {
  std::string key_id;               // 8 hex digits, for logs
  std::vector<std::string> models;  // models it may use; empty: all
  bool admin = false;               // scope=admin
  bool may_use(const std::string& model) const;
};

class ApiKeyGate {
 public:
  ApiKeyGate(const config::ApiKeySettings& settings, metrics::Registry& metrics);

  // Replaces the keys (a reload). Rate-limit buckets of keys that remain are
  // kept; those of removed keys are dropped.
  void update(const config::ApiKeySettings& settings);
  bool enabled() const;

  // The caller of a request for `path` (no query string) carrying the
  // Authorization header value `authorization` ("" when absent): nullptr
  // when keys are off or the route is public (no restriction applies).
  // Throws ApiError: 401 missing_api_key / invalid_api_key, 429
  // rate_limit_exceeded with Retry-After.
  std::shared_ptr<const ApiCaller> authenticate(std::string_view path,
                                                std::string_view authorization);

  // Counts a refusal made after authentication (403s), by reason.
  void count_refusal(const std::string& reason);

 private:
  struct Key {
    config::ApiKeyEntry entry;
    std::shared_ptr<const ApiCaller> caller;
    std::string bucket;  // rate-limit bucket: the whole digest in hex
  };
  struct Snapshot {
    bool enabled = false;
    std::vector<Key> keys;
    std::vector<std::string> public_routes;
  };
  std::shared_ptr<const Snapshot> snapshot() const;

  metrics::Registry& metrics_;
  RateLimiter limiter_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
};

// The token of an Authorization value "Bearer <token>" (scheme in any
// case), or "" when it is not of that form.
std::string_view bearer_token(std::string_view authorization);

// 403 for a key that may not use `model` (its models= list).
ApiError model_not_allowed(const std::string& model);
// 403 for a route that needs a key with scope=admin.
ApiError admin_scope_required(const std::string& path);

}  // namespace citadel::http
