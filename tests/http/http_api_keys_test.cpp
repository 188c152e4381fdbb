// http.api_keys against the real binary: 401 for missing and unknown keys,
// public routes, per-key models (403 and a filtered /v1/models), per-key rate
// limits (429 with Retry-After), keys absent from the log, POST /benchmark
// for admin keys only (404 without keys), keys from an environment
// variable, and key rotation by SIGHUP (a bad keys file keeps the old keys).
#include "http/limits_host.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <csignal>
#include <cstdlib>

namespace json = boost::json;
using citadel::test::completion_request;
using citadel::test::HttpClient;
using citadel::test::HttpResponse;
using citadel::test::LimitsHost;

namespace {

const std::string kAdminKey = "sk-admin-0123456789abcdef0123";
const std::string kAlphaKey = "sk-alpha-only-0123456789abcdef";
const std::string kLimitedKey = "sk-limited-0123456789abcdef01";
const std::string kRotatedKey = "sk-rotated-in-0123456789abcdef";

std::map<std::string, std::string> bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
}

void check_error(const HttpResponse& response, unsigned status, const std::string& type,
                 const std::string& code) {
  INFO(response.body);
  REQUIRE(response.status == status);
  const json::value body = response.json();
  const json::object& error = body.at("error").as_object();
  CHECK(error.at("type").as_string() == type);
  CHECK(error.at("code").as_string() == code);
  CHECK(!error.at("message").as_string().empty());
  CHECK(error.contains("param"));
}

// A host with models alpha and beta and a keys file of three keys.
struct KeyedHost {
  KeyedHost() : host("  api_keys:\n    file: keys.txt\n") {
    write_keys(kAdminKey + " scope=admin\n" + kAlphaKey + " models=alpha\n" + kLimitedKey +
               " rpm=3\n");
    host.tree.write_model("alpha", "echo");
    host.tree.write_model("beta", "echo");
    host.start();
  }
  void write_keys(const std::string& text) { host.tree.write_raw("keys.txt", text); }
  HttpResponse get(const std::string& target, const std::string& key) {
    HttpClient client = host.client();
    return client.request("GET", target, {}, key.empty() ? std::map<std::string, std::string>{} : bearer(key));
  }
  HttpResponse complete(const std::string& model, const std::string& key) {
    HttpClient client = host.client();
    return client.request("POST", "/v1/completions", completion_request(model, "abc", 4), bearer(key));
  }
  LimitsHost host;
};

}  // namespace

TEST_CASE("requests without a valid API key get 401 in the OpenAI error shape", "[http][keys]") {
  KeyedHost keyed;
  const HttpResponse missing = keyed.get("/v1/models", "");
  check_error(missing, 401, "invalid_request_error", "missing_api_key");
  CHECK(missing.header("www-authenticate") == "Bearer realm=\"citadel\"");
  check_error(keyed.get("/v1/models", "sk-wrong-0123456789abcdef0123"), 401, "invalid_request_error",
              "invalid_api_key");
  HttpClient client = keyed.host.client();
  check_error(client.request("GET", "/v1/models", {}, {{"Authorization", "Basic " + kAdminKey}}), 401,
              "invalid_request_error", "missing_api_key");
  // A refused POST with a body not yet read closes; the next client is served.
  check_error(client.request("POST", "/v1/completions", completion_request("alpha", "abc", 4), {}), 401,
              "invalid_request_error", "missing_api_key");

  // /health and /ready are public by default; /metrics is not.
  CHECK(keyed.get("/health", "").status == 200);
  CHECK(keyed.get("/ready", "").status == 200);
  check_error(keyed.get("/metrics", ""), 401, "invalid_request_error", "missing_api_key");
  CHECK(keyed.get("/metrics", kAdminKey).status == 200);

  const HttpResponse served = keyed.complete("alpha", kAdminKey);
  REQUIRE(served.status == 200);
  CHECK(served.json().at("choices").at(0).at("text").as_string() == "abca");

  // Keys never reach the log.
  const std::string log = keyed.host.process->log();
  for (const std::string& key : {kAdminKey, kAlphaKey, kLimitedKey, std::string("sk-wrong-0123456789abcdef0123")})
    CHECK(log.find(key) == std::string::npos);
  const std::string metrics = keyed.get("/metrics", kAdminKey).body;
  CHECK(metrics.find("citadel_http_auth_refused_total{reason=\"missing_api_key\"}") != std::string::npos);
  CHECK(metrics.find("citadel_http_auth_refused_total{reason=\"invalid_api_key\"} 1") != std::string::npos);
}

