// WaitingQueue: the sequences of one model waiting for admission (new ones
// and those preempted by recomputation), in priority order: higher priority
// first, then arrival order. Preempted sequences keep their arrival order, so
// they go back ahead of later arrivals of the same priority.
//
// Used by ModelScheduler's thread only; the bound (max_queue) is enforced at
// submission, not here.
#pragma once

#include "host/sched/sequence.h"

#include <functional>
#include <set>

namespace citadel::sched {

class WaitingQueue {
 public:
  void push(SequencePtr sequence);
  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }
  const SequencePtr& front() const { return *queue_.begin(); }
  SequencePtr pop_front();
  // Removes and returns every sequence for which `matches` is true.
  std::vector<SequencePtr> take_if(const std::function<bool(const Sequence&)>& matches);

 private:
  struct Order {
    bool operator()(const SequencePtr& a, const SequencePtr& b) const { return runs_before(*a, *b); }
  };
  std::set<SequencePtr, Order> queue_;
};

}  // namespace citadel::sched
