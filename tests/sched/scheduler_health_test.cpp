// SchedulerHealth on a fake clock: faulty steps in a row fail the model at
// the limit, a clean step starts the count again, fatal errors fail it at
// once (device-fatal ones flagged), and the heartbeat reports a thread busy
// for longer than the bound as stalled, never an idle one.
#include "host/sched/scheduler_health.h"

#include <catch2/catch.hpp>

using citadel::sched::SchedulerHealth;
using namespace std::chrono_literals;

TEST_CASE("faulty steps in a row fail the model at the limit; a clean step resets the count", "[sched][faults]") {
  SchedulerHealth health(3);
  CHECK_FALSE(health.record_faulty_step("a"));
  CHECK_FALSE(health.record_faulty_step("b"));
  health.record_clean_step();
  CHECK(health.consecutive_faulty_steps() == 0);
  CHECK_FALSE(health.record_faulty_step("c"));
  CHECK_FALSE(health.record_faulty_step("d"));
  CHECK_FALSE(health.failed());
  CHECK(health.record_faulty_step("e: the last"));
  CHECK(health.failed());
  CHECK_FALSE(health.device_fatal());
  CHECK(health.failure() == "3 faulty steps in a row, the last: e: the last");
  CHECK_FALSE(health.record_faulty_step("f"));  // already failed: reported once
  CHECK(health.failure() == "3 faulty steps in a row, the last: e: the last");
}

TEST_CASE("a fatal error fails the model at once; a device-fatal one is flagged", "[sched][faults]") {
  SchedulerHealth health(100);
  CHECK(health.failure().empty());
  CHECK(health.record_fatal("scheduler error: bad_alloc", false));
  CHECK(health.failed());
  CHECK_FALSE(health.device_fatal());
  CHECK_FALSE(health.record_fatal("cudaErrorIllegalAddress", true));  // first failure stays
  CHECK(health.device_fatal());
  CHECK(health.failure() == "scheduler error: bad_alloc");
}

TEST_CASE("the heartbeat calls a thread stalled only when one iteration runs past the bound", "[sched][faults]") {
  SchedulerHealth health(3);
  const SchedulerHealth::Clock::time_point t0{std::chrono::seconds(1000)};
  CHECK_FALSE(health.stalled(t0 + 1h, 1s));  // never busy: idle
  health.mark_busy(t0);
  CHECK_FALSE(health.stalled(t0 + 999ms, 1s));
  CHECK(health.busy_for(t0 + 999ms) == 999ms);
  CHECK(health.stalled(t0 + 1001ms, 1s));
  health.mark_busy(t0 + 2s);  // the next iteration began: ticking again
  CHECK_FALSE(health.stalled(t0 + 2500ms, 1s));
  health.mark_idle();  // waiting for work may last forever
  CHECK_FALSE(health.stalled(t0 + 10h, 1s));
  CHECK(health.busy_for(t0 + 10h) == 0ns);
}
