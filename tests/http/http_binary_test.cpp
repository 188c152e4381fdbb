// The real citadel binary with the echo test plugin, driven over real HTTP:
// completions and chat, stream order and usage, a client that leaves
// mid-stream (its blocks are freed, seen through the admin `pool`), two
// models at once, queue-full backpressure, malformed requests, and a reload
// (SIGHUP) during a stream of requests that fails none of them.
//
// The echo plugin repeats the prompt's bytes (one token per byte): prompt
// "abc" with max_tokens 7 gives "abcabca".
#include "http/limits_host.hpp"
#include "integration/host_tree.hpp"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

namespace json = boost::json;
using citadel::test::HostTree;
using citadel::test::HttpClient;
using citadel::test::HttpResponse;
using namespace std::chrono_literals;

namespace {

// A HostTree whose citadel.yaml enables HTTP on a free port with small limits.
struct ServingTree {
  ServingTree() {
    tree.write_raw("citadel.yaml",
                   "admin:\n"
                   "  socket: run/admin.sock\n"
                   "plugins_dir: plugins\n"
                   "models_dir: models.d\n"
                   "runtime_dir: run/runtime\n"
                   "http:\n"
                   "  listen: 127.0.0.1:0\n"
                   "  max_body_bytes: 65536\n"
                   "  max_tokens_limit: 512\n"
                   "  idle_timeout_s: 20\n"
                   "devices: [cpu]\n"
                   "cpu_cache_mb: 64\n"
                   "log_level: info\n");
  }

  void start() {
    process = tree.start();
    port = citadel::test::wait_for_http_port(*process);
  }

  HttpClient client() const { return HttpClient("127.0.0.1", port); }

  // Live cache blocks of `model` over every device, from the admin `pool`
  // (which names a model's space "<name>@g<generation>").
  uint64_t live_blocks(const std::string& model) const {
    const json::object reply = process->request({{"cmd", "pool"}});
    uint64_t blocks = 0;
    for (const json::value& device : reply.at("pool").at("devices").as_array())
      for (const json::value& space : device.at("spaces").as_array())
        if (std::string(space.at("model").as_string()).starts_with(model + "@"))
          blocks += space.at("live_blocks").to_number<uint64_t>();
    return blocks;
  }

  HostTree tree;
  std::unique_ptr<citadel::test::CitadelProcess> process;
  uint16_t port = 0;
};

std::string completion_body(const std::string& model, const std::string& prompt, int max_tokens,
                            bool stream = false) {
  return json::serialize(json::object{
      {"model", model}, {"prompt", prompt}, {"max_tokens", max_tokens}, {"stream", stream}});
}

void check_error(const HttpResponse& response, unsigned status, const std::string& code) {
  INFO(response.body);
  CHECK(response.status == status);
  CHECK(response.header("content-type") == "application/json");
  const json::value body = response.json();
  const json::object& error = body.at("error").as_object();
  CHECK(!error.at("message").as_string().empty());
  CHECK(error.at("type").is_string());
  CHECK(error.contains("param"));
  CHECK(error.at("code").as_string() == code);
}

}  // namespace

