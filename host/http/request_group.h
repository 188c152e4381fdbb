// RequestGroup: the scheduler requests behind one HTTP exchange (n choices of
// a completion, or a single OCR / video / inference request) and the queue
// their events arrive in. Sinks run on scheduler threads and only post; the
// events are consumed by the session coroutine on its strand with next().
//
// Called by the endpoint handlers (completion_endpoint.cpp,
// task_endpoints.cpp). Not thread-safe apart from the sinks.
#pragma once

#include "host/http/post_gate.h"
#include "host/sched/request.h"

#include <boost/asio/any_io_executor.hpp>
#include "host/http/awaitable.h"
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace citadel::http {

// An event with the index of the request (choice) it belongs to.
struct GroupEvent {
  uint32_t index = 0;
  sched::InferenceEvent event;
};

class RequestGroup {
 public:
  RequestGroup(boost::asio::any_io_executor executor, std::shared_ptr<PostGate> gate);
  ~RequestGroup();
  RequestGroup(const RequestGroup&) = delete;
  RequestGroup& operator=(const RequestGroup&) = delete;

  // Submits every request in order. When one is refused, the ones already
  // queued are cancelled and the refusal is returned.
  std::optional<sched::Rejection> submit_all(sched::RequestRouter& router,
                                             std::vector<sched::InferenceRequest> requests);

  // The next event of any request; std::nullopt once every request has
  // delivered its final event.
  boost::asio::awaitable<std::optional<GroupEvent>> next();

  // Cancels every request that has not finished (the client went away).
  // Their final events still arrive through next().
  void cancel_all();

  size_t size() const { return handles_.size(); }
  bool finished() const { return finals_seen_ == handles_.size(); }

 private:
  struct Inbox;
  std::shared_ptr<Inbox> inbox_;
  std::shared_ptr<PostGate> gate_;
  boost::asio::any_io_executor executor_;
  std::vector<std::shared_ptr<sched::RequestHandle>> handles_;
  std::vector<bool> done_;
  size_t finals_seen_ = 0;
};

}  // namespace citadel::http
