// The HttpServer in-process on 127.0.0.1 port 0 over real sockets, in front of
// a scripted RequestRouter (a worker thread per request that emits one word
// per step and honours cancel()), so the plumbing is checked on its own:
// routes, statuses, error bodies, SSE order, keep-alive, limits, a client
// that leaves mid-stream, and a graceful stop that lets a stream finish.
#include "host/http/http_server.h"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

namespace json = boost::json;
using namespace citadel;
using namespace std::chrono_literals;

namespace {

class ScriptedHandle : public sched::RequestHandle {
 public:
  explicit ScriptedHandle(uint64_t id) : id_(id) {}
  uint64_t id() const override { return id_; }
  void cancel() override { cancelled = true; }
  std::atomic<bool> cancelled{false};

 private:
  uint64_t id_;
};

// Emits "w0 ", "w1 ", ... one per step_delay; a prompt "fail" ends in a
// plugin error; "bad" in an invalid_argument error.
class ScriptedRouter : public sched::RequestRouter {
 public:
  ~ScriptedRouter() override {
    for (std::thread& worker : workers_) worker.join();
  }

  sched::Submission submit(sched::InferenceRequest request, sched::EventSink sink) override {
    sched::Submission submission;
    if (request.model != "m" && request.model != "m2") {
      submission.rejection = {sched::RejectReason::unknown_model, "unknown", 0};
      return submission;
    }
    if (queue_full) {
      submission.rejection = {sched::RejectReason::queue_full, "queue of m is full", 2};
      return submission;
    }
    const uint64_t id = next_id_++;
    auto handle = std::make_shared<ScriptedHandle>(id);
    {
      std::lock_guard lock(mutex_);
      inputs.push_back(request.input_json);
      workers_.emplace_back([this, handle, request, sink] { run(*handle, request, sink); });
    }
    submission.handle = handle;
    return submission;
  }

  std::vector<sched::ModelListing> list_models() const override {
    return {{"m", "echo", "1.0.0", "text_generation", "serving", "", 1, 256},
            {"m2", "echo", "1.0.0", "text_generation", "serving", "", 1, 256}};
  }
  bool ready() const override { return is_ready; }

  std::atomic<bool> queue_full{false};
  std::atomic<bool> is_ready{true};
  std::atomic<int> step_delay_ms{1};
  std::atomic<int> cancelled_count{0};
  std::mutex mutex_;
  std::vector<std::string> inputs;

 private:
  void run(ScriptedHandle& handle, const sched::InferenceRequest& request, const sched::EventSink& sink) {
    const json::object input = json::parse(request.input_json).as_object();
    const int max_tokens = input.at("max_tokens").to_number<int>();
    const std::string prompt = input.contains("prompt") ? std::string(input.at("prompt").as_string()) : "";
    sched::InferenceEvent last;
    last.request_id = handle.id();
    last.final = true;
    last.usage.prompt_tokens = 3;
    if (prompt == "fail" || prompt == "bad") {
      last.finish_reason = sched::FinishReason::error;
      last.error_code = prompt == "fail" ? "internal" : "invalid_argument";
      last.error_message = prompt == "fail" ? "plugin crashed" : "input: prompt: bad";
      sink(last);
      return;
    }
    for (int index = 0; index < max_tokens; ++index) {
      if (handle.cancelled) {
        ++cancelled_count;
        last.finish_reason = sched::FinishReason::cancelled;
        sink(last);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(step_delay_ms.load()));
      sched::InferenceEvent event;
      event.request_id = handle.id();
      event.text = "w" + std::to_string(index) + " ";
      sink(event);
      ++last.usage.completion_tokens;
    }
    last.finish_reason = sched::FinishReason::length;
    sink(last);
  }

  std::atomic<uint64_t> next_id_{1};
  std::vector<std::thread> workers_;
};

struct ServerFixture {
  explicit ServerFixture(uint64_t max_body_bytes = 1 << 20) {
    settings.listen = "127.0.0.1:0";
    settings.max_body_bytes = max_body_bytes;
    settings.max_tokens_limit = 64;
    settings.idle_timeout_s = 5;
    server = std::make_unique<http::HttpServer>(settings, router, metrics);
    server->start();
  }
  ~ServerFixture() { server->stop(); }
  test::HttpClient client() { return test::HttpClient("127.0.0.1", server->port()); }