TEST_CASE("a key limited to some models gets 403 for the others and sees only its own", "[http][keys]") {
  KeyedHost keyed;
  CHECK(keyed.complete("alpha", kAlphaKey).status == 200);
  const HttpResponse refused = keyed.complete("beta", kAlphaKey);
  check_error(refused, 403, "permission_error", "model_not_allowed");
  CHECK(refused.json().at("error").at("param").as_string() == "model");
  // An unknown model is 403 too for such a key: it cannot probe what exists.
  check_error(keyed.complete("nosuch", kAlphaKey), 403, "permission_error", "model_not_allowed");
  HttpClient client = keyed.host.client();
  check_error(client.request("POST", "/tokenize", R"({"model":"beta","prompt":"x"})", bearer(kAlphaKey)),
              403, "permission_error", "model_not_allowed");
  check_error(client.request("POST", "/inference", R"({"model":"beta","input":{"prompt":"x"}})",
                             bearer(kAlphaKey)),
              403, "permission_error", "model_not_allowed");
  const json::array listed = keyed.get("/v1/models", kAlphaKey).json().at("data").as_array();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].at("id").as_string() == "alpha");
  CHECK(keyed.get("/v1/models", kAdminKey).json().at("data").as_array().size() == 2);
  CHECK(keyed.get("/v1/models/beta", kAlphaKey).status == 404);
}

TEST_CASE("a key over its requests per minute gets 429 with Retry-After", "[http][keys]") {
  KeyedHost keyed;
  for (int index = 0; index < 3; ++index) CHECK(keyed.complete("alpha", kLimitedKey).status == 200);
  const HttpResponse limited = keyed.complete("alpha", kLimitedKey);
  check_error(limited, 429, "rate_limit_error", "rate_limit_exceeded");
  const int retry_after = std::stoi(limited.header("retry-after"));
  CHECK(retry_after >= 1);
  CHECK(retry_after <= 20);  // 3 per minute: one request every 20 s
  // Other keys have their own buckets.
  CHECK(keyed.complete("alpha", kAdminKey).status == 200);
}

