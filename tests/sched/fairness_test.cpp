// Cross-model fairness: the DeviceArbiter splits device time by weight,
// measured both with synthetic steps and with two real echo schedulers that
// share one device.
#include "sched/sched_test_support.hpp"

#include "host/sched/device_arbiter.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace citadel;
using citadel::test::EchoModelSetup;
using citadel::test::EventCollector;
using citadel::test::SchedulerFixture;

namespace {

double share_of(const std::vector<sched::DeviceArbiter::Share>& shares, const std::string& model) {
  double total = 0, mine = 0;
  for (const auto& share : shares) {
    total += share.device_seconds;
    if (share.model == model) mine = share.device_seconds;
  }
  return total > 0 ? mine / total : 0;
}

// Runs one always-busy thread per participant for `duration`; each turn
// holds the device for its participant's step length.
void run_backlogged(sched::DeviceArbiter& arbiter,
                    const std::vector<std::pair<sched::DeviceArbiter::ParticipantId, int>>& step_ms,
                    std::chrono::milliseconds duration) {
  std::atomic<bool> running{true};
  std::vector<std::thread> threads;
  for (const auto& [id, step] : step_ms) {
    threads.emplace_back([&, id = id, step = step] {
      while (running) {
        sched::DeviceTurn turn(&arbiter, id);
        std::this_thread::sleep_for(std::chrono::milliseconds(step));
      }
      arbiter.idle(id);
    });
  }
  std::this_thread::sleep_for(duration);
  running = false;
  for (auto& thread : threads) thread.join();
}

}  // namespace

TEST_CASE("backlogged models share the device in proportion to their weights", "[sched]") {
  sched::DeviceArbiter arbiter("cpu");
  const auto light = arbiter.join("light", 1.0);
  const auto heavy = arbiter.join("heavy", 3.0);
  run_backlogged(arbiter, {{light, 2}, {heavy, 2}}, std::chrono::milliseconds(600));
  const auto shares = arbiter.shares();
  CHECK(share_of(shares, "heavy") == Approx(0.75).margin(0.06));
  CHECK(share_of(shares, "light") == Approx(0.25).margin(0.06));
}

TEST_CASE("models with different step lengths still split device time by weight", "[sched]") {
  sched::DeviceArbiter arbiter("cpu");
  const auto slow = arbiter.join("slow-steps", 1.0);
  const auto fast = arbiter.join("fast-steps", 1.0);
  run_backlogged(arbiter, {{slow, 6}, {fast, 1}}, std::chrono::milliseconds(600));
  const auto shares = arbiter.shares();
  CHECK(share_of(shares, "slow-steps") == Approx(0.5).margin(0.08));
  // The fast model took many more (shorter) turns.
  uint64_t slow_turns = 0, fast_turns = 0;
  for (const auto& share : shares) (share.model == "slow-steps" ? slow_turns : fast_turns) = share.turns;
  CHECK(fast_turns > 2 * slow_turns);
}

TEST_CASE("a model back from idling banks only bounded credit", "[sched]") {
  sched::DeviceArbiter arbiter("cpu", std::chrono::milliseconds(20));
  const auto busy = arbiter.join("busy", 1.0);
  const auto idle = arbiter.join("idle", 1.0);
  // "busy" alone uses 300 ms of device time.
  for (int i = 0; i < 30; ++i) {
    arbiter.acquire(busy);
    arbiter.release(busy, std::chrono::milliseconds(10));
  }
  // Now both compete: "idle" may run ahead by at most 20 ms of credit, then
  // they alternate — it does not get 300 ms in a row.
  std::vector<std::string> order;
  std::mutex order_mutex;
  std::atomic<bool> running{true};
  auto worker = [&](sched::DeviceArbiter::ParticipantId id, const std::string& name) {
    for (int i = 0; i < 12; ++i) {
      arbiter.acquire(id);
      {
        std::lock_guard lock(order_mutex);
        order.push_back(name);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      arbiter.release(id, std::chrono::milliseconds(10));
    }
  };
  std::thread a(worker, busy, "busy"), b(worker, idle, "idle");
  a.join();
  b.join();
  // With 10 ms steps, 20 ms of credit (plus the step "busy" ran last, plus
  // rounding) lets "idle" run at most four turns first; without the bound
  // it would run 30 in a row.
  const auto first_busy = std::find(order.begin(), order.end(), "busy") - order.begin();
  CHECK(first_busy <= 4);
}

TEST_CASE("two echo models on one device get device time by their weights", "[sched]") {
  SchedulerFixture fixture;
  auto arbiter = std::make_shared<sched::DeviceArbiter>("cpu");
  EchoModelSetup light{.name = "light", .options_json = R"({"step_delay_ms": 2})"};
  light.scheduler.weight = 1.0;
  EchoModelSetup heavy{.name = "heavy", .options_json = R"({"step_delay_ms": 2})"};
  heavy.scheduler.weight = 3.0;
  auto light_scheduler = fixture.make_scheduler(light, arbiter);
  auto heavy_scheduler = fixture.make_scheduler(heavy, arbiter);
  std::vector<EventCollector> collectors(8);
  for (size_t i = 0; i < collectors.size(); ++i) {
    auto& scheduler = i % 2 == 0 ? light_scheduler : heavy_scheduler;
    sched::InferenceRequest request;
    request.model = scheduler->model();
    request.input_json = test::echo_input("keep the device busy", 100000);
    REQUIRE(scheduler->submit(request, collectors[i].sink()));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto shares = arbiter->shares();
  light_scheduler->stop();
  heavy_scheduler->stop();
  CHECK(share_of(shares, "heavy") == Approx(0.75).margin(0.07));
  const double step_ratio = double(heavy_scheduler->stats().steps) / double(light_scheduler->stats().steps);
  CHECK(step_ratio == Approx(3.0).margin(0.6));
  for (auto& collector : collectors) CHECK(collector.final_event().finish_reason == sched::FinishReason::cancelled);
}