  config::HttpSettings settings;
  ScriptedRouter router;
  metrics::Registry metrics;
  std::unique_ptr<http::HttpServer> server;
};

void check_error(const test::HttpResponse& response, unsigned status, const std::string& code) {
  INFO(response.body);
  CHECK(response.status == status);
  CHECK(response.header("content-type") == "application/json");
  const json::value body = response.json();
  const json::object& error = body.at("error").as_object();
  CHECK(error.contains("message"));
  CHECK(error.contains("type"));
  CHECK(error.contains("param"));
  CHECK(error.at("code").as_string() == code);
}

// Waits up to 2 s for `count` cancelled requests; true when they came.
bool wait_for_cancellations(const ScriptedRouter& router, int count) {
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (router.cancelled_count < count && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  return router.cancelled_count == count;
}

}  // namespace

TEST_CASE("the server answers health, readiness, metrics and the model list", "[http]") {
  ServerFixture fixture;
  test::HttpClient client = fixture.client();
  const test::HttpResponse health = client.get("/health");
  CHECK(health.status == 200);
  CHECK(health.json() == json::parse(R"({"status":"ok"})"));
  CHECK(client.get("/ready").status == 200);
  fixture.router.is_ready = false;
  CHECK(client.get("/ready").status == 503);
  const test::HttpResponse models = client.get("/v1/models");
  CHECK(models.json().at("data").as_array().size() == 2);
  CHECK(client.get("/v1/models/m").json().at("id").as_string() == "m");
  check_error(client.get("/v1/models/zzz"), 404, "model_not_found");
  const test::HttpResponse metrics = client.get("/metrics");
  CHECK(metrics.header("content-type").rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(metrics.body.find(R"(citadel_http_requests_total{route="/health",status="200"} 1)") !=
        std::string::npos);
}

TEST_CASE("a completion is answered whole with its text and usage", "[http]") {
  ServerFixture fixture;
  test::HttpClient client = fixture.client();
  const test::HttpResponse response =
      client.post_json("/v1/completions", R"({"model":"m","prompt":"hi","max_tokens":3})");
  REQUIRE(response.status == 200);
  const json::object body = response.json().as_object();
  CHECK(body.at("id").as_string().starts_with("cmpl-"));
  CHECK(body.at("choices").at(0).at("text").as_string() == "w0 w1 w2 ");
  CHECK(body.at("choices").at(0).at("finish_reason").as_string() == "length");
  CHECK(body.at("usage").at("completion_tokens").to_number<int>() == 3);
  CHECK(body.at("usage").at("total_tokens").to_number<int>() == 6);
}

TEST_CASE("n choices are submitted as n requests with consecutive seeds", "[http]") {
  ServerFixture fixture;
  test::HttpClient client = fixture.client();
  const test::HttpResponse response = client.post_json(
      "/v1/chat/completions",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":2,"n":3,"seed":40})");
  REQUIRE(response.status == 200);
  CHECK(response.json().at("choices").as_array().size() == 3);
  std::set<int64_t> seeds;
  for (const std::string& input : fixture.router.inputs)
    seeds.insert(json::parse(input).at("seed").to_number<int64_t>());
  CHECK(seeds == std::set<int64_t>{40, 41, 42});
}

TEST_CASE("a chat stream sends the role, the deltas in order, finish_reason, usage and DONE",
          "[http]") {
  ServerFixture fixture;
  test::HttpClient client = fixture.client();
  const test::HttpResponse header = client.start_stream(
      "/v1/chat/completions",
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":4,"stream":true,
          "stream_options":{"include_usage":true}})");
  REQUIRE(header.status == 200);
  CHECK(header.header("content-type") == "text/event-stream");
  std::vector<std::string> events;
  while (std::optional<std::string> event = client.next_event()) events.push_back(*event);
  REQUIRE(events.size() == 1 + 4 + 1 + 1 + 1);
  CHECK(json::parse(events[0]).at("choices").at(0).at("delta").at("role").as_string() == "assistant");
  for (int index = 0; index < 4; ++index) {
    const json::value chunk = json::parse(events[1 + index]);
    CHECK(chunk.at("object").as_string() == "chat.completion.chunk");
    CHECK(chunk.at("choices").at(0).at("delta").at("content").as_string() ==
          "w" + std::to_string(index) + " ");
  }
  CHECK(json::parse(events[5]).at("choices").at(0).at("finish_reason").as_string() == "length");
  CHECK(json::parse(events[6]).at("usage").at("completion_tokens").to_number<int>() == 4);
  CHECK(events[7] == "[DONE]");
  // The connection stays usable after the stream.
  CHECK(client.get("/health").status == 200);
}

TEST_CASE("malformed requests get the right status and an OpenAI error body", "[http]") {
  ServerFixture fixture(4096);
  test::HttpClient client = fixture.client();
  check_error(client.post_json("/v1/completions", "{oops"), 400, "invalid_json");
  check_error(client.post_json("/v1/completions", R"({"model":"m","prompt":5})"), 400, "invalid_type");
  check_error(client.post_json("/v1/completions", R"({"model":"m"})"), 400, "missing_field");
  check_error(client.post_json("/v1/completions", R"({"model":"m","prompt":"x","max_tokens":65})"), 400,
              "max_tokens_exceeded");
  check_error(client.post_json("/v1/completions", R"({"model":"nope","prompt":"x"})"), 404,
              "model_not_found");
  check_error(client.get("/v1/nothing"), 404, "route_not_found");
  const test::HttpResponse wrong_method = client.get("/v1/completions");
  check_error(wrong_method, 405, "method_not_allowed");
  CHECK(wrong_method.header("allow") == "POST");
  check_error(client.post_json("/v1/completions", R"({"model":"m","prompt":"fail"})"), 500, "internal");
  check_error(client.post_json("/v1/completions", R"({"model":"m","prompt":"bad"})"), 400,
              "invalid_argument");
  check_error(client.post_json("/v1/ocr", R"({"image":"AAEC"})"), 404, "model_not_found");
  check_error(client.post_json("/v1/videos", R"({"prompt":"a cat"})"), 404, "model_not_found");
  check_error(client.post_json("/v1/videos", R"({"model":"m","prompt":"a cat"})"), 400,
              "wrong_model_task");
  const std::string big(5000, ' ');
  const test::HttpResponse too_large =
      client.post_json("/v1/completions", R"({"model":"m","prompt":")" + big + R"("})");
  check_error(too_large, 413, "request_too_large");
  CHECK(client.server_closed());
  // A new connection still works after the 413 closed the last one.
  CHECK(client.get("/health").status == 200);
}

TEST_CASE("a full queue answers 429 with Retry-After", "[http]") {
  ServerFixture fixture;
  fixture.router.queue_full = true;
  test::HttpClient client = fixture.client();
  const test::HttpResponse response =
      client.post_json("/v1/completions", R"({"model":"m","prompt":"x"})");
  check_error(response, 429, "queue_full");
  CHECK(response.header("retry-after") == "2");
}

TEST_CASE("a body announced with Expect: 100-continue is read and answered", "[http]") {
  ServerFixture fixture;
  test::HttpClient client = fixture.client();
  const std::string body = R"({"model":"m","prompt":"x","max_tokens":1})";
  const test::HttpResponse response = client.request(
      "POST", "/v1/completions", body, {{"Expect", "100-continue"}, {"Content-Type", "application/json"}});
  CHECK(response.status == 200);
}

TEST_CASE("a client that leaves mid-stream has its request cancelled at once", "[http]") {
  ServerFixture fixture;
  fixture.router.step_delay_ms = 50;  // 64 tokens would take over 3 s
  {
    test::HttpClient client = fixture.client();
    REQUIRE(client.start_stream("/v1/completions",
                                R"({"model":"m","prompt":"x","max_tokens":64,"stream":true})")
                .status == 200);
    REQUIRE(client.next_event().has_value());
    client.close();
  }
  CHECK(wait_for_cancellations(fixture.router, 1));
}

TEST_CASE("a client that leaves while waiting for a whole response has it cancelled", "[http]") {
  ServerFixture fixture;
  fixture.router.step_delay_ms = 50;
  {
    test::HttpClient client = fixture.client();
    const std::string body = R"({"model":"m","prompt":"x","max_tokens":60})";
    client.send_raw("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    std::this_thread::sleep_for(200ms);
    client.close();
  }
  CHECK(wait_for_cancellations(fixture.router, 1));
}

TEST_CASE("stop() lets a running stream finish before the server goes down", "[http]") {
  ServerFixture fixture;
  fixture.router.step_delay_ms = 20;
  test::HttpClient client = fixture.client();
  REQUIRE(client.start_stream("/v1/completions",
                              R"({"model":"m","prompt":"x","max_tokens":20,"stream":true})")
              .status == 200);
  std::thread stopper([&] { fixture.server->stop(); });
  std::vector<std::string> events;
  while (std::optional<std::string> event = client.next_event()) events.push_back(*event);
  stopper.join();
  REQUIRE_FALSE(events.empty());
  CHECK(events.back() == "[DONE]");
  CHECK(events.size() == 20 + 1 + 1);
  CHECK_FALSE(fixture.server->running());
}

// Regression (found by TSan): the admin `status` command reads the HTTP port
// from its own thread while Host::start() binds the listener, and port() was
// a plain field written by start(). Under the TSan stage this test reports
// the race if port() is not synchronized.
TEST_CASE("the bound port may be read from another thread while the server starts", "[http]") {
  config::HttpSettings settings;
  settings.listen = "127.0.0.1:0";
  ScriptedRouter router;
  metrics::Registry metrics;
  http::HttpServer server(settings, router, metrics);
  std::atomic<bool> done{false};
  std::atomic<uint16_t> seen{0};
  std::thread reader([&] {
    while (!done.load()) {
      if (const uint16_t port = server.port()) seen = port;
    }
  });
  server.start();
  const uint16_t bound = server.port();
  while (seen.load() == 0) std::this_thread::yield();
  done = true;
  reader.join();
  CHECK(bound != 0);
  CHECK(seen.load() == bound);
  server.stop();
}
