// ReloadCoordinator's on_applied hook runs after a reload installs its
// configuration and before the reload is published as finished
// (last_report, hence `status`): the host applies the HTTP API keys there, so
// a client that sees the reload finished is already checked against the new
// keys. Regression: the keys were applied after the report was published,
// and under ASan the keys-rotation test got 200 with a revoked key.
#include "sched/sched_test_support.hpp"

#include "host/core/reload_coordinator.h"
#include "host/sched/router.h"

#include <catch2/catch.hpp>

#include <optional>
#include <vector>

using namespace citadel;

TEST_CASE("reload settings are applied before the reload is reported finished", "[sched][reload]") {
  test::SchedulerFixture fixture;
  sched::Router router;
  sched::DeviceArbiters arbiters;
  core::ReloadCoordinator coordinator(
      "unused-citadel.yaml", core::ReloadTargets{*fixture.plugins, *fixture.caches, router, arbiters, fixture.metrics});

  struct Seen {
    uint64_t generation;
    std::optional<uint64_t> published_generation;  // last_report's, when the hook ran
    std::string log_level;
  };
  std::vector<Seen> seen;
  coordinator.set_on_applied([&](const config::Configuration& configuration) {
    const auto report = coordinator.last_report();
    seen.push_back({coordinator.generation(),
                    report ? std::optional<uint64_t>(report->generation) : std::nullopt,
                    configuration.host.log_level});
  });

  for (const char* level : {"info", "debug"}) {
    config::Configuration next;
    next.host.log_level = level;
    const core::ReloadReport report = coordinator.apply(std::move(next), "test");
    REQUIRE(report.ok);
  }
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].generation == 1);
  CHECK_FALSE(seen[0].published_generation.has_value());
  CHECK(seen[0].log_level == "info");
  CHECK(seen[1].generation == 2);
  REQUIRE(seen[1].published_generation.has_value());
  CHECK(*seen[1].published_generation == 1);
  CHECK(seen[1].log_level == "debug");
  CHECK(coordinator.last_report()->generation == 2);
}
