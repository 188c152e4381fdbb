#include "host/sched/waiting_queue.h"

namespace citadel::sched {

void WaitingQueue::push(SequencePtr sequence) {
  sequence->state = SequenceState::waiting;
  queue_.insert(std::move(sequence));
}

SequencePtr WaitingQueue::pop_front() {
  auto node = queue_.extract(queue_.begin());
  return std::move(node.value());
}

std::vector<SequencePtr> WaitingQueue::take_if(const std::function<bool(const Sequence&)>& matches) {
  std::vector<SequencePtr> taken;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (matches(**it)) {
      taken.push_back(*it);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

}  // namespace citadel::sched
