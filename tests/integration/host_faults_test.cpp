// Faults contained, against the real citadel binary with the faulty test
// plugin (tests/plugins/faulty_plugin.cpp), which misbehaves only on steps
// carrying a prompt with "FAULT": a malformed step output fails only its own
// request; failed steps fail their requests, and repeated (or fatal) ones
// put the model into the failed state (503 model_failed, `models`, /metrics)
// until a reload or `load NAME`; other models keep serving; a device-fatal
// error makes /ready fail for good.
#include "integration/serving_tree.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <thread>

namespace json = boost::json;
using citadel::test::HttpResponse;
using citadel::test::openai_error;
using citadel::test::ServingTree;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void check_serves(const ServingTree& serving, const std::string& model) {
  const HttpResponse reply = serving.complete(model, "abc", 5);
  INFO(model << ": " << reply.body);
  REQUIRE(reply.status == 200);
  CHECK(reply.json().at("choices").at(0).at("text").as_string() == "abcab");
}

}  // namespace

TEST_CASE("a malformed step output fails only its own request, naming the model and the fault",
          "[integration][faults]") {
  ServingTree serving;
  const std::vector<std::pair<std::string, std::string>> faults = {
      {"unknown_request_id", "in the place of"},
      {"token_out_of_range", "outside the vocabulary [0, 256)"},
      {"appended_inconsistent", "appended_tokens is 2"},
      {"failed_no_message", "without an error message"},
      {"unknown_state", "unknown request state 7"}};
  for (const auto& [fault, _] : faults) {
    serving.write_model(fault, "faulty", "fault: " + fault, "max_step_failures: 100");
  }
  serving.tree.write_model("good", "echo");
  serving.start();

  for (const auto& [fault, expected] : faults) {
    INFO(fault);
    const std::string message = openai_error(serving.complete(fault, "a FAULT here"), 500, "plugin_output_invalid");
    CHECK(contains(message, "model " + fault));
    CHECK(contains(message, expected));
    check_serves(serving, fault);  // the model still serves other requests
    CHECK(serving.model_row(fault).at("state").as_string() == "serving");
  }
  check_serves(serving, "good");
  CHECK(serving.client().get("/ready").status == 200);
  CHECK(serving.metric(R"(citadel_model_failed{model="token_out_of_range"})") == 0);
}

TEST_CASE("repeated failed steps fail the model until a reload; other models keep serving",
          "[integration][faults]") {
  ServingTree serving;
  serving.write_model("shaky", "faulty", "fault: bad_status", "max_step_failures: 2");
  serving.tree.write_model("good", "echo");
  serving.start();

  // The first failed step fails its request (500, the plugin's message) only.
  std::string message = openai_error(serving.complete("shaky", "FAULT"), 500, "internal");
  CHECK(contains(message, "model shaky"));
  CHECK(contains(message, "step failed on purpose"));
  check_serves(serving, "shaky");  // a clean step resets the count
  openai_error(serving.complete("shaky", "FAULT 1"), 500, "internal");
  CHECK(serving.model_row("shaky").at("state").as_string() == "serving");
  openai_error(serving.complete("shaky", "FAULT 2"), 500, "internal");

  // Two in a row: failed. New requests get 503 naming the model and why.
  const json::object row = serving.model_row("shaky");
  CHECK(row.at("state").as_string() == "failed");
  CHECK(contains(std::string(row.at("failure").as_string()), "2 faulty steps in a row"));
  message = openai_error(serving.complete("shaky", "abc"), 503, "model_failed");
  CHECK(contains(message, "model shaky has failed"));
  CHECK(serving.metric(R"(citadel_model_failed{model="shaky"})") == 1);
  CHECK(serving.metric(R"(citadel_model_failed{model="good"})") == 0);
  const json::object status = serving.process->request({{"cmd", "status"}}).at("status").as_object();
  CHECK(status.at("failed_models").as_array().size() == 1);
  check_serves(serving, "good");
  CHECK(serving.client().get("/ready").status == 200);  // a model fault is not a host fault

  // A reload with unchanged files recreates the failed model.
  const json::object reload = serving.process->request({{"cmd", "reload"}});
  INFO(json::serialize(reload));
  REQUIRE(reload.at("ok").as_bool());
  CHECK(serving.model_row("shaky").at("state").as_string() == "serving");
  check_serves(serving, "shaky");
  // The failed instance withdraws its share once the retirement released it.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (serving.metric(R"(citadel_model_failed{model="shaky"})") != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(serving.metric(R"(citadel_model_failed{model="shaky"})") == 0);
}

