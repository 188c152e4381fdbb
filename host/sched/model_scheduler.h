// ModelScheduler: serves one model instance. Owns a bounded priority queue
// and one thread that runs continuous batching over the instance's plugin
// (StepPlanner decides each step), turns step outputs into InferenceEvents,
// handles cancellation, deadlines and preemption, takes turns on the device
// through a DeviceArbiter, and writes the scheduler metrics. Plugin faults
// (a failed step, an output that breaks the ABI) fail only the requests
// involved; repeated or fatal ones put the model into the failed state
// (SchedulerHealth): every request is failed, new ones are refused with
// model_failed until a reload replaces the scheduler.
//
// Created by the reload path (host/core) per instance and installed in the
// Router; submit() is called from front-end threads (through the Router).
// Thread-safe. Events are delivered on the scheduler thread, one final event
// per accepted request, after any text events; the final event carries no
// text of its own.
#pragma once

#include "host/metrics/registry.h"
#include "host/plugins/model_instance.h"
#include "host/sched/device_arbiter.h"
#include "host/sched/request.h"
#include "host/sched/scheduler_health.h"
#include "host/sched/scheduler_metrics.h"
#include "host/sched/sequence.h"
#include "host/sched/step_planner.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace citadel::sched {

struct ModelSchedulerStats {
  uint32_t queued = 0;   // waiting for admission (incl. preempted for recompute)
  uint32_t running = 0;  // admitted, holding blocks
  uint32_t swapped = 0;  // preempted, blocks in the host tier
  uint64_t in_flight = 0;  // accepted and not yet finished
  uint64_t steps = 0;
  uint64_t deferred_items = 0;  // step items the plugin deferred (plugin.h)
  uint64_t preemptions_swap = 0;
  uint64_t preemptions_recompute = 0;
  uint64_t finished = 0;
  StepLimits limits;
};

class ModelScheduler {
 public:
  // Starts the scheduler thread. The instance must have its cache space
  // attached. `arbiter` (may be null) is the device's; the model joins it
  // with its scheduler.weight. `registry` must outlive the scheduler.
  ModelScheduler(std::shared_ptr<plugins::ModelInstance> instance, metrics::Registry& registry,
                 std::shared_ptr<DeviceArbiter> arbiter = nullptr);
  ~ModelScheduler();  // stop()
  ModelScheduler(const ModelScheduler&) = delete;
  ModelScheduler& operator=(const ModelScheduler&) = delete;

  // Opens the request with the plugin (parsing and planning it) and queues
  // it, or refuses it: draining (drain/stop called), queue_full (max_queue
  // waiting; retry_after_s estimated from recent request durations),
  // invalid_input (the plugin refused the input), too_large (prompt or
  // prompt + max tokens exceed the context or the whole cache space).
  Submission submit(InferenceRequest request, EventSink sink);

  // The plugin's tokenizer operations, between steps (RequestRouter::tokenize).
  TokenizerReply tokenize(const std::string& input_json);
  TokenizerReply detokenize(const std::vector<int32_t>& tokens);

  // Stops admitting (new submissions are refused with `draining`) and
  // returns when every accepted request has sent its final event.
  void drain();
  // Cancels what is left (final events with finish_reason cancelled) and
  // joins the thread. Idempotent.
  void stop();

  bool draining() const { return draining_.load(); }
  // Drains like drain() but for at most `timeout`; true when everything
  // accepted has finished.
  bool drain_for(std::chrono::nanoseconds timeout);
  // The fault record and heartbeat (failed(), device_fatal(), stalled()).
  const SchedulerHealth& health() const { return health_; }
  const std::string& model() const;
  ModelListing listing() const;
  ModelSchedulerStats stats() const;
  const std::shared_ptr<plugins::ModelInstance>& instance() const { return instance_; }

 private:
  struct Shared;  // state shared with request handles
  struct StepResult;

  void run();
  void take_incoming();
  void expire_and_cancel();
  // `iteration_started`: when run_iteration began (the step's host time is
  // measured from there, less the plugin's step and the wait for the device).
  void execute(const StepPlan& plan, Clock::time_point iteration_started);
  // Returns the ABI violation of the output, if any (the request is failed).
  // `violation`: output_violation() of the result, computed before any
  // result of the step was applied (the request is failed with it).
  void apply_result(const PlannedItem& item, const StepResult& result, const std::string& violation);
  std::string output_violation(const PlannedItem& item, const StepResult& result) const;
  // Counts a fault; returns true when it put the model into the failed state
  // (the caller then finishes the step's requests and calls fail_everything).
  bool record_step_fault(const std::string& kind, const std::string& what, bool fatal, bool device);
  void fail_everything();
  bool run_iteration();  // one pass of the thread's loop; true when a step ran
  void finish(const SequencePtr& sequence, FinishReason reason, const std::string& outcome,
              const std::string& error_code = {}, const std::string& error_message = {});
  void remove_from_queues(const SequencePtr& sequence);
  void deliver(const Sequence& sequence, const InferenceEvent& event);
  void wait_for_work(bool has_sequences);
  void report_levels();
  Submission reject(RejectReason reason, std::string message, uint32_t retry_after_s = 0);
  uint32_t retry_after_seconds() const;
  uint64_t capacity_blocks() const;
  bool has_sequences() const;

  std::shared_ptr<plugins::ModelInstance> instance_;
  std::shared_ptr<cache::CacheSpace> space_;
  std::shared_ptr<DeviceArbiter> arbiter_;
  DeviceArbiter::ParticipantId arbiter_id_ = 0;
  SchedulerMetrics metrics_;
  SchedulerHealth health_;
  StepPlanner planner_;
  uint32_t max_queue_;
  std::chrono::seconds default_timeout_;

  std::mutex instance_mutex_;  // one plugin call at a time; guards output pointers
  std::shared_ptr<Shared> shared_;
  std::atomic<bool> draining_{false};
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<uint32_t> waiting_count_{0};
  std::atomic<uint32_t> running_count_{0};
  std::atomic<uint32_t> swapped_count_{0};
  std::atomic<uint64_t> steps_{0};
  std::atomic<uint64_t> deferred_items_{0};
  std::atomic<uint64_t> preemptions_swap_{0};
  std::atomic<uint64_t> preemptions_recompute_{0};
  std::atomic<uint64_t> finished_{0};
  std::atomic<double> average_duration_s_{1.0};
  std::mutex drain_mutex_;
  std::condition_variable drained_;

  // Scheduler-thread state.
  SchedulerQueues queues_;
  uint64_t next_arrival_order_ = 0;

  std::once_flag stop_once_;
  std::thread thread_;
};

}  // namespace citadel::sched
