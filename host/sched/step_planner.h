// StepPlanner: decides what one step of a model carries (continuous
// batching). Running sequences advance every step — decodes (one token)
// first, then prefill chunks under the token budget — growing their block
// tables; when the cache cannot grant a block, the lowest-priority, latest
// running sequence is preempted (swap, else recompute) until it can. Only in
// a step without preemption are swapped sequences resumed (first) and then
// waiting ones admitted, highest priority first, with a prefix-cache lookup,
// while the batch and token budget have room; admission stops at the first
// request that does not fit (no overtaking within the priority order).
//
// Used by ModelScheduler on its thread; talks to the CacheSpace only through
// sequence_blocks.h.
#pragma once

#include "host/cache/cache_space.h"
#include "host/sched/sequence.h"
#include "host/sched/sequence_blocks.h"
#include "host/sched/waiting_queue.h"

#include <cstdint>
#include <vector>

namespace citadel::sched {

// A model's sequences by state. running is kept in priority order.
struct SchedulerQueues {
  WaitingQueue waiting;
  std::vector<SequencePtr> running;
  std::vector<SequencePtr> swapped;
};

struct StepLimits {
  uint32_t max_batch_requests = 64;  // sequences one step may carry (and may run)
  uint32_t max_step_tokens = 2048;   // tokens one step may process
  bool swap = true;                  // preemption may swap to the host tier (else recomputes)
};

struct PlannedItem {
  SequencePtr sequence;
  uint32_t new_tokens = 0;  // positions [computed, computed + new_tokens)
};

struct StepPlan {
  std::vector<PlannedItem> items;
  std::vector<std::pair<SequencePtr, PreemptionKind>> preemptions;
  std::vector<SequencePtr> first_admissions;  // left the queue for the first time
  uint32_t scheduled_tokens = 0;
};

class StepPlanner {
 public:
  StepPlanner(cache::CacheSpace& space, StepLimits limits) : space_(space), limits_(limits) {}
  const StepLimits& limits() const { return limits_; }

  StepPlan plan(SchedulerQueues& queues);

 private:
  bool schedule_running(SchedulerQueues& queues, StepPlan& plan, const SequencePtr& sequence,
                        uint32_t& budget);
  void preempt(SchedulerQueues& queues, StepPlan& plan, const SequencePtr& victim, uint32_t& budget);
  void resume_swapped(SchedulerQueues& queues, StepPlan& plan, uint32_t& budget);
  void admit_waiting(SchedulerQueues& queues, StepPlan& plan, uint32_t& budget);

  cache::CacheSpace& space_;
  StepLimits limits_;
};

// Inserts into a vector kept in priority order.
void insert_in_priority_order(std::vector<SequencePtr>& sequences, SequencePtr sequence);

}  // namespace citadel::sched
