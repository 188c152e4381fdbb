// The http: block of citadel.yaml: limits with their defaults and ranges,
// and http.api_keys (a keys file or an environment variable), whose lines
// are checked with file:line errors that never quote a key.
#include <catch2/catch.hpp>

#include "config/config_fixture.hpp"
#include "host/common/sha256.h"

#include <cstdlib>

using citadel::test::ConfigFixture;
using Lines = std::vector<std::string>;

TEST_CASE("http limits have defaults and are read from citadel.yaml", "[config]") {
  ConfigFixture fixture;
  const citadel::config::HttpSettings defaults = fixture.load().host.http;
  CHECK(defaults.max_connections == 1024);
  CHECK(defaults.header_timeout_s == 10);
  CHECK(defaults.body_timeout_s == 60);
  CHECK(defaults.max_header_bytes == 65536);
  CHECK(defaults.max_requests_per_connection == 1000);
  CHECK_FALSE(defaults.api_keys.enabled());

  fixture.write_host(
      "plugins_dir: ../plugins\nmodels_dir: models.d\n"
      "http:\n"
      "  max_connections: 10\n"
      "  idle_timeout_s: 5\n"
      "  header_timeout_s: 2\n"
      "  body_timeout_s: 3\n"
      "  max_header_bytes: 2048\n"
      "  max_body_bytes: 4096\n"
      "  max_requests_per_connection: 0\n");
  const citadel::config::HttpSettings http = fixture.load().host.http;
  CHECK(http.max_connections == 10);
  CHECK(http.idle_timeout_s == 5);
  CHECK(http.header_timeout_s == 2);
  CHECK(http.body_timeout_s == 3);
  CHECK(http.max_header_bytes == 2048);
  CHECK(http.max_body_bytes == 4096);
  CHECK(http.max_requests_per_connection == 0);
}

TEST_CASE("http limits out of range are reported as file:line: field", "[config]") {
  ConfigFixture fixture;
  fixture.write_host(
      "plugins_dir: ../plugins\nmodels_dir: models.d\n"
      "http:\n"
      "  max_connections: 0\n"
      "  header_timeout_s: 0\n"
      "  max_header_bytes: 100\n"
      "  body_timeout_s: soon\n"
      "  max_conections: 5\n");
  const Lines problems = fixture.problems();
  const std::string file = fixture.host_path();
  REQUIRE(problems.size() == 5);
  CHECK_THAT(problems[0], Catch::StartsWith(file + ":4: http.max_connections:"));
  CHECK_THAT(problems[1], Catch::StartsWith(file + ":5: http.header_timeout_s:"));
  CHECK_THAT(problems[2], Catch::StartsWith(file + ":6: http.max_header_bytes:"));
  CHECK_THAT(problems[3], Catch::StartsWith(file + ":7: http.body_timeout_s:"));
  CHECK(problems[4] == file + ":8: http.max_conections: unknown key (did you mean \"max_connections\"?)");
}

TEST_CASE("an API keys file is read into digests, models, rates and scopes", "[config]") {
  ConfigFixture fixture;
  fixture.dir.write("etc/keys.txt",
                    "# operators\n"
                    "sk-admin-0123456789abcdef scope=admin\n"
                    "\n"
                    "sk-user-0123456789abcdef models=chat,code rpm=60   # a team\n");
  fixture.write_host(
      "plugins_dir: ../plugins\nmodels_dir: models.d\n"
      "http:\n"
      "  api_keys:\n"
      "    file: keys.txt\n"
      "    public_routes: [/health, /metrics]\n");
  const citadel::config::ApiKeySettings keys = fixture.load().host.http.api_keys;
  CHECK(keys.enabled());
  CHECK(keys.file == fixture.path("etc/keys.txt"));
  CHECK(keys.public_routes == Lines{"/health", "/metrics"});
  REQUIRE(keys.keys.size() == 2);
  const auto admin_digest = citadel::common::sha256("sk-admin-0123456789abcdef");
  CHECK(keys.keys[0].digest == admin_digest);
  CHECK(keys.keys[0].id == citadel::common::digest_hex(admin_digest, 4));
  CHECK(keys.keys[0].id.size() == 8);
  CHECK(keys.keys[0].admin);
  CHECK(keys.keys[0].models.empty());
  CHECK(keys.keys[0].requests_per_minute == 0);
  CHECK(keys.keys[0].where.line == 2);
  CHECK_FALSE(keys.keys[1].admin);
  CHECK(keys.keys[1].models == Lines{"chat", "code"});
  CHECK(keys.keys[1].requests_per_minute == 60);
}

