// Continuous batching with the real echo plugin and a real CPU cache space:
// interleaving, chunked prefill, prefix-cache hits, preemption by swap and by
// recomputation (the echo plugin checks every cached position on every step,
// so a correct output proves the cache data survived), and metrics.
#include "sched/sched_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

using namespace citadel;
using citadel::test::EchoModelSetup;
using citadel::test::EventCollector;
using citadel::test::SchedulerFixture;
using citadel::test::echo_output;

namespace {

// Submits every prompt, waits for all finals and checks each output. With
// `arbiter` (the scheduler's), the test holds the device while it submits,
// so every request is admitted before the first step runs: without that, a
// fast step on a busy machine may finish one request before the next one
// arrives, and requests meant to compete for blocks never meet.
void run_and_check(sched::ModelScheduler& scheduler, const std::vector<std::string>& prompts, uint32_t max_tokens,
                   sched::DeviceArbiter* arbiter = nullptr) {
  std::vector<EventCollector> collectors(prompts.size());
  sched::DeviceArbiter::ParticipantId gate = 0;
  if (arbiter != nullptr) {
    gate = arbiter->join("submitting test", 1.0);
    arbiter->acquire(gate);
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto submission = scheduler.submit(test::echo_request(scheduler.model(), prompts[i], max_tokens), collectors[i].sink());
    REQUIRE(submission);
  }
  if (arbiter != nullptr) {
    arbiter->release(gate, std::chrono::nanoseconds(0));
    arbiter->idle(gate);
    arbiter->leave(gate);
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    REQUIRE(collectors[i].wait_final());
    const auto final_event = collectors[i].final_event();
    INFO("request " << i << ": " << final_event.error_message);
    CHECK(final_event.finish_reason == sched::FinishReason::length);
    CHECK(collectors[i].text() == echo_output(prompts[i], max_tokens));
    CHECK(final_event.usage.prompt_tokens == prompts[i].size());
    CHECK(final_event.usage.completion_tokens == max_tokens);
  }
}

// A short request ("ab", 200 tokens) decoding when a 60-token prompt joins
// it, a step taking 6 tokens, with the echo plugin's `options_json`. Checks
// that the long request finished first and both outputs; returns the
// scheduler's stats once both are done.
sched::ModelSchedulerStats decode_beside_long_prefill(SchedulerFixture& fixture, const std::string& options_json) {
  auto arbiter = std::make_shared<sched::DeviceArbiter>("cpu");
  EchoModelSetup setup{.name = "echo", .options_json = options_json};
  setup.scheduler.max_step_tokens = 6;
  auto scheduler = fixture.make_scheduler(setup, arbiter);
  EventCollector short_request, long_request;
  test::DeviceGate gate(*arbiter);
  REQUIRE(scheduler->submit(test::echo_request("echo", "ab", 200), short_request.sink()));
  REQUIRE(short_request.wait_text(1));
  gate.close();  // the short request is decoding; the long one joins it
  REQUIRE(scheduler->submit(test::echo_request("echo", std::string(60, 'q'), 2), long_request.sink()));
  gate.open();
  REQUIRE(long_request.wait_final());
  CHECK_FALSE(short_request.finished());  // the long prompt did not wait for it
  REQUIRE(short_request.wait_final());
  CHECK(long_request.text() == "qq");
  CHECK(short_request.text() == echo_output("ab", 200));
  return scheduler->stats();
}

}  // namespace

