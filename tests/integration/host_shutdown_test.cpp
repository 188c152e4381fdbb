// Graceful stop of the real citadel binary: on SIGTERM it refuses new work,
// lets requests in flight finish within shutdown_grace_s, cancels what is
// left after it (the client gets a 503 in the OpenAI shape), and exits 0
// within the grace time plus a bound.
#include "integration/serving_tree.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <future>
#include <thread>

using citadel::test::HttpResponse;
using citadel::test::openai_error;
using citadel::test::ServingTree;
using namespace std::chrono_literals;

namespace {

// Waits until `model` has a request running (admin `model` stats).
void wait_until_running(ServingTree& serving, const std::string& model) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto reply = serving.process->request({{"cmd", "model"}, {"name", model}});
    if (reply.at("model").at("scheduler").at("running").to_number<int>() > 0) return;
    std::this_thread::sleep_for(5ms);
  }
  FAIL("no request of " << model << " started running");
}

}  // namespace

TEST_CASE("SIGTERM lets a request in flight finish, refuses new ones, and exits 0", "[integration][shutdown]") {
  ServingTree serving("shutdown_grace_s: 30\n");
  serving.tree.write_model("slow", "echo", "step_delay_ms: 40");
  serving.start();
  auto in_flight = std::async(std::launch::async, [&] { return serving.complete("slow", "abc", 20); });
  wait_until_running(serving, "slow");

  const auto signalled = std::chrono::steady_clock::now();
  serving.process->signal(SIGTERM);
  std::this_thread::sleep_for(100ms);
  // New work is refused: either the connection is refused or the answer is 503.
  try {
    const HttpResponse refused = serving.complete("slow", "xyz", 2);
    CHECK(refused.status == 503);
  } catch (const std::exception&) {
    SUCCEED("connection refused");
  }
  const HttpResponse finished = in_flight.get();
  INFO(finished.body);
  REQUIRE(finished.status == 200);
  CHECK(finished.json().at("choices").at(0).at("text").as_string() == "abcabcabcabcabcabcab");
  const std::optional<int> status = serving.process->wait_exit(15s);
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(std::chrono::steady_clock::now() - signalled < 15s);
}

TEST_CASE("SIGTERM cancels what runs past shutdown_grace_s and exits within grace plus a bound",
          "[integration][shutdown]") {
  ServingTree serving("shutdown_grace_s: 1\n");
  serving.tree.write_model("slow", "echo", "step_delay_ms: 50");
  serving.start();
  // 400 tokens at 50 ms a step: 20 s, far beyond the grace time.
  auto in_flight = std::async(std::launch::async, [&] { return serving.complete("slow", "abc", 400); });
  wait_until_running(serving, "slow");

  const auto signalled = std::chrono::steady_clock::now();
  serving.process->signal(SIGTERM);
  const std::optional<int> status = serving.process->wait_exit(10s);
  const auto took = std::chrono::steady_clock::now() - signalled;
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(took >= 900ms);  // the grace time was given
  CHECK(took < 7s);      // grace + the bound (HTTP drain of 5 s at most)
  const HttpResponse cancelled = in_flight.get();
  const std::string message = openai_error(cancelled, 503, "cancelled");
  CHECK(message.find("slow") != std::string::npos);
  CHECK(serving.process->log().find("cancelled") != std::string::npos);
}
