// The Router: routing by model name, atomic replacement during a stream of
// submissions (no request refused or lost), removal, listing and readiness.
#include "sched/sched_test_support.hpp"

#include "host/sched/router.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace citadel;
using citadel::test::EchoModelSetup;
using citadel::test::EventCollector;
using citadel::test::SchedulerFixture;

TEST_CASE("the router sends requests to the model they name and refuses unknown models", "[sched]") {
  SchedulerFixture fixture;
  sched::Router router;
  CHECK(router.install("alpha", fixture.make_scheduler({.name = "alpha"})) == nullptr);
  CHECK(router.install("beta", fixture.make_scheduler({.name = "beta"})) == nullptr);
  EventCollector collector;
  REQUIRE(router.submit(test::echo_request("beta", "to beta", 7), collector.sink()));
  REQUIRE(collector.wait_final());
  CHECK(collector.text() == "to beta");
  CHECK(router.scheduler("beta")->stats().finished == 1);
  CHECK(router.scheduler("alpha")->stats().finished == 0);

  auto refused = router.submit(test::echo_request("gamma", "x", 1), {});
  CHECK(refused.rejection.reason == sched::RejectReason::unknown_model);
  CHECK(refused.rejection.message.find("gamma") != std::string::npos);

  const auto listings = router.list_models();
  REQUIRE(listings.size() == 2);
  CHECK(listings[0].name == "alpha");
  CHECK(listings[0].plugin == "echo-v1");
  CHECK(listings[0].plugin_version == "1.0.0");
  CHECK(listings[0].task == "text_generation");
  CHECK(listings[0].state == "serving");
  CHECK(listings[0].max_context_tokens == 4096);
}

TEST_CASE("ready() waits for every expected model and a draining one is not ready", "[sched]") {
  SchedulerFixture fixture;
  sched::Router router;
  CHECK(router.ready());  // nothing expected
  router.set_expected_models({"alpha", "beta"});
  CHECK_FALSE(router.ready());
  router.install("alpha", fixture.make_scheduler({.name = "alpha"}));
  CHECK_FALSE(router.ready());
  router.install("beta", fixture.make_scheduler({.name = "beta"}));
  CHECK(router.ready());
  router.scheduler("beta")->drain();
  CHECK_FALSE(router.ready());
  auto removed = router.remove("beta");
  REQUIRE(removed.size() == 1);
  CHECK(router.remove("beta").empty());
  CHECK(router.model_names() == std::vector<std::string>{"alpha"});
}

TEST_CASE("replacing a scheduler during a stream of submissions refuses and loses none", "[sched]") {
  SchedulerFixture fixture;
  sched::Router router;
  EchoModelSetup old_setup{.name = "echo", .options_json = R"({"step_delay_ms": 1})"};
  router.install("echo", fixture.make_scheduler(old_setup));

  std::atomic<bool> submitting{true};
  std::atomic<int> refused{0};
  std::vector<EventCollector> collectors;
  std::thread client([&] {
    while (submitting) {
      EventCollector collector;
      auto submission = router.submit(test::echo_request("echo", "steady", 6), collector.sink());
      if (submission) {
        collectors.push_back(collector);
      } else {
        ++refused;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The new generation lives in its own cache space (a reload gives the new
  // instance its own), so it gets another model-space name here.
  auto replacement = fixture.make_scheduler({.name = "echo-next", .options_json = R"({"step_delay_ms": 1})"});
  auto old_scheduler = router.install("echo", replacement);
  REQUIRE(old_scheduler != nullptr);
  old_scheduler->drain();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  submitting = false;
  client.join();

  CHECK(refused == 0);
  REQUIRE(collectors.size() > 10);
  for (auto& collector : collectors) {
    REQUIRE(collector.wait_final());
    CHECK(collector.final_event().finish_reason == sched::FinishReason::length);
    CHECK(collector.text() == "steady");
  }
  CHECK(old_scheduler->stats().finished > 0);
  CHECK(replacement->stats().finished > 0);
  CHECK(old_scheduler->stats().finished + replacement->stats().finished == collectors.size());
}