TEST_CASE("several requests interleave in shared steps and each gets its own output", "[sched]") {
  SchedulerFixture fixture;
  auto arbiter = std::make_shared<sched::DeviceArbiter>("cpu");
  auto scheduler = fixture.make_scheduler({.name = "echo", .options_json = R"({"step_delay_ms": 2})"}, arbiter);
  const std::vector<std::string> prompts = {"alpha", "bravo charlie", "delta", "echo foxtrot golf", "hotel", "india"};
  const uint32_t max_tokens = 20;
  std::vector<EventCollector> collectors(prompts.size());
  test::DeviceGate gate(*arbiter);
  gate.close();
  for (size_t i = 0; i < prompts.size(); ++i) {
    REQUIRE(scheduler->submit(test::echo_request("echo", prompts[i], max_tokens), collectors[i].sink()));
  }
  gate.open();
  for (auto& collector : collectors) REQUIRE(collector.wait_final());
  for (size_t i = 0; i < prompts.size(); ++i) {
    CHECK(collectors[i].text() == echo_output(prompts[i], max_tokens));
    CHECK(collectors[i].final_event().finish_reason == sched::FinishReason::length);
  }
  // One request alone needs 20 steps (prefill + 19 decodes); the six run
  // side by side (the first step may carry only the first to arrive).
  const auto stats = scheduler->stats();
  CHECK(stats.steps <= 21);
  CHECK(stats.finished == prompts.size());
  CHECK(fixture.caches->pool("cpu").stats().used_bytes == 0);
}

TEST_CASE("a long prompt is prefilled in chunks under max_step_tokens", "[sched]") {
  SchedulerFixture fixture;
  EchoModelSetup setup;
  setup.scheduler.max_step_tokens = 8;
  auto scheduler = fixture.make_scheduler(setup);
  const std::string prompt(40, 'x');
  EventCollector collector;
  REQUIRE(scheduler->submit(test::echo_request("echo", prompt + "yz", 3), collector.sink()));
  REQUIRE(collector.wait_final());
  CHECK(collector.text() == echo_output(prompt + "yz", 3));
  // 42 prompt tokens in chunks of 8: 6 steps, the last one samples the first
  // token; then 2 decode steps.
  CHECK(scheduler->stats().steps == 8);
}

TEST_CASE("decodes keep running while a long prefill is chunked beside them", "[sched]") {
  SchedulerFixture fixture;
  const sched::ModelSchedulerStats stats = decode_beside_long_prefill(fixture, R"({"step_delay_ms": 1})");
  // The short request decodes in every step (200 steps in all) while the
  // long prompt takes the other 5 tokens of each step's budget of 6.
  CHECK(stats.steps == 200);
}

TEST_CASE("a repeated prompt is served from the prefix cache and reported in usage", "[sched]") {
  SchedulerFixture fixture;
  auto scheduler = fixture.make_scheduler({.name = "echo", .options_json = R"({"tokens_per_block": 4})"});
  const std::string prompt = "the same long prompt";  // 20 tokens: 5 full blocks
  auto run_one = [&](const std::string& text) {
    EventCollector collector;
    REQUIRE(scheduler->submit(test::echo_request("echo", text, 6), collector.sink()));
    REQUIRE(collector.wait_final());
    CHECK(collector.text() == echo_output(text, 6));
    return collector.final_event().usage;
  };
  CHECK(run_one(prompt).cached_prompt_tokens == 0);
  // At least one token is always computed, so the last full block of a
  // block-aligned prompt is not taken from the cache: 4 of 5 blocks.
  auto usage = run_one(prompt);
  CHECK(usage.cached_prompt_tokens == 16);
  CHECK(usage.prompt_tokens == 20);
  // A prompt sharing only the first 8 tokens hits 2 blocks.
  CHECK(run_one("the same other words").cached_prompt_tokens == 8);
  CHECK(fixture.caches->pool("cpu").stats().spaces.at(0).stats.prefix_hits >= 6);
}