TEST_CASE("POST /benchmark runs the load generator for admin keys only", "[http][keys]") {
  KeyedHost keyed;
  HttpClient client = keyed.host.client();
  const std::string body = R"({"models":["alpha","beta"],"num_prompts":8,"seed":3,)"
                           R"("mean_input_tokens":10,"mean_output_tokens":5})";
  check_error(client.request("POST", "/benchmark", body, bearer(kAlphaKey)), 403, "permission_error",
              "insufficient_scope");
  check_error(client.request("POST", "/benchmark", body, {}), 401, "invalid_request_error",
              "missing_api_key");
  HttpClient admin = keyed.host.client();
  const HttpResponse report = admin.request("POST", "/benchmark", body, bearer(kAdminKey));
  INFO(report.body);
  REQUIRE(report.status == 200);
  const json::value parsed = report.json();
  const json::object& figures = parsed.as_object();
  CHECK(figures.at("completed").to_number<int>() == 8);
  CHECK(figures.at("failed").to_number<int>() == 0);
  CHECK(figures.at("requests_per_s").to_number<double>() > 0);
  CHECK(figures.at("output_tokens_per_s").to_number<double>() > 0);
  CHECK(figures.at("latency").at("p99_ms").to_number<double>() > 0);
  // The admin socket's benchmark sends the key it is given; without one
  // every request of the run is refused (401) and counted as failed.
  const json::object keyed_run = keyed.host.process->request(
      {{"cmd", "benchmark"}, {"models", "alpha"}, {"num_prompts", 4}, {"api_key", kAdminKey},
       {"mean_input_tokens", 8}, {"mean_output_tokens", 4}});
  REQUIRE(keyed_run.at("ok").as_bool());
  CHECK(keyed_run.at("benchmark").at("completed").to_number<int>() == 4);
  const json::object keyless_run = keyed.host.process->request(
      {{"cmd", "benchmark"}, {"models", "alpha"}, {"num_prompts", 4}, {"mean_input_tokens", 8},
       {"mean_output_tokens", 4}});
  REQUIRE(keyless_run.at("ok").as_bool());
  CHECK(keyless_run.at("benchmark").at("failed").to_number<int>() == 4);

  check_error(admin.request("POST", "/benchmark", R"({"models":["nosuch"]})", bearer(kAdminKey)), 404,
              "not_found_error", "model_not_found");
  check_error(admin.request("POST", "/benchmark", R"({"num_prompts":3})", bearer(kAdminKey)), 400,
              "invalid_request_error", "invalid_value");
}

TEST_CASE("without API keys POST /benchmark does not exist", "[http][keys]") {
  LimitsHost host("");
  host.tree.write_model("alpha", "echo");
  host.start();
  HttpClient client = host.client();
  const HttpResponse response = client.post_json("/benchmark", R"({"models":["alpha"]})");
  check_error(response, 404, "not_found_error", "route_not_found");
}

TEST_CASE("keys rotate on SIGHUP; a bad keys file keeps the running keys", "[http][keys]") {
  KeyedHost keyed;
  CHECK(keyed.complete("alpha", kAlphaKey).status == 200);
  keyed.write_keys(kAdminKey + " scope=admin\n" + kRotatedKey + "\n");
  int64_t before = citadel::test::last_reload_ms(*keyed.host.process);
  keyed.host.process->signal(SIGHUP);
  citadel::test::wait_for_reload(*keyed.host.process, before);
  check_error(keyed.complete("alpha", kAlphaKey), 401, "invalid_request_error", "invalid_api_key");
  CHECK(keyed.complete("beta", kRotatedKey).status == 200);

  keyed.write_keys(kAdminKey + " scope=admin\n" + kRotatedKey + " rpm=often\n");
  before = citadel::test::last_reload_ms(*keyed.host.process);
  keyed.host.process->signal(SIGHUP);
  citadel::test::wait_for_reload(*keyed.host.process, before);
  CHECK(keyed.complete("beta", kRotatedKey).status == 200);
  const std::string log = keyed.host.process->log();
  CHECK(log.find((keyed.host.tree.root() / "keys.txt").string() + ":2: rpm:") != std::string::npos);
  CHECK(log.find(kRotatedKey) == std::string::npos);
}

TEST_CASE("keys from an environment variable, with /metrics made public", "[http][keys]") {
  ::setenv("CITADEL_TEST_HTTP_KEYS", (kAlphaKey + " models=alpha;" + kAdminKey + " scope=admin").c_str(), 1);
  LimitsHost host("  api_keys:\n    env: CITADEL_TEST_HTTP_KEYS\n    public_routes: [/health, /metrics]\n");
  host.tree.write_model("alpha", "echo");
  host.start();
  ::unsetenv("CITADEL_TEST_HTTP_KEYS");
  HttpClient client = host.client();
  CHECK(client.get("/metrics").status == 200);
  check_error(client.get("/ready"), 401, "invalid_request_error", "missing_api_key");
  CHECK(client.request("POST", "/v1/completions", completion_request("alpha", "abc", 4), bearer(kAlphaKey))
            .status == 200);
}
