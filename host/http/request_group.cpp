// RequestGroup: submit a set of requests and receive their events in order of
// arrival on the session's strand.
#include "host/http/request_group.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace citadel::http {

namespace net = boost::asio;

// Lives as long as the longest holder: the group or a sink still posting.
// The session's strand executor lives here, not in the sinks: a sink may
// outlive the server's io_context (a scheduler releases it whenever it likes),
// and destroying a strand executor after its io_context is gone locks a
// destroyed mutex (found by TSan).
struct RequestGroup::Inbox {
  explicit Inbox(net::any_io_executor strand) : executor(strand), timer(strand) {}
  net::any_io_executor executor;
  std::deque<GroupEvent> events;  // touched on the strand only
  net::steady_timer timer;        // cancelled to wake next()
};

RequestGroup::RequestGroup(net::any_io_executor executor, std::shared_ptr<PostGate> gate)
    : inbox_(std::make_shared<Inbox>(executor)), gate_(std::move(gate)), executor_(executor) {}

RequestGroup::~RequestGroup() {
  if (!finished()) cancel_all();
}

std::optional<sched::Rejection> RequestGroup::submit_all(sched::RequestRouter& router,
                                                         std::vector<sched::InferenceRequest> requests) {
  for (size_t position = 0; position < requests.size(); ++position) {
    const uint32_t index = static_cast<uint32_t>(handles_.size());
    std::weak_ptr<Inbox> weak_inbox = inbox_;
    std::shared_ptr<PostGate> gate = gate_;
    // The inbox is locked (and its last reference possibly dropped) only
    // while the gate is open, that is while the io_context exists.
    sched::EventSink sink = [weak_inbox, gate, index](const sched::InferenceEvent& event) {
      gate->run_if_open([&] {
        std::shared_ptr<Inbox> inbox = weak_inbox.lock();
        if (!inbox) return;  // the exchange is gone; nothing to deliver to
        net::post(inbox->executor, [inbox, event, index]() mutable {
          inbox->events.push_back(GroupEvent{index, std::move(event)});
          inbox->timer.cancel();
        });
      });
    };
    sched::Submission submission = router.submit(std::move(requests[position]), std::move(sink));
    if (!submission) {
      cancel_all();
      handles_.clear();
      done_.clear();
      finals_seen_ = 0;
      return submission.rejection;
    }
    handles_.push_back(std::move(submission.handle));
    done_.push_back(false);
  }
  return std::nullopt;
}

net::awaitable<std::optional<GroupEvent>> RequestGroup::next() {
  for (;;) {
    if (!inbox_->events.empty()) {
      GroupEvent event = std::move(inbox_->events.front());
      inbox_->events.pop_front();
      if (event.index < done_.size() && event.event.final && !done_[event.index]) {
        done_[event.index] = true;
        ++finals_seen_;
      }
      co_return event;
    }
    if (finished()) co_return std::nullopt;
    inbox_->timer.expires_at(net::steady_timer::time_point::max());
    co_await inbox_->timer.async_wait(net::as_tuple(net::use_awaitable));
  }
}

void RequestGroup::cancel_all() {
  for (size_t index = 0; index < handles_.size(); ++index)
    if (!done_[index] && handles_[index]) handles_[index]->cancel();
}

}  // namespace citadel::http
