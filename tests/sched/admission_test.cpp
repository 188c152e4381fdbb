// Admission and lifecycle of requests in one ModelScheduler with the real echo
// plugin: backpressure, deadlines, priorities, invalid and oversized input,
// drain, stop, and a plugin step failure that fails only the batch.
#include "sched/sched_test_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <future>

using namespace citadel;
using citadel::test::EchoModelSetup;
using citadel::test::EventCollector;
using citadel::test::SchedulerFixture;
using citadel::test::echo_output;

namespace {

sched::InferenceRequest request_for(const std::string& prompt, uint32_t max_tokens, int priority = 0) {
  return test::echo_request("echo", prompt, max_tokens, priority);
}

EchoModelSetup slow_single_lane(uint32_t step_delay_ms, uint32_t max_queue = 256) {
  EchoModelSetup setup;
  setup.options_json = R"({"step_delay_ms": )" + std::to_string(step_delay_ms) + "}";
  setup.scheduler.max_batch_requests = 1;
  setup.scheduler.max_queue = max_queue;
  return setup;
}

// The real echo instance, except that step() throws once armed.
class FailingStepInstance : public plugins::ModelInstance {
 public:
  explicit FailingStepInstance(std::shared_ptr<plugins::ModelInstance> real) : real_(std::move(real)) {}
  const config::ModelConfig& config() const override { return real_->config(); }
  const citadel_model_info& info() const override { return real_->info(); }
  const std::string& plugin_name() const override { return real_->plugin_name(); }
  const std::string& plugin_version() const override { return real_->plugin_version(); }
  uint64_t generation() const override { return real_->generation(); }
  std::shared_ptr<cache::CacheSpace> cache_space() const override { return real_->cache_space(); }
  citadel_request_plan open_request(uint64_t id, const std::string& input, std::span<const uint8_t> payload) override {
    return real_->open_request(id, input, payload);
  }
  void step(const citadel_step_batch& batch, std::vector<citadel_step_output>& outputs) override {
    if (armed) throw plugins::PluginCallError(CITADEL_ERR_INTERNAL, "model echo: step: injected failure");
    real_->step(batch, outputs);
  }
  void close_request(uint64_t id) override { real_->close_request(id); }
  std::atomic<bool> armed{false};

 private:
  std::shared_ptr<plugins::ModelInstance> real_;
};

}  // namespace

TEST_CASE("a full queue refuses requests with queue_full and a retry-after", "[sched]") {
  SchedulerFixture fixture;
  auto scheduler = fixture.make_scheduler(slow_single_lane(20, /*max_queue=*/2));
  std::vector<EventCollector> accepted;
  int rejected = 0;
  for (int i = 0; i < 10; ++i) {
    EventCollector collector;
    auto submission = scheduler->submit(request_for("queued", 5), collector.sink());
    if (submission) {
      accepted.push_back(collector);
    } else {
      CHECK(submission.rejection.reason == sched::RejectReason::queue_full);
      CHECK(submission.rejection.retry_after_s >= 1);
      CHECK(submission.rejection.message.find("queue is full") != std::string::npos);
      ++rejected;
    }
  }
  // One runs (batch of one), two wait: at most three accepted.
  CHECK(accepted.size() <= 3);
  CHECK(rejected >= 7);
  for (auto& collector : accepted) {
    REQUIRE(collector.wait_final());
    CHECK(collector.text() == "queue");
  }
}

TEST_CASE("a request past its deadline ends with deadline_exceeded and frees its blocks", "[sched]") {
  SchedulerFixture fixture;
  auto scheduler = fixture.make_scheduler(slow_single_lane(5));
  EventCollector running, queued;
  auto request = request_for("never ending", 5000);
  request.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(80);
  REQUIRE(scheduler->submit(request, running.sink()));
  auto waiting = request_for("behind it", 5);
  waiting.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(40);
  REQUIRE(scheduler->submit(waiting, queued.sink()));

  REQUIRE(queued.wait_final(std::chrono::seconds(2)));
  CHECK(queued.final_event().finish_reason == sched::FinishReason::cancelled);
  CHECK(queued.final_event().error_code == "deadline_exceeded");
  CHECK(queued.text().empty());
  REQUIRE(running.wait_final(std::chrono::seconds(2)));
  CHECK(running.final_event().finish_reason == sched::FinishReason::cancelled);
  CHECK(running.final_event().error_code == "deadline_exceeded");
  CHECK(running.final_event().usage.completion_tokens > 0);
  CHECK(scheduler->instance()->cache_space()->stats().live_blocks == 0);
  CHECK(fixture.metrics.render().find("citadel_requests_total{model=\"echo\",outcome=\"timeout\"} 2") !=
        std::string::npos);
}