namespace {

// Four requests of 8 + 16 tokens on a space of 8 blocks of 4 tokens (4 x 2
// layers x 32 KiB = 256 KiB each, 2 MiB in all): each needs 6 blocks by its
// end, so they preempt one another.
struct TinyCacheRun {
  sched::ModelSchedulerStats scheduler;
  cache::CacheSpaceStats space;  // after the requests, before the space goes
};

TinyCacheRun run_on_tiny_cache(SchedulerFixture& fixture, bool no_swap = false) {
  EchoModelSetup setup{.name = "echo",
                       .options_json = no_swap ? R"({"tokens_per_block": 4, "bytes_per_token_per_layer": 32768, "no_swap": true})"
                                               : R"({"tokens_per_block": 4, "bytes_per_token_per_layer": 32768})",
                       .cache_size_mb = 2};
  auto arbiter = std::make_shared<sched::DeviceArbiter>("cpu");
  auto scheduler = fixture.make_scheduler(setup, arbiter);
  run_and_check(*scheduler, {"abcdefgh", "ijklmnop", "qrstuvwx", "yz012345"}, 16, arbiter.get());
  return {scheduler->stats(), scheduler->instance()->cache_space()->stats()};
}

}  // namespace

TEST_CASE("a tiny cache without swap space preempts by recomputation and outputs stay correct", "[sched]") {
  SchedulerFixture fixture(/*swap_space_gb=*/0.0);
  const auto run = run_on_tiny_cache(fixture);
  CHECK(run.scheduler.preemptions_recompute > 0);
  CHECK(run.scheduler.preemptions_swap == 0);
  CHECK(run.space.live_blocks == 0);
  CHECK(fixture.metrics.render().find("citadel_preemptions_total{kind=\"recompute\",model=\"echo\"}") !=
        std::string::npos);
}

TEST_CASE("a tiny cache with swap space preempts by swapping and outputs stay correct", "[sched]") {
  SchedulerFixture fixture(/*swap_space_gb=*/0.05);
  const auto run = run_on_tiny_cache(fixture);
  CHECK(run.scheduler.preemptions_swap > 0);
  CHECK(run.space.swaps_out > 0);
  CHECK(run.space.swaps_in == run.space.swaps_out);
  CHECK(run.space.swapped_bytes == 0);
  CHECK(run.space.live_blocks == 0);
}

TEST_CASE("a model whose cache may not be swapped (CITADEL_CACHE_NO_SWAP) is recomputed despite swap space",
          "[sched]") {
  SchedulerFixture fixture(/*swap_space_gb=*/0.05);
  const auto run = run_on_tiny_cache(fixture, /*no_swap=*/true);
  CHECK(run.scheduler.preemptions_recompute > 0);
  CHECK(run.scheduler.preemptions_swap == 0);
  CHECK(run.space.swaps_out == 0);
  CHECK(run.space.live_blocks == 0);
}

TEST_CASE("cancelling a running request frees its blocks at once and sends a cancelled final", "[sched]") {
  SchedulerFixture fixture;
  auto scheduler = fixture.make_scheduler({.name = "echo", .options_json = R"({"step_delay_ms": 3})"});
  EventCollector collector;
  auto submission = scheduler->submit(test::echo_request("echo", "a prompt that keeps going", 2000), collector.sink());
  REQUIRE(submission);
  auto space = scheduler->instance()->cache_space();
  REQUIRE(collector.wait_text(5));
  CHECK(space->stats().live_blocks > 0);
  submission.handle->cancel();
  REQUIRE(collector.wait_final(std::chrono::seconds(2)));
  const auto final_event = collector.final_event();
  CHECK(final_event.finish_reason == sched::FinishReason::cancelled);
  CHECK(final_event.error_code.empty());
  CHECK(final_event.usage.completion_tokens < 2000);
  CHECK(space->stats().live_blocks == 0);
  CHECK(fixture.metrics.render().find("citadel_requests_total{model=\"echo\",outcome=\"cancelled\"} 1") !=
        std::string::npos);
}