TEST_CASE("the host answers completions and chat completions over HTTP", "[http]") {
  ServingTree serving;
  serving.tree.write_model("alpha", "echo");
  serving.start();
  HttpClient client = serving.client();

  const HttpResponse completion = client.post_json("/v1/completions", completion_body("alpha", "abc", 7));
  REQUIRE(completion.status == 200);
  const json::value body = completion.json();
  CHECK(body.at("object").as_string() == "text_completion");
  CHECK(body.at("choices").at(0).at("text").as_string() == "abcabca");
  CHECK(body.at("choices").at(0).at("finish_reason").as_string() == "length");
  CHECK(body.at("usage").at("prompt_tokens").to_number<int>() == 3);
  CHECK(body.at("usage").at("completion_tokens").to_number<int>() == 7);
  CHECK(body.at("usage").at("total_tokens").to_number<int>() == 10);

  const HttpResponse chat = client.post_json(
      "/v1/chat/completions",
      R"({"model":"alpha","messages":[{"role":"user","content":"hi"}],"max_tokens":5})");
  REQUIRE(chat.status == 200);
  const json::value chat_body = chat.json();
  CHECK(chat_body.at("id").as_string().starts_with("chatcmpl-"));
  CHECK(chat_body.at("object").as_string() == "chat.completion");
  CHECK(chat_body.at("choices").at(0).at("message").at("role").as_string() == "assistant");
  CHECK(chat_body.at("choices").at(0).at("message").at("content").as_string() == "hihih");

  const HttpResponse models = client.get("/v1/models");
  REQUIRE(models.status == 200);
  CHECK(models.json().at("data").at(0).at("id").as_string() == "alpha");
  CHECK(client.get("/health").status == 200);
  CHECK(client.get("/ready").status == 200);
  const HttpResponse metrics = client.get("/metrics");
  CHECK(metrics.body.find(R"(citadel_http_requests_total{route="/v1/completions",status="200"} 1)") !=
        std::string::npos);
}

TEST_CASE("a streamed chat completion sends its chunks in order, then usage and DONE", "[http]") {
  ServingTree serving;
  serving.tree.write_model("alpha", "echo", "step_delay_ms: 2");
  serving.start();
  HttpClient client = serving.client();
  const HttpResponse header = client.start_stream(
      "/v1/chat/completions",
      R"({"model":"alpha","messages":[{"role":"user","content":"xyz"}],"max_tokens":8,
          "stream":true,"stream_options":{"include_usage":true}})");
  REQUIRE(header.status == 200);
  std::vector<std::string> events;
  while (std::optional<std::string> event = client.next_event()) events.push_back(*event);
  REQUIRE(events.size() >= 4);
  CHECK(events.back() == "[DONE]");
  const json::value first = json::parse(events.front());
  CHECK(first.at("choices").at(0).at("delta").at("role").as_string() == "assistant");
  std::string text;
  size_t finish_index = 0;
  for (size_t index = 1; index + 2 < events.size(); ++index) {
    const json::value chunk = json::parse(events[index]);
    CHECK(chunk.at("object").as_string() == "chat.completion.chunk");
    const json::value& choice = chunk.at("choices").at(0);
    if (!choice.at("finish_reason").is_null()) {
      finish_index = index;
      CHECK(choice.at("finish_reason").as_string() == "length");
      continue;
    }
    CHECK(finish_index == 0);  // no content after the finish chunk
    text += std::string(choice.at("delta").at("content").as_string());
  }
  CHECK(text == "xyzxyzxy");
  CHECK(finish_index == events.size() - 3);
  const json::value usage = json::parse(events[events.size() - 2]);
  CHECK(usage.at("choices").as_array().empty());
  CHECK(usage.at("usage").at("completion_tokens").to_number<int>() == 8);
  CHECK(usage.at("usage").at("prompt_tokens").to_number<int>() == 3);
}

