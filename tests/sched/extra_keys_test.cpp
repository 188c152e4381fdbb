// Prefix caching with extra keys: the echo plugin declares content runs
// (prompt bytes standing for other content, as vision tokens stand for an
// image) whose content hashes the host mixes into the block hashes. The same
// content is served from the cache; different content behind the same bytes
// never shares a block (the echo plugin would report the corrupted entries).
#include "sched/sched_test_support.hpp"

#include <catch2/catch.hpp>

using namespace citadel;
using citadel::test::EventCollector;
using citadel::test::SchedulerFixture;

namespace {

// A prompt of 42 bytes whose bytes [8, 32) are one placeholder run standing
// for `content`.
sched::InferenceRequest image_request(const std::string& content) {
  boost::json::object input{{"prompt", "describe" + std::string(24, '#') + " the image"},
                            {"max_tokens", 4}};
  input["content_runs"] = boost::json::array{boost::json::object{{"begin", 8}, {"end", 32}, {"content", content}}};
  sched::InferenceRequest request;
  request.model = "echo";
  request.input_json = boost::json::serialize(input);
  return request;
}

sched::InferenceEvent run(sched::ModelScheduler& scheduler, const std::string& content) {
  EventCollector collector;
  REQUIRE(scheduler.submit(image_request(content), collector.sink()));
  REQUIRE(collector.wait_final());
  const sched::InferenceEvent final_event = collector.final_event();
  INFO(final_event.error_message);
  REQUIRE(final_event.finish_reason == sched::FinishReason::length);
  CHECK(collector.text() == "desc");
  return final_event;
}

}  // namespace

TEST_CASE("the same content behind placeholder tokens shares blocks, different content does not", "[sched]") {
  SchedulerFixture fixture;
  auto scheduler = fixture.make_scheduler({.name = "echo", .options_json = R"({"tokens_per_block": 4})"});
  CHECK(run(*scheduler, "page A pixels").usage.cached_prompt_tokens == 0);
  // The same image: every full prompt block (10 of 4 tokens; the last 2
  // tokens are computed) comes from the cache.
  CHECK(run(*scheduler, "page A pixels").usage.cached_prompt_tokens == 40);
  // Another image with the same placeholder bytes: only the blocks wholly
  // before the run (positions [0, 8)) are shared.
  CHECK(run(*scheduler, "page B pixels").usage.cached_prompt_tokens == 8);
  // And it was cached in its own right.
  CHECK(run(*scheduler, "page B pixels").usage.cached_prompt_tokens == 40);
}

TEST_CASE("a content run outside the prompt is refused with the field named", "[sched]") {
  SchedulerFixture fixture;
  auto scheduler = fixture.make_scheduler({.name = "echo"});
  sched::InferenceRequest request = image_request("x");
  request.input_json = R"({"prompt": "short", "content_runs": [{"begin": 2, "end": 9, "content": "x"}]})";
  EventCollector collector;
  const sched::Submission submission = scheduler->submit(request, collector.sink());
  REQUIRE_FALSE(submission);
  CHECK(submission.rejection.reason == sched::RejectReason::invalid_input);
  CHECK_THAT(submission.rejection.message, Catch::Contains("content_runs[0]"));
}
