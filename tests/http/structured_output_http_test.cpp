// Structured output through the real citadel binary and the real llm-gptq
// plugin with tiny random-weight models (tests/data/llm): unconstrained
// output is gibberish, so every constrained answer must still parse and
// match its schema. Covers response_format json_object / json_schema (whole
// and streamed), tool_choice required / named / auto for a ChatML (Hermes)
// and a Llama-3 model, tool results fed back, and the 400s: a bad schema
// keyword, tools for a model whose template has none.
#include "integration/host_tree.hpp"
#include "runtime/structured_test_support.hpp"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

namespace json = boost::json;
using citadel::test::HostTree;
using citadel::test::HttpClient;
using citadel::test::HttpResponse;

namespace {

const char* kWeatherSchema = R"({"type": "object", "properties": {
    "city": {"type": "string", "maxLength": 20},
    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    "days": {"type": "integer", "minimum": 1, "maximum": 14},
    "hourly": {"type": "array", "items": {"type": "number"}, "maxItems": 3}},
    "required": ["city", "unit"], "additionalProperties": false})";

struct LlmServing {
  LlmServing() {
    tree.write_raw("citadel.yaml",
                   "admin:\n  socket: run/admin.sock\nplugins_dir: plugins\nmodels_dir: models.d\n"
                   "runtime_dir: run/runtime\nhttp:\n  listen: 127.0.0.1:0\n  max_tokens_limit: 512\n"
                   "devices: [cpu]\ncpu_cache_mb: 256\nlog_level: info\n");
    const std::filesystem::path plugin = tree.root() / "plugins" / "llm-gptq";
    std::filesystem::create_directories(plugin);
    std::filesystem::copy_file(citadel::test::binary_dir() / "plugins/llm-gptq/llm-gptq.so", plugin / "llm-gptq.so");
    std::filesystem::copy_file(citadel::test::source_dir() / "plugins/llm-gptq/plugin.yaml", plugin / "plugin.yaml");
    const std::filesystem::path data = citadel::test::source_dir() / "tests/data/llm";
    model("chatml", data / "qwen2-gptq", "on");
    model("llama", data / "llama3-gptq", "on");
    model("plain", data / "qwen2-gptq", "auto");  // its template mentions no tools
    process = tree.start();
    // The admin socket may answer before the HTTP server listens.
    for (int attempt = 0; attempt < 400 && port == 0; ++attempt) {
      const json::object status = process->request({{"cmd", "status"}}).at("status").as_object();
      if (const json::value* http_port = status.if_contains("http_port")) port = http_port->to_number<uint16_t>();
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(port != 0);
  }

  void model(const std::string& name, const std::filesystem::path& weights, const std::string& tools) {
    tree.write_raw("models.d/" + name + ".yaml",
                   "name: " + name + "\nplugin: llm-gptq\ndevice: cpu\nweights: " + weights.string() +
                       "\ncache:\n  size_mb: 32\noptions: {threads: 1, tools: " + tools + "}\n");
  }

  HttpResponse chat(const json::object& body) {
    HttpClient client("127.0.0.1", port);
    return client.post_json("/v1/chat/completions", json::serialize(body));
  }

  HostTree tree;
  std::unique_ptr<citadel::test::CitadelProcess> process;
  uint16_t port = 0;
};

json::array user(const std::string& text) {
  return json::array{json::object{{"role", "user"}, {"content", text}}};
}

json::array weather_tools() {
  return json::array{
      json::object{{"type", "function"},
                   {"function", json::object{{"name", "get_weather"},
                                             {"description", "Weather of a city"},
                                             {"parameters", json::parse(kWeatherSchema)}}}},
      json::object{{"type", "function"},
                   {"function", json::object{{"name", "search"},
                                             {"parameters", json::parse(R"({"type": "object",
                                               "properties": {"query": {"type": "string", "maxLength": 30}},
                                               "required": ["query"]})")}}}}};
}

}  // namespace

TEST_CASE("response_format json_schema and json_object answers parse and validate", "[http][structured]") {
  LlmServing serving;
  const json::value schema = json::parse(kWeatherSchema);
  for (const char* model : {"chatml", "llama"}) {
    for (int seed = 0; seed < 3; ++seed) {
      INFO(model << " seed " << seed);
      json::object body{{"model", model}, {"messages", user("Weather in Paris?")}, {"max_tokens", 200},
                        {"temperature", seed == 0 ? 0.0 : 1.0}, {"seed", seed},
                        {"response_format", json::object{{"type", "json_schema"},
                                                         {"json_schema", json::object{{"name", "weather"},
                                                                                      {"schema", schema},
                                                                                      {"strict", true}}}}}};
      const HttpResponse response = serving.chat(body);
      INFO(response.body);
      REQUIRE(response.status == 200);
      const json::value reply = response.json();
      const json::value& choice = reply.at("choices").at(0);
      CHECK(choice.at("finish_reason").as_string() == "stop");
      const json::value answer = json::parse(choice.at("message").at("content").as_string());
      CHECK(citadel::test::validate(schema, answer, schema).empty());
    }
    json::object body{{"model", model}, {"messages", user("Anything")}, {"max_tokens", 120}, {"seed", 4},
                      {"response_format", json::object{{"type", "json_object"}}}};
    const HttpResponse response = serving.chat(body);
    REQUIRE(response.status == 200);
    const json::value reply = response.json();
    const json::value& choice = reply.at("choices").at(0);
    if (choice.at("finish_reason").as_string() == "stop")
      CHECK(json::parse(choice.at("message").at("content").as_string()).is_object());
    else
      CHECK(choice.at("message").at("content").as_string().starts_with("{"));
  }

  // Streamed: the chunks' text put together is the same valid JSON.
  HttpClient client("127.0.0.1", serving.port);
  json::object body{{"model", "chatml"}, {"messages", user("Stream it")}, {"max_tokens", 200}, {"stream", true},
                    {"temperature", 0.0},
                    {"response_format", json::object{{"type", "json_schema"},
                                                     {"json_schema", json::object{{"name", "w"}, {"schema", schema}}}}}};
  REQUIRE(client.start_stream("/v1/chat/completions", json::serialize(body)).status == 200);
  std::string text, finish;
  while (std::optional<std::string> event = client.next_event()) {
    if (*event == "[DONE]") break;
    const json::value chunk = json::parse(*event);
    const json::value& choice = chunk.at("choices").at(0);
    if (const json::value* content = choice.at("delta").as_object().if_contains("content")) text += content->as_string();
    if (choice.at("finish_reason").is_string()) finish = choice.at("finish_reason").as_string();
  }
  CHECK(finish == "stop");
  CHECK(citadel::test::validate(schema, json::parse(text), schema).empty());

  // A keyword the compiler cannot enforce: 400 naming its path.
  json::object bad{{"model", "chatml"}, {"messages", user("x")},
                   {"response_format", json::object{{"type", "json_schema"},
                                                    {"json_schema", json::object{{"name", "p"},
                                                                                 {"schema", json::parse(R"({"type": "object",
                                                                                   "properties": {"id": {"type": "string", "pattern": "^a"}}})")}}}}}};
  const HttpResponse refused = serving.chat(bad);
  CHECK(refused.status == 400);
  CHECK(refused.body.find("#/properties/id/pattern") != std::string::npos);
}

TEST_CASE("tool_choice required and named give tool_calls with valid arguments", "[http][structured]") {
  LlmServing serving;
  const json::value weather = json::parse(kWeatherSchema);
  for (const char* model : {"chatml", "llama"}) {
    for (int variant = 0; variant < 2; ++variant) {
      INFO(model << " variant " << variant);
      json::object body{{"model", model}, {"messages", user("Weather in Oslo for 3 days?")}, {"max_tokens", 250},
                        {"seed", variant}, {"tools", weather_tools()}};
      if (variant == 0) body["tool_choice"] = "required";
      else body["tool_choice"] = json::object{{"type", "function"}, {"function", json::object{{"name", "get_weather"}}}};
      const HttpResponse response = serving.chat(body);
      INFO(response.body);
      REQUIRE(response.status == 200);
      const json::value reply = response.json();
      const json::value& choice = reply.at("choices").at(0);
      CHECK(choice.at("finish_reason").as_string() == "tool_calls");
      const json::array& calls = choice.at("message").at("tool_calls").as_array();
      REQUIRE(!calls.empty());
      for (const json::value& call : calls) {
        CHECK(call.at("id").as_string().starts_with("call_"));
        CHECK(call.at("type").as_string() == "function");
        const std::string name(call.at("function").at("name").as_string());
        if (variant == 1) CHECK(name == "get_weather");
        const json::value arguments = json::parse(call.at("function").at("arguments").as_string());
        if (name == "get_weather") CHECK(citadel::test::validate(weather, arguments, weather).empty());
        else CHECK(arguments.at("query").is_string());
      }
    }
  }

  // Streamed: a tool_calls delta, then finish_reason "tool_calls".
  HttpClient client("127.0.0.1", serving.port);
  json::object body{{"model", "chatml"}, {"messages", user("Oslo?")}, {"max_tokens", 250}, {"stream", true},
                    {"tools", weather_tools()}, {"tool_choice", "required"}, {"parallel_tool_calls", false}};
  REQUIRE(client.start_stream("/v1/chat/completions", json::serialize(body)).status == 200);
  int tool_deltas = 0;
  std::string finish;
  while (std::optional<std::string> event = client.next_event()) {
    if (*event == "[DONE]") break;
    const json::value chunk = json::parse(*event);
    const json::value& choice = chunk.at("choices").at(0);
    if (const json::value* calls = choice.at("delta").as_object().if_contains("tool_calls")) {
      ++tool_deltas;
      CHECK(calls->at(0).at("index").to_number<int>() == 0);
      json::parse(calls->at(0).at("function").at("arguments").as_string());
    }
    if (choice.at("finish_reason").is_string()) finish = choice.at("finish_reason").as_string();
  }
  CHECK(tool_deltas == 1);
  CHECK(finish == "tool_calls");
}

TEST_CASE("tool results are fed back, auto is accepted, and a model without tools refuses them",
          "[http][structured]") {
  LlmServing serving;
  for (const char* model : {"chatml", "llama"}) {
    json::array messages = user("Weather in Oslo?");
    messages.push_back(json::object{
        {"role", "assistant"}, {"content", nullptr},
        {"tool_calls", json::array{json::object{{"id", "call_1"}, {"type", "function"},
                                                {"function", json::object{{"name", "get_weather"},
                                                                          {"arguments", R"({"city": "Oslo", "unit": "celsius"})"}}}}}}});
    messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "{\"temp\": 3}"}});
    json::object body{{"model", model}, {"messages", messages}, {"max_tokens", 8}, {"tools", weather_tools()},
                      {"tool_choice", "auto"}};
    const HttpResponse response = serving.chat(body);
    INFO(model << " " << response.body);
    REQUIRE(response.status == 200);
    const json::value reply = response.json();
    const json::value& choice = reply.at("choices").at(0);
    CHECK(choice.at("message").at("role").as_string() == "assistant");
  }
  json::object body{{"model", "plain"}, {"messages", user("x")}, {"tools", weather_tools()}};
  const HttpResponse refused = serving.chat(body);
  CHECK(refused.status == 400);
  CHECK(refused.body.find("model 'plain' does not support tools") != std::string::npos);
  json::object unknown{{"model", "chatml"}, {"messages", user("x")}, {"tools", weather_tools()},
                       {"tool_choice", json::object{{"type", "function"}, {"function", json::object{{"name", "nope"}}}}}};
  CHECK(serving.chat(unknown).status == 400);
}
