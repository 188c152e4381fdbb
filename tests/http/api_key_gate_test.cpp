// ApiKeyGate and RateLimiter without a server: bearer parsing, public
// routes, unknown and missing keys, per-key models, token buckets (burst,
// refill, Retry-After) and what a reload keeps.
#include "host/common/sha256.h"
#include "host/http/api_key_gate.h"
#include "host/http/rate_limiter.h"

#include <catch2/catch.hpp>

using citadel::http::ApiError;
using citadel::http::ApiKeyGate;
using citadel::http::RateLimiter;
using namespace std::chrono_literals;

namespace {

citadel::config::ApiKeyEntry key_entry(const std::string& key, uint32_t rpm = 0,
                                       std::vector<std::string> models = {}, bool admin = false) {
  citadel::config::ApiKeyEntry entry;
  entry.digest = citadel::common::sha256(key);
  entry.id = citadel::common::digest_hex(entry.digest, 4);
  entry.requests_per_minute = rpm;
  entry.models = std::move(models);
  entry.admin = admin;
  return entry;
}

unsigned refusal_status(ApiKeyGate& gate, std::string_view path, std::string_view authorization,
                        std::string* code = nullptr) {
  try {
    gate.authenticate(path, authorization);
  } catch (const ApiError& error) {
    if (code) *code = error.code();
    return error.status();
  }
  return 0;
}

}  // namespace

TEST_CASE("bearer tokens are taken from the Authorization value", "[http][keys]") {
  using citadel::http::bearer_token;
  CHECK(bearer_token("Bearer abc") == "abc");
  CHECK(bearer_token("bearer   abc  ") == "abc");
  CHECK(bearer_token("BEARER\tabc") == "abc");
  CHECK(bearer_token("Basic abc").empty());
  CHECK(bearer_token("Bearerabc").empty());
  CHECK(bearer_token("Bearer ").empty());
  CHECK(bearer_token("").empty());
}

TEST_CASE("the gate lets keys in, refuses others with 401 and skips public routes", "[http][keys]") {
  citadel::metrics::Registry metrics;
  citadel::config::ApiKeySettings settings;
  ApiKeyGate off(settings, metrics);
  CHECK_FALSE(off.enabled());
  CHECK(off.authenticate("/v1/models", "") == nullptr);

  settings.file = "/etc/keys";
  settings.keys = {key_entry("sk-one-0123456789abcdef", 0, {"alpha"}), key_entry("sk-two-0123456789abcdef", 0, {}, true)};
  ApiKeyGate gate(settings, metrics);
  CHECK(gate.enabled());
  CHECK(gate.authenticate("/health", "") == nullptr);
  std::string code;
  CHECK(refusal_status(gate, "/metrics", "", &code) == 401);
  CHECK(code == "missing_api_key");
  CHECK(refusal_status(gate, "/v1/models", "Bearer sk-three-0123456789abcdef", &code) == 401);
  CHECK(code == "invalid_api_key");
  const auto one = gate.authenticate("/v1/models", "Bearer sk-one-0123456789abcdef");
  REQUIRE(one != nullptr);
  CHECK(one->key_id == settings.keys[0].id);
  CHECK(one->may_use("alpha"));
  CHECK_FALSE(one->may_use("beta"));
  CHECK_FALSE(one->admin);
  const auto two = gate.authenticate("/v1/models", "Bearer sk-two-0123456789abcdef");
  REQUIRE(two != nullptr);
  CHECK(two->may_use("beta"));
  CHECK(two->admin);

  // A reload that drops key one and adds key three.
  settings.keys = {settings.keys[1], key_entry("sk-three-0123456789abcdef")};
  gate.update(settings);
  CHECK(refusal_status(gate, "/v1/models", "Bearer sk-one-0123456789abcdef") == 401);
  CHECK(gate.authenticate("/v1/models", "Bearer sk-three-0123456789abcdef") != nullptr);
  const std::string rendered = metrics.render();
  CHECK(rendered.find("citadel_http_auth_refused_total{reason=\"invalid_api_key\"} 2") != std::string::npos);
}

TEST_CASE("a key over its rate gets 429 with the seconds until the next request", "[http][keys]") {
  citadel::metrics::Registry metrics;
  citadel::config::ApiKeySettings settings;
  settings.env = "KEYS";
  settings.keys = {key_entry("sk-slow-0123456789abcdef", 2)};
  ApiKeyGate gate(settings, metrics);
  CHECK(gate.authenticate("/v1/models", "Bearer sk-slow-0123456789abcdef") != nullptr);
  CHECK(gate.authenticate("/v1/models", "Bearer sk-slow-0123456789abcdef") != nullptr);
  try {
    gate.authenticate("/v1/models", "Bearer sk-slow-0123456789abcdef");
    FAIL("the third request of a 2 rpm key was let in");
  } catch (const ApiError& error) {
    CHECK(error.status() == 429);
    CHECK(error.code() == "rate_limit_exceeded");
    CHECK(error.retry_after_s() >= 29);
    CHECK(error.retry_after_s() <= 30);
  }
}

TEST_CASE("token buckets burst to the minute's allowance and refill over time", "[http][keys]") {
  RateLimiter limiter;
  const auto start = RateLimiter::Clock::time_point{} + 1h;
  for (int index = 0; index < 60; ++index) CHECK(limiter.take("a", 60, start) == 0);
  CHECK(limiter.take("a", 60, start) == 1);         // one per second refills
  CHECK(limiter.take("b", 60, start) == 0);         // buckets are per key
  CHECK(limiter.take("a", 60, start + 1s) == 0);    // refilled one
  CHECK(limiter.take("a", 60, start + 1s) == 1);
  CHECK(limiter.take("a", 60, start + 10s) == 0);   // nine more in the bucket
  CHECK(limiter.take("a", 0, start + 10s) == 0);    // 0: unlimited
  CHECK(limiter.take("c", 6, start) == 0);
  for (int index = 0; index < 5; ++index) limiter.take("c", 6, start);
  CHECK(limiter.take("c", 6, start) == 10);         // 6 per minute: one every 10 s
  limiter.retain([](const std::string& bucket) { return bucket != "c"; });
  CHECK(limiter.take("c", 6, start) == 0);          // a fresh bucket after removal
}