TEST_CASE("bad API key lines are reported by file and line without the key", "[config]") {
  ConfigFixture fixture;
  const std::string secret = "sk-secret-0123456789abcdef";
  fixture.dir.write("etc/keys.txt",
                    secret + " rpm=fast\n" +
                    "short\n" +
                    secret + "\n" +
                    "sk-other-0123456789abcdef scope=root colour=red models=\n" +
                    "rpm=5\n");
  fixture.write_host(
      "plugins_dir: ../plugins\nmodels_dir: models.d\n"
      "http:\n"
      "  api_keys: {file: keys.txt, public_routes: [/v1/models]}\n");
  const Lines problems = fixture.problems();
  const std::string keys = fixture.path("etc/keys.txt");
  const std::string host = fixture.host_path();
  CHECK(std::find(problems.begin(), problems.end(),
                  host + ":4: http.api_keys.public_routes[0]: must be /health, /ready or /metrics (got "
                         "\"/v1/models\")") != problems.end());
  const auto has = [&](const std::string& prefix) {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const std::string& line) { return line.starts_with(prefix); });
  };
  CHECK(has(keys + ":1: rpm: requests per minute"));
  CHECK(has(keys + ":2: key: a key has 16 to 512 characters (this one has 5)"));
  CHECK(has(keys + ":3: key: the same key as on line 1"));
  CHECK(has(keys + ":4: scope: must be user or admin"));
  CHECK(has(keys + ":4: colour: unknown field"));
  CHECK(has(keys + ":4: models:"));
  CHECK(has(keys + ":5: key: each line starts with the key"));
  for (const std::string& line : problems) CHECK(line.find(secret) == std::string::npos);
}

TEST_CASE("API keys come from an environment variable; exactly one source is allowed", "[config]") {
  ConfigFixture fixture;
  ::setenv("CITADEL_TEST_KEYS", "sk-env-one-0123456789abcdef rpm=5; sk-env-two-0123456789abcdef", 1);
  fixture.write_host(
      "plugins_dir: ../plugins\nmodels_dir: models.d\n"
      "http: {api_keys: {env: CITADEL_TEST_KEYS}}\n");
  const citadel::config::ApiKeySettings keys = fixture.load().host.http.api_keys;
  REQUIRE(keys.keys.size() == 2);
  CHECK(keys.keys[0].requests_per_minute == 5);
  CHECK(keys.keys[1].digest == citadel::common::sha256("sk-env-two-0123456789abcdef"));
  CHECK(keys.public_routes == Lines{"/health", "/ready"});
  ::unsetenv("CITADEL_TEST_KEYS");

  fixture.write_host(
      "plugins_dir: ../plugins\nmodels_dir: models.d\n"
      "http: {api_keys: {env: CITADEL_TEST_KEYS}}\n");
  CHECK(fixture.problems() ==
        Lines{fixture.host_path() +
              ":3: http.api_keys.env: the environment variable CITADEL_TEST_KEYS is not set"});
  fixture.write_host(
      "plugins_dir: ../plugins\nmodels_dir: models.d\n"
      "http:\n"
      "  api_keys: {public_routes: []}\n");
  CHECK(fixture.problems() ==
        Lines{fixture.host_path() +
              ":4: http.api_keys.file: set exactly one of api_keys.file (a keys file) and "
              "api_keys.env (an environment variable holding the keys)"});
  fixture.write_host(
      "plugins_dir: ../plugins\nmodels_dir: models.d\n"
      "http: {api_keys: {file: missing.txt}}\n");
  const Lines missing = fixture.problems();
  REQUIRE(missing.size() == 1);
  CHECK_THAT(missing[0], Catch::StartsWith(fixture.path("etc/missing.txt") +
                                           ": cannot read the API keys file"));
}