TEST_CASE("scheduler metrics count requests, tokens and latencies", "[sched]") {
  SchedulerFixture fixture;
  auto scheduler = fixture.make_scheduler({});
  run_and_check(*scheduler, {"one", "three"}, 5);
  const std::string text = fixture.metrics.render();
  CHECK(text.find("citadel_requests_total{model=\"echo\",outcome=\"length\"} 2\n") != std::string::npos);
  CHECK(text.find("citadel_prompt_tokens_total{model=\"echo\"} 8\n") != std::string::npos);
  CHECK(text.find("citadel_generation_tokens_total{model=\"echo\"} 10\n") != std::string::npos);
  CHECK(text.find("citadel_time_to_first_token_seconds_count{model=\"echo\"} 2\n") != std::string::npos);
  CHECK(text.find("citadel_inter_token_latency_seconds_count{model=\"echo\"} 8\n") != std::string::npos);
  CHECK(text.find("citadel_request_duration_seconds_count{model=\"echo\"} 2\n") != std::string::npos);
  CHECK(text.find("citadel_queue_depth{model=\"echo\"} 0\n") != std::string::npos);
  CHECK(text.find("citadel_running_requests{model=\"echo\"} 0\n") != std::string::npos);
}

TEST_CASE("the scheduler's own share of a step leaves out the plugin's step", "[sched]") {
  SchedulerFixture fixture;
  auto scheduler = fixture.make_scheduler({.options_json = R"({"step_delay_ms": 20})"});
  run_and_check(*scheduler, {"one", "three"}, 4);
  // The last step's host share is observed after its final events go out:
  // join the scheduler thread before reading it.
  scheduler->stop();
  auto& host = fixture.metrics.histogram("citadel_step_host_seconds", "", {}, {{"model", "echo"}});
  auto& step = fixture.metrics.histogram("citadel_step_duration_seconds", "", {}, {{"model", "echo"}});
  const auto host_seconds = host.snapshot(), step_seconds = step.snapshot();
  CHECK(host_seconds.count == scheduler->stats().steps);
  CHECK(host_seconds.count == step_seconds.count);
  CHECK(host_seconds.sum > 0);
  // Every plugin step sleeps 20 ms; the scheduler's part is microseconds.
  CHECK(step_seconds.sum >= 0.02 * double(step_seconds.count));
  CHECK(host_seconds.sum < 0.25 * step_seconds.sum);
  CHECK(fixture.metrics.render().find("citadel_step_host_seconds_bucket{model=\"echo\",le=\"5e-06\"}") !=
        std::string::npos);
}

TEST_CASE("an item the plugin defers is stepped again and the others do not wait for it", "[sched]") {
  SchedulerFixture fixture;
  SECTION("one request: each deferred step is a step more, the output unchanged") {
    EchoModelSetup setup{.name = "echo", .options_json = R"({"defer_first_steps": 2})"};
    setup.scheduler.max_step_tokens = 8;
    auto scheduler = fixture.make_scheduler(setup);
    const std::string prompt = std::string(40, 'x') + "yz";
    EventCollector collector;
    REQUIRE(scheduler->submit(test::echo_request("echo", prompt, 3), collector.sink()));
    REQUIRE(collector.wait_final());
    CHECK(collector.text() == echo_output(prompt, 3));
    CHECK(collector.final_event().finish_reason == sched::FinishReason::length);
    // 42 prompt tokens in chunks of 8 (6 steps) and 2 decodes, after 2 deferred steps.
    CHECK(scheduler->stats().steps == 10);
    CHECK(scheduler->stats().deferred_items == 2);
    CHECK(fixture.metrics.render().find("citadel_step_deferred_items_total{model=\"echo\"} 2") != std::string::npos);
  }
  SECTION("a decoding request keeps decoding beside a deferred prefill") {
    const sched::ModelSchedulerStats stats =
        decode_beside_long_prefill(fixture, R"({"step_delay_ms": 1, "defer_first_steps": 3})");
    // The short request's 200 steps, after its own 3 deferred ones (alone);
    // the long prompt's 3 deferrals fall in steps the short one decodes in.
    CHECK(stats.steps == 203);
    CHECK(stats.deferred_items == 6);
  }
}
