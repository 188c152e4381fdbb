// A request's event sink may outlive the HTTP server's io_context: the
// scheduler holding it releases it whenever it finishes with the request.
// Regression (found by TSan in the HTTP tests, a use-after-free of the strand
// service's mutex under ASan): the sink held the session's strand executor, so
// destroying it after the io_context locked a destroyed mutex. Now the
// executor lives in the group's inbox, which a sink touches only while the
// server's PostGate is open.
#include "host/http/post_gate.h"
#include "host/http/request_group.h"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <optional>
#include <vector>

using namespace citadel;

namespace {

class HeldHandle : public sched::RequestHandle {
 public:
  uint64_t id() const override { return 1; }
  void cancel() override {}
};

// Accepts every request and keeps its sink, as a busy scheduler does.
class HoldingRouter : public sched::RequestRouter {
 public:
  sched::Submission submit(sched::InferenceRequest, sched::EventSink sink) override {
    sinks.push_back(std::move(sink));
    sched::Submission submission;
    submission.handle = std::make_shared<HeldHandle>();
    return submission;
  }
  std::vector<sched::ModelListing> list_models() const override { return {}; }
  bool ready() const override { return true; }

  std::vector<sched::EventSink> sinks;
};

}  // namespace

TEST_CASE("event sinks may outlive the server's io_context", "[http]") {
  HoldingRouter router;
  auto gate = std::make_shared<http::PostGate>();
  {
    boost::asio::io_context io;
    auto group = std::make_unique<http::RequestGroup>(boost::asio::make_strand(io), gate);
    std::vector<sched::InferenceRequest> requests(2);
    REQUIRE_FALSE(group->submit_all(router, std::move(requests)).has_value());
    REQUIRE(router.sinks.size() == 2);
    sched::InferenceEvent event;
    event.text = "x";
    router.sinks[0](event);  // delivered to the strand's queue while the server runs
    group.reset();
    gate->close();  // HttpServer::stop() closes the gate before the io_context goes
  }
  sched::InferenceEvent late;
  late.final = true;
  router.sinks[1](late);  // after the server: dropped, touches nothing
  router.sinks.clear();   // destroys the sinks after the io_context
  SUCCEED("no sanitizer report");
}
