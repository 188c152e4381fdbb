// The `http:` block of citadel.yaml.
#include "host/config/http_settings_reader.h"

#include "host/config/api_key_file.h"
#include "host/config/yaml_scalar.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <regex>

namespace citadel::config {

const std::vector<std::string> kHttpKeys{
    "listen",         "max_body_bytes",   "max_header_bytes", "max_tokens_limit",
    "max_connections", "idle_timeout_s",  "header_timeout_s", "body_timeout_s",
    "max_requests_per_connection", "api_keys"};

namespace {

constexpr uint32_t kMaxU32 = std::numeric_limits<uint32_t>::max();
const std::vector<std::string> kPublicRouteChoices{"/health", "/ready", "/metrics"};

void read_listen(const YamlMapReader& http, std::string& out) {
  std::string listen;
  if (!http.read_string("listen", listen)) return;
  static const std::regex host_port(R"((\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5}))");
  std::smatch match;
  if (!listen.empty() &&
      (!std::regex_match(listen, match, host_port) || std::stoul(match[2].str()) > 65535)) {
    http.report("listen", "must be host:port like 127.0.0.1:8080, or \"\" to disable HTTP (got \"" +
                              listen + "\")");
    return;
  }
  out = listen;
}

void read_public_routes(const YamlMapReader& keys, std::vector<std::string>& out) {
  const YAML::Node* value = keys.find("public_routes");
  if (value == nullptr) return;
  if (!value->IsSequence()) {
    keys.report("public_routes", "must be a list drawn from /health, /ready, /metrics (got " +
                                     describe_value(*value) + ")");
    return;
  }
  std::vector<std::string> routes;
  int index = 0;
  for (const YAML::Node& item : *value) {
    const std::string field = keys.field("public_routes") + "[" + std::to_string(index++) + "]";
    const std::string route = item.IsScalar() ? item.Scalar() : "";
    if (std::find(kPublicRouteChoices.begin(), kPublicRouteChoices.end(), route) ==
        kPublicRouteChoices.end()) {
      keys.sink().report(line_of(item), field,
                         "must be /health, /ready or /metrics (got " + describe_value(item) + ")");
      continue;
    }
    if (std::find(routes.begin(), routes.end(), route) != routes.end()) {
      keys.sink().report(line_of(item), field, route + " is listed twice");
      continue;
    }
    routes.push_back(route);
  }
  out = routes;
}

void read_api_keys(const YamlMapReader& keys, const std::string& base_dir, ApiKeySettings& out) {
  keys.read_path("file", base_dir, out.file);
  keys.read_string("env", out.env);
  read_public_routes(keys, out.public_routes);
  std::vector<ConfigProblem>& problems = *keys.sink().problems;
  if (keys.has("file") == keys.has("env")) {
    keys.report(keys.has("env") ? "env" : "file",
                "set exactly one of api_keys.file (a keys file) and api_keys.env (an environment "
                "variable holding the keys)");
    out.file.clear();
    out.env.clear();
    return;
  }
  if (out.file.empty() && out.env.empty()) return;  // reported by read_path / read_string
  if (!out.file.empty()) {
    out.keys = read_api_key_file(out.file, problems);
    return;
  }
  static const std::regex variable_name("[A-Za-z_][A-Za-z0-9_]*");
  if (!std::regex_match(out.env, variable_name)) {
    keys.report("env", "must be an environment variable name (got \"" + out.env + "\")");
    return;
  }
  const char* text = std::getenv(out.env.c_str());
  if (text == nullptr) {
    keys.report("env", "the environment variable " + out.env + " is not set");
    return;
  }
  out.keys = parse_api_keys(text, "$" + out.env, true, problems);
}

}  // namespace

void read_http_settings(const YamlMapReader& http, const std::string& base_dir, HttpSettings& out) {
  read_listen(http, out.listen);
  http.read_unsigned("max_body_bytes", out.max_body_bytes, 1, UINT64_MAX);
  http.read_unsigned("max_header_bytes", out.max_header_bytes, 1024, 16u << 20);
  http.read_unsigned("max_tokens_limit", out.max_tokens_limit, 1, kMaxU32);
  http.read_unsigned("max_connections", out.max_connections, 1, 1u << 20);
  http.read_unsigned("idle_timeout_s", out.idle_timeout_s, 1, 86400);
  http.read_unsigned("header_timeout_s", out.header_timeout_s, 1, 3600);
  http.read_unsigned("body_timeout_s", out.body_timeout_s, 1, 86400);
  http.read_unsigned("max_requests_per_connection", out.max_requests_per_connection, 0, kMaxU32);
  if (auto keys = http.read_map("api_keys", {"file", "env", "public_routes"}))
    read_api_keys(*keys, base_dir, out.api_keys);
}

}  // namespace citadel::config