TEST_CASE("a throwing plugin fails its model at the limit, and load NAME brings it back",
          "[integration][faults]") {
  ServingTree serving;
  serving.write_model("thrower", "faulty", "fault: throw", "max_step_failures: 1");
  serving.start();
  const std::string message = openai_error(serving.complete("thrower", "FAULT"), 500, "internal");
  CHECK(contains(message, "threw on purpose"));
  CHECK(serving.model_row("thrower").at("state").as_string() == "failed");
  openai_error(serving.complete("thrower", "abc"), 503, "model_failed");

  const json::object load = serving.process->request({{"cmd", "load"}, {"name", "thrower"}});
  INFO(json::serialize(load));
  REQUIRE(load.at("ok").as_bool());
  CHECK(serving.model_row("thrower").at("state").as_string() == "serving");
  check_serves(serving, "thrower");
  // A model that has not failed and was not unloaded is not a `load NAME`.
  CHECK_FALSE(serving.process->request({{"cmd", "load"}, {"name", "thrower"}}).at("ok").as_bool());
}

TEST_CASE("a device-fatal error fails the model and makes /ready fail for good", "[integration][faults]") {
  ServingTree serving;
  serving.write_model("gpu", "faulty", "fault: device_fatal");
  serving.tree.write_model("good", "echo");
  serving.start();
  CHECK(serving.client().get("/ready").status == 200);

  const std::string message = openai_error(serving.complete("gpu", "FAULT"), 503, "device_fatal");
  CHECK(contains(message, "model gpu"));
  CHECK(contains(message, "cudaErrorIllegalAddress"));
  CHECK(serving.model_row("gpu").at("state").as_string() == "failed");
  CHECK(serving.client().get("/ready").status == 503);
  const json::object status = serving.process->request({{"cmd", "status"}}).at("status").as_object();
  CHECK(contains(std::string(status.at("device_fault").as_string()), "model gpu"));
  CHECK_FALSE(status.at("ready").as_bool());
  check_serves(serving, "good");  // what still works keeps working until the restart

  // A sticky device error outlives the model: still not ready after a reload.
  REQUIRE(serving.process->request({{"cmd", "reload"}}).at("ok").as_bool());
  CHECK(serving.model_row("gpu").at("state").as_string() == "serving");
  CHECK(serving.client().get("/ready").status == 503);
}

TEST_CASE("running out of memory in a step answers 503 with Retry-After and fails nothing else",
          "[integration][faults]") {
  ServingTree serving;
  serving.write_model("tight", "faulty", "fault: oom", "max_step_failures: 1");
  serving.start();
  const HttpResponse reply = serving.complete("tight", "FAULT");
  const std::string message = openai_error(reply, 503, "out_of_memory");
  CHECK(contains(message, "model tight"));
  CHECK(!reply.header("retry-after").empty());
  CHECK(serving.model_row("tight").at("state").as_string() == "serving");
  check_serves(serving, "tight");
}

TEST_CASE("a scheduler stuck in a plugin step is reported as stalled", "[integration][faults]") {
  ServingTree serving("step_stall_s: 1\n");
  serving.write_model("hang", "faulty", "fault: stall, stall_ms: 3000");
  serving.tree.write_model("good", "echo");
  serving.start();
  auto stalled = [&] {
    return serving.process->request({{"cmd", "status"}}).at("status").at("stalled_models").as_array();
  };
  CHECK(stalled().empty());
  // Catch2 assertions are not thread-safe (TSan): the thread only records.
  unsigned slow_status = 0;
  std::thread slow([&] { slow_status = serving.complete("hang", "FAULT", 1).status; });
  const auto deadline = std::chrono::steady_clock::now() + 2500ms;
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    const json::array names = stalled();
    seen = names.size() == 1 && names.at(0).as_string() == "hang";
    std::this_thread::sleep_for(50ms);
  }
  CHECK(seen);
  check_serves(serving, "good");
  slow.join();
  CHECK(slow_status == 200);
  // Once the step returns the thread goes idle (or starts a fresh iteration).
  const auto settle = std::chrono::steady_clock::now() + 2s;
  while (!stalled().empty() && std::chrono::steady_clock::now() < settle) std::this_thread::sleep_for(10ms);
  CHECK(stalled().empty());
}
