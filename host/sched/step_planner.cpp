#include "host/sched/step_planner.h"

#include <algorithm>

namespace citadel::sched {

void insert_in_priority_order(std::vector<SequencePtr>& sequences, SequencePtr sequence) {
  auto position = std::upper_bound(sequences.begin(), sequences.end(), sequence,
                                   [](const SequencePtr& a, const SequencePtr& b) { return runs_before(*a, *b); });
  sequences.insert(position, std::move(sequence));
}

StepPlan StepPlanner::plan(SchedulerQueues& queues) {
  StepPlan plan;
  uint32_t budget = limits_.max_step_tokens;

  // Running sequences: decodes first so a long prefill cannot starve them,
  // then prefill chunks with what is left of the budget.
  const std::vector<SequencePtr> snapshot = queues.running;
  for (bool decode_pass : {true, false}) {
    for (const SequencePtr& sequence : snapshot) {
      if (sequence->state != SequenceState::running) continue;  // preempted meanwhile
      if ((sequence->remaining_tokens() == 1) != decode_pass) continue;
      if (budget == 0 || plan.items.size() >= limits_.max_batch_requests) break;
      schedule_running(queues, plan, sequence, budget);
    }
  }

  // New work joins only when this step needed no preemption: resumed
  // sequences first, then the queue.
  if (plan.preemptions.empty()) resume_swapped(queues, plan, budget);
  if (plan.preemptions.empty() && queues.swapped.empty()) admit_waiting(queues, plan, budget);

  plan.scheduled_tokens = limits_.max_step_tokens - budget;
  return plan;
}

bool StepPlanner::schedule_running(SchedulerQueues& queues, StepPlan& plan, const SequencePtr& sequence,
                                   uint32_t& budget) {
  const uint32_t new_tokens = std::min(sequence->remaining_tokens(), budget);
  if (new_tokens == 0) return false;
  while (!grow_blocks(space_, *sequence, sequence->computed_tokens + new_tokens)) {
    const SequencePtr victim = queues.running.back();  // lowest priority, latest
    preempt(queues, plan, victim, budget);
    if (victim == sequence) return false;
  }
  plan.items.push_back({sequence, new_tokens});
  budget -= new_tokens;
  return true;
}

void StepPlanner::preempt(SchedulerQueues& queues, StepPlan& plan, const SequencePtr& victim, uint32_t& budget) {
  auto planned = std::find_if(plan.items.begin(), plan.items.end(),
                              [&](const PlannedItem& item) { return item.sequence == victim; });
  if (planned != plan.items.end()) {
    budget += planned->new_tokens;
    plan.items.erase(planned);
  }
  queues.running.erase(std::find(queues.running.begin(), queues.running.end(), victim));
  const PreemptionKind kind = preempt_sequence(space_, *victim, limits_.swap);
  if (kind == PreemptionKind::swap) {
    insert_in_priority_order(queues.swapped, victim);
  } else {
    queues.waiting.push(victim);
  }
  plan.preemptions.emplace_back(victim, kind);
}

void StepPlanner::resume_swapped(SchedulerQueues& queues, StepPlan& plan, uint32_t& budget) {
  while (!queues.swapped.empty() && budget > 0 && queues.running.size() < limits_.max_batch_requests) {
    SequencePtr sequence = queues.swapped.front();
    if (!resume_swapped_sequence(space_, *sequence)) return;  // no room yet
    queues.swapped.erase(queues.swapped.begin());
    insert_in_priority_order(queues.running, sequence);
    const uint32_t new_tokens = std::min(sequence->remaining_tokens(), budget);
    // Back in the running set either way; it steps now if its next block fits.
    if (!grow_blocks(space_, *sequence, sequence->computed_tokens + new_tokens)) return;
    plan.items.push_back({sequence, new_tokens});
    budget -= new_tokens;
  }
}

void StepPlanner::admit_waiting(SchedulerQueues& queues, StepPlan& plan, uint32_t& budget) {
  while (!queues.waiting.empty() && budget > 0 && queues.running.size() < limits_.max_batch_requests) {
    const SequencePtr& sequence = queues.waiting.front();
    const uint32_t published_before = sequence->published_blocks;
    match_prompt_prefix(space_, *sequence);
    const uint32_t new_tokens = std::min(sequence->remaining_tokens(), budget);
    if (!grow_blocks(space_, *sequence, sequence->computed_tokens + new_tokens)) {
      // Give the matched prefix back (it stays cached) and wait for room.
      release_all_blocks(space_, *sequence);
      sequence->computed_tokens = 0;
      sequence->published_blocks = published_before;
      return;
    }
    SequencePtr admitted = queues.waiting.pop_front();
    if (!admitted->admitted_before) {
      admitted->admitted_before = true;
      admitted->cached_prompt_tokens = admitted->computed_tokens;
      plan.first_admissions.push_back(admitted);
    }
    admitted->state = SequenceState::running;
    insert_in_priority_order(queues.running, admitted);
    plan.items.push_back({admitted, new_tokens});
    budget -= new_tokens;
  }
}

}  // namespace citadel::sched
