// ReplicaSet on real echo-plugin schedulers: the prefix keys of a request,
// affinity to the replica that served a prefix, and the overload rule that
// sends a prefixed request to the least loaded replica instead.
#include "host/sched/replica_set.h"
#include "sched/sched_test_support.hpp"

#include <catch2/catch.hpp>

using namespace citadel;
using citadel::test::EchoModelSetup;
using citadel::test::EventCollector;
using citadel::test::SchedulerFixture;

TEST_CASE("prefix keys cover the full 64-byte chunks of the prompt or the messages", "[sched][replicas]") {
  using sched::ReplicaSet;
  CHECK(ReplicaSet::prefix_keys(R"({"prompt":"short"})").empty());
  CHECK(ReplicaSet::prefix_keys("not json").empty());
  const std::string a(130, 'a');
  const auto keys = ReplicaSet::prefix_keys(R"({"prompt":")" + a + R"("})");
  REQUIRE(keys.size() == 2);
  const auto longer = ReplicaSet::prefix_keys(R"({"max_tokens":3,"prompt":")" + a + "tail" + std::string(60, 'z') + R"("})");
  REQUIRE(longer.size() == 3);
  CHECK(longer[0] == keys[0]);
  CHECK(longer[1] == keys[1]);
  const auto other = ReplicaSet::prefix_keys(R"({"prompt":"b)" + a + R"("})");
  CHECK(other[0] != keys[0]);
  const auto chat = ReplicaSet::prefix_keys(R"({"messages":[{"role":"system","content":")" + a + R"("}]})");
  CHECK(chat.size() == 2);
  CHECK(ReplicaSet::prefix_keys(R"({"prompt":")" + std::string(10000, 'x') + R"("})").size() ==
        ReplicaSet::kMaxChunks);
}

TEST_CASE("an overloaded affinity replica passes prefixed requests to the least loaded", "[sched][replicas]") {
  SchedulerFixture fixture;
  std::vector<sched::Replica> replicas;
  for (uint32_t i = 0; i < 2; ++i) {
    replicas.push_back(sched::Replica{
        fixture.make_scheduler({.name = "r" + std::to_string(i), .options_json = R"({"step_delay_ms": 2})"}),
        "cpu", i});
  }
  sched::ReplicaSet set("chat", replicas, fixture.metrics);
  const std::string prefix(100, 'p');

  EventCollector seed;
  REQUIRE(set.submit(citadel::test::echo_request("chat", prefix + "0", 2), seed.sink()));
  REQUIRE(seed.wait_final());
  const std::vector<sched::ReplicaStatus> after_seed = set.status();
  const uint32_t affine = after_seed[0].routed == 1 ? 0 : 1;

  // Long prefixed requests pile up on the affinity replica until it is
  // kAffinitySlack above the other; then the other takes one, and the
  // affinity stays where it was.
  std::vector<EventCollector> running(12);
  for (auto& collector : running) {
    REQUIRE(set.submit(citadel::test::echo_request("chat", prefix + "x", 200), collector.sink()));
  }
  const std::vector<sched::ReplicaStatus> status = set.status();
  const uint64_t on_affine = status[affine].routed - 1, on_other = status[1 - affine].routed;
  CHECK(on_affine + on_other == 12);
  CHECK(on_other >= 3);  // without the overload rule: 0
  CHECK(on_affine > on_other);  // with no affinity: an even split
  for (auto& collector : running) {
    REQUIRE(collector.wait_final(std::chrono::seconds(60)));
    CHECK(collector.final_event().finish_reason == sched::FinishReason::length);
  }
}