TEST_CASE("a client that disconnects mid-stream has its request cancelled and its blocks freed",
          "[http]") {
  ServingTree serving;
  serving.tree.write_model("slow", "echo", "step_delay_ms: 20");
  serving.start();
  {
    HttpClient client = serving.client();
    REQUIRE(client.start_stream("/v1/completions",
                                completion_body("slow", std::string(200, 'p'), 400, true))
                .status == 200);
    REQUIRE(client.next_event().has_value());
    REQUIRE(client.next_event().has_value());
    CHECK(serving.live_blocks("slow") > 0);
    client.close();
  }
  // 400 tokens at 20 ms would take 8 s; a cancelled request frees at once.
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (serving.live_blocks("slow") > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(serving.live_blocks("slow") == 0);
  // The model still serves.
  CHECK(serving.client().post_json("/v1/completions", completion_body("slow", "ab", 3)).status == 200);
}

TEST_CASE("two models serve streams at the same time", "[http]") {
  ServingTree serving;
  serving.tree.write_model("alpha", "echo", "step_delay_ms: 2");
  serving.tree.write_model("beta", "echo", "step_delay_ms: 2");
  serving.start();
  std::string alpha_text, beta_text;
  auto stream = [&](const std::string& model, const std::string& prompt, std::string& out) {
    HttpClient client = serving.client();
    if (client.start_stream("/v1/completions", completion_body(model, prompt, 30, true)).status != 200) return;
    while (std::optional<std::string> event = client.next_event()) {
      if (*event == "[DONE]") continue;
      const json::value chunk = json::parse(*event);
      out += std::string(chunk.at("choices").at(0).at("text").as_string());
    }
  };
  std::thread alpha([&] { stream("alpha", "ab", alpha_text); });
  std::thread beta([&] { stream("beta", "xyz", beta_text); });
  alpha.join();
  beta.join();
  CHECK(alpha_text == "ababababababababababababababab");
  CHECK(beta_text == "xyzxyzxyzxyzxyzxyzxyzxyzxyzxyz");
}

TEST_CASE("a full queue answers 429 with Retry-After and the rest succeed", "[http]") {
  ServingTree serving;
  serving.tree.write_raw("models.d/tight.yaml",
                         "name: tight\nplugin: echo\ndevice: cpu\n"
                         "options: {step_delay_ms: 30, max_batch_requests: 1}\n"
                         "scheduler: {max_queue: 1, max_batch_requests: 1}\n");
  serving.start();
  constexpr int kClients = 8;
  std::vector<HttpResponse> responses(kClients);
  std::vector<std::thread> clients;
  for (int index = 0; index < kClients; ++index)
    clients.emplace_back([&, index] {
      HttpClient client = serving.client();
      responses[index] = client.post_json("/v1/completions", completion_body("tight", "ab", 10));
    });
  for (std::thread& client : clients) client.join();
  int accepted = 0, refused = 0;
  for (const HttpResponse& response : responses) {
    if (response.status == 200) {
      ++accepted;
    } else {
      ++refused;
      check_error(response, 429, "queue_full");
      CHECK(std::stoi(response.header("retry-after")) >= 1);
    }
  }
  CHECK(accepted >= 1);
  CHECK(refused >= 1);
  CHECK(accepted + refused == kClients);
}

TEST_CASE("every malformed request gets its status and an OpenAI error body", "[http]") {
  ServingTree serving;
  serving.tree.write_model("alpha", "echo");
  serving.start();
  HttpClient client = serving.client();
  check_error(client.post_json("/v1/completions", "{\"model\": "), 400, "invalid_json");
  check_error(client.post_json("/v1/chat/completions", R"({"model":"alpha","messages":"hi"})"), 400,
              "invalid_type");
  check_error(client.post_json("/v1/completions", R"({"model":"alpha","prompt":"x","temperature":"hot"})"),
              400, "invalid_type");
  check_error(client.post_json("/v1/completions", R"({"model":"alpha"})"), 400, "missing_field");
  check_error(client.post_json("/v1/completions", R"({"model":"alpha","prompt":"x","max_tokens":513})"),
              400, "max_tokens_exceeded");
  check_error(client.post_json("/v1/completions", R"({"model":"ghost","prompt":"x"})"), 404,
              "model_not_found");
  check_error(client.post_json("/inference", R"({"model":"ghost","input":{}})"), 404, "model_not_found");
  // The plugin refuses the input when the request is opened (at submission).
  check_error(client.post_json("/inference", R"({"model":"alpha","input":{"prompt":5}})"), 400,
              "invalid_input");
  check_error(client.post_json("/v1/ocr", R"({"image":"AAEC"})"), 404, "model_not_found");
  check_error(client.get("/v2/anything"), 404, "route_not_found");
  check_error(client.request("DELETE", "/v1/models"), 405, "method_not_allowed");
  check_error(client.post_json("/v1/completions",
                               completion_body("alpha", std::string(70000, 'a'), 4)),
              413, "request_too_large");
  // The host lives on.
  CHECK(serving.client().post_json("/v1/completions", completion_body("alpha", "ok", 2)).status == 200);
}

TEST_CASE("a reload during a stream of requests fails none of them", "[http]") {
  ServingTree serving;
  serving.tree.write_model("alpha", "echo", "step_delay_ms: 2");
  serving.start();
  std::atomic<bool> running{true};
  std::atomic<int> succeeded{0};
  std::vector<std::string> failures;
  std::mutex failures_mutex;
  std::vector<std::thread> clients;
  for (int index = 0; index < 3; ++index)
    clients.emplace_back([&, index] {
      while (running) {
        try {
          HttpClient client = serving.client();
          const bool stream = index % 2 == 0;
          if (stream) {
            const HttpResponse header =
                client.start_stream("/v1/completions", completion_body("alpha", "ab", 12, true));
            bool done = false;
            if (header.status == 200)
              while (std::optional<std::string> event = client.next_event()) done = *event == "[DONE]";
            if (header.status == 200 && done) {
              ++succeeded;
              continue;
            }
            std::lock_guard lock(failures_mutex);
            failures.push_back("stream: " + std::to_string(header.status) + " " + header.body);
          } else {
            const HttpResponse response =
                client.post_json("/v1/completions", completion_body("alpha", "ab", 12));
            if (response.status == 200) {
              ++succeeded;
              continue;
            }
            std::lock_guard lock(failures_mutex);
            failures.push_back(std::to_string(response.status) + " " + response.body);
          }
        } catch (const std::exception& error) {
          std::lock_guard lock(failures_mutex);
          failures.push_back(error.what());
        }
      }
    });
  std::this_thread::sleep_for(300ms);
  const int64_t before = citadel::test::last_reload_ms(*serving.process);
  serving.tree.install_plugin("echo", "echo-v2");
  serving.tree.write_model("alpha", "echo", "step_delay_ms: 3");
  serving.process->signal(SIGHUP);
  const json::object status = citadel::test::wait_for_reload(*serving.process, before);
  CHECK(status.at("generation").to_number<int>() == 2);
  std::this_thread::sleep_for(300ms);
  running = false;
  for (std::thread& client : clients) client.join();
  INFO((failures.empty() ? std::string() : failures.front()));
  CHECK(failures.empty());
  CHECK(succeeded > 10);
  // The new generation serves: echo-v2 prefixes "v2:".
  const HttpResponse after =
      serving.client().post_json("/v1/completions", completion_body("alpha", "ab", 4));
  REQUIRE(after.status == 200);
  CHECK(after.json().at("choices").at(0).at("text").as_string().starts_with("v2:"));
  // Both generations were counted as successful reloads.
  const std::string metrics = serving.client().get("/metrics").body;
  CHECK_THAT(metrics, Catch::Contains("citadel_reloads_total{outcome=\"ok\"} 2"));
  CHECK_THAT(metrics, Catch::Contains("citadel_reload_duration_seconds_count 2"));
}

TEST_CASE("the admin benchmark command measures this host over its own HTTP server", "[http]") {
  ServingTree serving;
  serving.tree.write_model("alpha", "echo");
  serving.tree.write_model("beta", "echo");
  serving.start();
  const json::object reply = serving.process->request(
      {{"cmd", "benchmark"}, {"models", json::array{"alpha", "beta"}}, {"num_prompts", 12},
       {"seed", 7}, {"mean_input_tokens", 12}, {"mean_output_tokens", 6}});
  REQUIRE(reply.at("ok").as_bool());
  const json::object& report = reply.at("benchmark").as_object();
  CHECK(report.at("completed").to_number<int>() == 12);
  CHECK(report.at("failed").to_number<int>() == 0);
  CHECK(report.at("output_tokens").to_number<int>() > 0);
  CHECK_THAT(std::string(reply.at("summary").as_string()), Catch::StartsWith("Throughput: "));

  const json::object unknown = serving.process->request({{"cmd", "benchmark"}, {"models", "nosuch"}});
  CHECK(unknown.at("error").at("code").as_string() == "not_found");
}