TEST_CASE("higher priority requests are admitted before earlier lower priority ones", "[sched]") {
  SchedulerFixture fixture;
  auto arbiter = std::make_shared<sched::DeviceArbiter>("cpu");
  auto scheduler = fixture.make_scheduler(slow_single_lane(3), arbiter);
  test::DeviceGate gate(*arbiter);
  std::mutex order_mutex;
  std::vector<std::string> finish_order;
  auto recorder = [&](const std::string& name, EventCollector& collector) {
    auto inner = collector.sink();
    return [&, name, inner](const sched::InferenceEvent& event) {
      if (event.final) {
        std::lock_guard lock(order_mutex);
        finish_order.push_back(name);
      }
      inner(event);
    };
  };
  EventCollector blocker, low, middle, high;
  REQUIRE(scheduler->submit(request_for("blocker", 10), recorder("blocker", blocker)));
  REQUIRE(blocker.wait_text(1));  // running: the others queue behind it
  gate.close();
  REQUIRE(scheduler->submit(request_for("low", 3, 0), recorder("low", low)));
  REQUIRE(scheduler->submit(request_for("middle", 3, 1), recorder("middle", middle)));
  REQUIRE(scheduler->submit(request_for("high", 3, 5), recorder("high", high)));
  gate.open();
  for (auto* collector : {&blocker, &low, &middle, &high}) REQUIRE(collector->wait_final());
  std::lock_guard lock(order_mutex);
  CHECK(finish_order == std::vector<std::string>{"blocker", "high", "middle", "low"});
}

TEST_CASE("invalid and oversized inputs are refused before queueing", "[sched]") {
  SchedulerFixture fixture;
  EchoModelSetup setup{.name = "echo",
                       .options_json = R"({"tokens_per_block": 4, "bytes_per_token_per_layer": 32768, "max_context_tokens": 64})",
                       .cache_size_mb = 2};
  auto scheduler = fixture.make_scheduler(setup);
  sched::InferenceRequest bad;
  bad.model = "echo";
  bad.input_json = R"({"prompt": 42})";
  auto refused = scheduler->submit(bad, {});
  CHECK_FALSE(refused);
  CHECK(refused.rejection.reason == sched::RejectReason::invalid_input);
  CHECK_FALSE(refused.rejection.message.empty());

  // The context is 64 tokens.
  refused = scheduler->submit(request_for(std::string(64, 'p'), 1), {});
  CHECK(refused.rejection.reason == sched::RejectReason::invalid_input);  // the plugin's own check
  // The cache space holds 8 blocks of 4 tokens: 40 + 10 positions do not fit.
  refused = scheduler->submit(request_for(std::string(40, 'p'), 11), {});
  CHECK(refused.rejection.reason == sched::RejectReason::too_large);
  CHECK(refused.rejection.message.find("cache blocks") != std::string::npos);
  CHECK(scheduler->stats().in_flight == 0);

  EventCollector fits;
  REQUIRE(scheduler->submit(request_for(std::string(20, 'p'), 12), fits.sink()));
  REQUIRE(fits.wait_final());
  CHECK(fits.text() == std::string(12, 'p'));
}

TEST_CASE("drain refuses new requests and returns when in-flight ones are done", "[sched]") {
  SchedulerFixture fixture;
  auto scheduler = fixture.make_scheduler({.name = "echo", .options_json = R"({"step_delay_ms": 2})"});
  std::vector<EventCollector> collectors(3);
  for (auto& collector : collectors) REQUIRE(scheduler->submit(request_for("drain me", 15), collector.sink()));
  auto drained = std::async(std::launch::async, [&] { scheduler->drain(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!scheduler->draining() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  CHECK(scheduler->listing().state == "draining");
  auto refused = scheduler->submit(request_for("late", 3), {});
  CHECK(refused.rejection.reason == sched::RejectReason::draining);
  REQUIRE(drained.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  for (auto& collector : collectors) {
    REQUIRE(collector.finished());
    CHECK(collector.final_event().finish_reason == sched::FinishReason::length);
    CHECK(collector.text() == echo_output("drain me", 15));
  }
}

TEST_CASE("stop cancels queued and running requests and joins the thread", "[sched]") {
  SchedulerFixture fixture;
  auto scheduler = fixture.make_scheduler(slow_single_lane(5));
  EventCollector running, queued;
  REQUIRE(scheduler->submit(request_for("long running", 5000), running.sink()));
  REQUIRE(scheduler->submit(request_for("queued", 5), queued.sink()));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  scheduler->stop();
  for (auto* collector : {&running, &queued}) {
    REQUIRE(collector->finished());
    CHECK(collector->final_event().finish_reason == sched::FinishReason::cancelled);
  }
  CHECK(scheduler->instance()->cache_space()->stats().live_blocks == 0);
  CHECK(scheduler->submit(request_for("after", 3), {}).rejection.reason == sched::RejectReason::draining);
}

TEST_CASE("a plugin step failure fails the batch with error events and the scheduler serves on", "[sched]") {
  SchedulerFixture fixture;
  auto failing = std::make_shared<FailingStepInstance>(
      fixture.make_instance({.name = "echo", .options_json = R"({"step_delay_ms": 2})"}));
  sched::ModelScheduler scheduler(failing, fixture.metrics);
  EventCollector first, second;
  REQUIRE(scheduler.submit(request_for("doomed one", 500), first.sink()));
  REQUIRE(scheduler.submit(request_for("doomed two", 500), second.sink()));
  REQUIRE(first.wait_text(3));
  failing->armed = true;
  for (auto* collector : {&first, &second}) {
    REQUIRE(collector->wait_final());
    const auto final_event = collector->final_event();
    CHECK(final_event.finish_reason == sched::FinishReason::error);
    CHECK(final_event.error_code == "internal");
    CHECK(final_event.error_message.find("injected failure") != std::string::npos);
  }
  CHECK(failing->cache_space()->stats().live_blocks == 0);
  failing->armed = false;
  EventCollector after;
  REQUIRE(scheduler.submit(request_for("fine again", 4), after.sink()));
  REQUIRE(after.wait_final());
  CHECK(after.text() == "fine");
}
