#include "host/sched/model_scheduler.h"

#include "host/cache/prefix_hash.h"
#include "host/plugins/plugin_model_instance.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace citadel::sched {

namespace {

std::atomic<uint64_t> next_request_id{1};

// How long the thread waits before retrying when sequences wait for cache
// room that another model or a swap-in has to give back.
constexpr auto kRoomRetryInterval = std::chrono::milliseconds(5);

StepLimits limits_for(const plugins::ModelInstance& instance) {
  const config::SchedulerSettings& settings = instance.config().scheduler;
  const citadel_model_info& info = instance.info();
  StepLimits limits;
  uint32_t batch = settings.max_batch_requests > 0 ? settings.max_batch_requests : info.max_batch_requests;
  if (info.max_batch_requests > 0) batch = std::min(batch, info.max_batch_requests);
  limits.max_batch_requests = batch > 0 ? batch : 64;
  uint32_t tokens = settings.max_step_tokens > 0 ? settings.max_step_tokens : info.max_step_tokens;
  if (info.max_step_tokens > 0) tokens = std::min(tokens, info.max_step_tokens);
  limits.max_step_tokens = tokens > 0 ? tokens : 2048;
  limits.swap = !CITADEL_HAS_MEMBER(&info, citadel_model_info, cache_flags) ||
                (info.cache_flags & CITADEL_CACHE_NO_SWAP) == 0;
  return limits;
}

}  // namespace

// What request handles and submitters share with the scheduler thread.
struct ModelScheduler::Shared {
  std::mutex mutex;
  std::condition_variable wakeup;
  std::vector<SequencePtr> incoming;  // accepted, not yet seen by the thread
  uint32_t reserved = 0;              // submissions being opened with the plugin
  uint64_t next_arrival_order = 0;
  bool stopping = false;
  bool poked = false;  // a handle was cancelled

  void poke() {
    {
      std::lock_guard lock(mutex);
      poked = true;
    }
    wakeup.notify_all();
  }
};

namespace {

class SchedulerRequestHandle : public RequestHandle {
 public:
  SchedulerRequestHandle(uint64_t id, std::shared_ptr<CancelFlag> flag,
                         std::function<void()> poke)
      : id_(id), flag_(std::move(flag)), poke_(std::move(poke)) {}
  uint64_t id() const override { return id_; }
  void cancel() override {
    flag_->requested = true;
    poke_();
  }

 private:
  uint64_t id_;
  std::shared_ptr<CancelFlag> flag_;
  std::function<void()> poke_;
};

}  // namespace

ModelScheduler::ModelScheduler(std::shared_ptr<plugins::ModelInstance> instance,
                               metrics::Registry& registry, std::shared_ptr<DeviceArbiter> arbiter)
    : instance_(std::move(instance)),
      space_(instance_->cache_space()),
      arbiter_(std::move(arbiter)),
      metrics_(registry, instance_->config().name),
      health_(instance_->config().scheduler.max_step_failures),
      planner_((space_ ? *space_ : throw std::runtime_error("model " + instance_->config().name +
                                                               ": no cache space attached")),
               limits_for(*instance_)),
      max_queue_(std::max<uint32_t>(1, instance_->config().scheduler.max_queue)),
      default_timeout_(instance_->config().scheduler.request_timeout_s),
      shared_(std::make_shared<Shared>()) {
  if (arbiter_) arbiter_id_ = arbiter_->join(model(), instance_->config().scheduler.weight);
  metrics_.set_failed(false);  // the series exists (0) while the model is healthy
  thread_ = std::thread([this] { run(); });
}

ModelScheduler::~ModelScheduler() {
  stop();
  metrics_.set_failed(false);  // a replaced failed model no longer counts
}

const std::string& ModelScheduler::model() const { return instance_->config().name; }

// --- Submission ---------------------------------------------------------------

Submission ModelScheduler::reject(RejectReason reason, std::string message, uint32_t retry_after_s) {
  metrics_.count_outcome("rejected");
  Submission submission;
  submission.rejection = Rejection{reason, std::move(message), retry_after_s};
  return submission;
}

uint32_t ModelScheduler::retry_after_seconds() const {
  const double queued = waiting_count_.load() + 1.0;
  const double estimate =
      average_duration_s_.load() * queued / std::max<uint32_t>(1, planner_.limits().max_batch_requests);
  return static_cast<uint32_t>(std::clamp(std::ceil(estimate), 1.0, 60.0));
}

uint64_t ModelScheduler::capacity_blocks() const {
  const uint64_t block_bytes = space_->geometry().block_bytes;
  if (block_bytes == 0) return 0;
  return space_->stats().budget_bytes / block_bytes;
}

Submission ModelScheduler::submit(InferenceRequest request, EventSink sink) {
  const Clock::time_point arrival = Clock::now();
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->stopping || draining_) {
      return reject(RejectReason::draining, "model " + model() + " is draining and accepts no new requests");
    }
    if (health_.failed()) {
      return reject(RejectReason::model_failed, "model " + model() + " has failed (" + health_.failure() +
                                                    "); reload it to serve again");
    }
    const uint64_t queued = waiting_count_.load() + shared_->incoming.size() + shared_->reserved;
    if (queued >= max_queue_) {
      return reject(RejectReason::queue_full,
                    "model " + model() + ": queue is full (" + std::to_string(max_queue_) +
                        " requests waiting)",
                    retry_after_seconds());
    }
    ++shared_->reserved;
    ++in_flight_;
  }
  auto end_in_flight = [&] {
    {
      std::lock_guard lock(drain_mutex_);
      --in_flight_;
    }
    drained_.notify_all();
  };
  auto give_back_reservation = [&] {
    {
      std::lock_guard lock(shared_->mutex);
      --shared_->reserved;
    }
    end_in_flight();
  };

  auto sequence = std::make_shared<Sequence>();
  sequence->id = next_request_id++;
  citadel_request_plan plan{};
  std::vector<int32_t> prompt_token_ids;
  std::vector<cache::PrefixExtraKey> extra_keys;
  try {
    std::lock_guard lock(instance_mutex_);
    plan = instance_->open_request(sequence->id, request.input_json, request.payload);
    if (plan.prompt_token_ids != nullptr) {
      prompt_token_ids.assign(plan.prompt_token_ids, plan.prompt_token_ids + plan.prompt_tokens);
    }
    for (uint32_t k = 0; k < plan.num_extra_keys && plan.extra_keys != nullptr; ++k) {
      const citadel_prefix_extra_key& key = plan.extra_keys[k];
      extra_keys.push_back({key.begin, key.end, key.hash_low, key.hash_high});
    }
  } catch (const std::exception& e) {
    give_back_reservation();
    return reject(RejectReason::invalid_input, e.what());
  }

  auto refuse_opened = [&](RejectReason reason, std::string message, bool holds_reservation = true) {
    {
      std::lock_guard lock(instance_mutex_);
      instance_->close_request(sequence->id);
    }
    holds_reservation ? give_back_reservation() : end_in_flight();
    return reject(reason, std::move(message));
  };
  const citadel_model_info& info = instance_->info();
  if (plan.prompt_tokens == 0) {
    return refuse_opened(RejectReason::invalid_input, "model " + model() + ": the input has no prompt tokens");
  }
  if (info.max_context_tokens > 0 && plan.prompt_tokens >= info.max_context_tokens) {
    return refuse_opened(RejectReason::too_large,
                         "model " + model() + ": prompt of " + std::to_string(plan.prompt_tokens) +
                             " tokens does not fit the context of " +
                             std::to_string(info.max_context_tokens) + " tokens");
  }
  // The last generated token is never processed, so it needs no cache entry.
  const uint32_t cached_positions = plan.prompt_tokens + std::max<uint32_t>(plan.max_new_tokens, 1) - 1;
  const uint64_t needed_blocks = blocks_for(cached_positions, space_->geometry().tokens_per_block);
  const uint64_t capacity = capacity_blocks();
  if (capacity > 0 && needed_blocks > capacity) {
    return refuse_opened(RejectReason::too_large,
                         "model " + model() + ": request needs " + std::to_string(needed_blocks) +
                             " cache blocks (prompt " + std::to_string(plan.prompt_tokens) +
                             " + max " + std::to_string(plan.max_new_tokens) +
                             " new tokens), the model's cache space holds " + std::to_string(capacity));
  }

  sequence->priority = request.priority;
  sequence->arrival = arrival;
  if (request.deadline) {
    sequence->deadline = *request.deadline;
  } else if (default_timeout_.count() > 0) {
    sequence->deadline = arrival + default_timeout_;
  } else {
    sequence->deadline = Clock::time_point::max();
  }
  sequence->sink = std::move(sink);
  sequence->prompt_tokens = plan.prompt_tokens;
  sequence->max_new_tokens = plan.max_new_tokens;
  sequence->known_tokens = plan.prompt_tokens;
  sequence->compute_whole_prompt = (plan.flags & CITADEL_PLAN_COMPUTE_WHOLE_PROMPT) != 0;
  if (!prompt_token_ids.empty()) {
    try {
      sequence->prompt_hashes = cache::hash_prompt_blocks(
          prompt_token_ids, space_->geometry().tokens_per_block, cache::kRootPrefixHash, extra_keys);
    } catch (const std::invalid_argument& e) {
      return refuse_opened(RejectReason::invalid_input,
                           "model " + model() + ": the plugin's request plan is inconsistent: " + e.what());
    }
  }

  bool stopping = false;
  {
    std::lock_guard lock(shared_->mutex);
    --shared_->reserved;
    stopping = shared_->stopping;
    if (!stopping) {
      sequence->arrival_order = shared_->next_arrival_order++;
      shared_->incoming.push_back(sequence);
    }
  }
  if (stopping) {
    // stop() came while the plugin opened the request: the thread is gone.
    return refuse_opened(RejectReason::draining, "model " + model() + " is stopping and accepts no new requests",
                         /*holds_reservation=*/false);
  }
  shared_->wakeup.notify_all();
  std::weak_ptr<Shared> weak = shared_;
  Submission submission;
  submission.handle = std::make_shared<SchedulerRequestHandle>(sequence->id, sequence->cancel, [weak] {
    if (auto shared = weak.lock()) shared->poke();
  });
  return submission;
}

// --- Drain and stop -------------------------------------------------------------

void ModelScheduler::drain() {
  {
    std::lock_guard lock(shared_->mutex);
    draining_ = true;
  }
  std::unique_lock lock(drain_mutex_);
  drained_.wait(lock, [&] { return in_flight_.load() == 0; });
}

bool ModelScheduler::drain_for(std::chrono::nanoseconds timeout) {
  {
    std::lock_guard lock(shared_->mutex);
    draining_ = true;
  }
  std::unique_lock lock(drain_mutex_);
  return drained_.wait_for(lock, timeout, [&] { return in_flight_.load() == 0; });
}

void ModelScheduler::stop() {
  std::call_once(stop_once_, [&] {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->stopping = true;
      draining_ = true;
    }
    shared_->wakeup.notify_all();
    if (thread_.joinable()) thread_.join();
    if (arbiter_) arbiter_->leave(arbiter_id_);
  });
}

// --- The scheduler thread -----------------------------------------------------

bool ModelScheduler::has_sequences() const {
  return !queues_.waiting.empty() || !queues_.running.empty() || !queues_.swapped.empty();
}

bool ModelScheduler::run_iteration() {
  const Clock::time_point started = Clock::now();
  expire_and_cancel();
  if (!has_sequences()) return false;
  StepPlan plan = planner_.plan(queues_);
  for (const auto& [sequence, kind] : plan.preemptions) {
    metrics_.count_preemption(kind);
    ++(kind == PreemptionKind::swap ? preemptions_swap_ : preemptions_recompute_);
  }
  for (const SequencePtr& sequence : plan.first_admissions) {
    metrics_.count_prompt_tokens(sequence->prompt_tokens);
  }
  if (plan.items.empty()) return false;
  execute(plan, started);
  return true;
}

void ModelScheduler::run() {
  for (;;) {
    take_incoming();
    {
      std::lock_guard lock(shared_->mutex);
      if (shared_->stopping) break;
    }
    health_.mark_busy(Clock::now());
    bool progressed = false;
    // Nothing thrown here may end the thread (std::terminate): an error of
    // the scheduler itself (std::bad_alloc included) fails the model instead.
    try {
      if (health_.failed()) {
        fail_everything();  // submissions that raced with the failure
      } else {
        progressed = run_iteration();
      }
    } catch (const std::exception& e) {
      record_step_fault("scheduler_error", std::string("scheduler error: ") + e.what(), true, false);
    } catch (...) {
      record_step_fault("scheduler_error", "scheduler error: an unknown exception", true, false);
    }
    if (health_.failed() && has_sequences()) {
      try {
        fail_everything();
      } catch (const std::exception& e) {
        spdlog::error("model {}: failing its requests: {}", model(), e.what());
      }
    }
    report_levels();
    if (!progressed) {
      health_.mark_idle();
      if (arbiter_) arbiter_->idle(arbiter_id_);  // others need not wait for us
      wait_for_work(has_sequences());
    }
  }
  health_.mark_idle();

  // Stopping: everything still here is cancelled.
  take_incoming();
  std::vector<SequencePtr> left = queues_.running;
  left.insert(left.end(), queues_.swapped.begin(), queues_.swapped.end());
  for (SequencePtr& sequence : queues_.waiting.take_if([](const Sequence&) { return true; })) {
    left.push_back(std::move(sequence));
  }
  for (const SequencePtr& sequence : left) {
    finish(sequence, FinishReason::cancelled, "cancelled", "", "model " + model() + " was stopped");
  }
  report_levels();
}

void ModelScheduler::take_incoming() {
  std::vector<SequencePtr> arrived;
  {
    // The count moves with the requests, under the lock submit() counts
    // under: otherwise a submit between the two would see them nowhere and
    // admit past max_queue.
    std::lock_guard lock(shared_->mutex);
    arrived.swap(shared_->incoming);
    waiting_count_ = static_cast<uint32_t>(queues_.waiting.size() + arrived.size());
  }
  for (SequencePtr& sequence : arrived) queues_.waiting.push(std::move(sequence));
}

void ModelScheduler::wait_for_work(bool has_sequences) {
  std::unique_lock lock(shared_->mutex);
  auto woken = [&] { return shared_->stopping || shared_->poked || !shared_->incoming.empty(); };
  if (has_sequences) {
    // Sequences wait for cache room: retry soon (deadlines are checked then).
    shared_->wakeup.wait_for(lock, kRoomRetryInterval, woken);
  } else {
    shared_->wakeup.wait(lock, woken);
  }
  shared_->poked = false;
}

void ModelScheduler::expire_and_cancel() {
  const Clock::time_point now = Clock::now();
  auto should_end = [&](const Sequence& sequence) {
    return sequence.cancel->requested.load() || now >= sequence.deadline;
  };
  std::vector<SequencePtr> ending = queues_.waiting.take_if(should_end);
  for (const auto* group : {&queues_.running, &queues_.swapped}) {
    for (const SequencePtr& sequence : *group) {
      if (should_end(*sequence)) ending.push_back(sequence);
    }
  }
  for (const SequencePtr& sequence : ending) {
    if (sequence->cancel->requested.load()) {
      finish(sequence, FinishReason::cancelled, "cancelled");
    } else {
      finish(sequence, FinishReason::cancelled, "timeout", "deadline_exceeded",
             "model " + model() + ": request " + std::to_string(sequence->id) +
                 " passed its deadline after " +
                 std::to_string(static_cast<int>(seconds_between(sequence->arrival, now))) + " s");
    }
  }
}

void ModelScheduler::report_levels() {
  uint32_t incoming = 0;
  {
    std::lock_guard lock(shared_->mutex);
    incoming = static_cast<uint32_t>(shared_->incoming.size());
  }
  waiting_count_ = static_cast<uint32_t>(queues_.waiting.size());
  running_count_ = static_cast<uint32_t>(queues_.running.size());
  swapped_count_ = static_cast<uint32_t>(queues_.swapped.size());
  metrics_.report_levels(waiting_count_ + incoming, running_count_, swapped_count_);
}

// --- Finishing ------------------------------------------------------------------

void ModelScheduler::remove_from_queues(const SequencePtr& sequence) {
  for (auto* group : {&queues_.running, &queues_.swapped}) {
    group->erase(std::remove(group->begin(), group->end(), sequence), group->end());
  }
  queues_.waiting.take_if([&](const Sequence& candidate) { return &candidate == sequence.get(); });
}

void ModelScheduler::finish(const SequencePtr& sequence, FinishReason reason, const std::string& outcome,
                            const std::string& error_code, const std::string& error_message) {
  if (sequence->state == SequenceState::finished) return;
  release_all_blocks(*space_, *sequence);
  remove_from_queues(sequence);
  sequence->state = SequenceState::finished;
  report_levels();  // gauges are current when the final event arrives
  {
    std::lock_guard lock(instance_mutex_);
    instance_->close_request(sequence->id);
  }

  InferenceEvent event;
  event.request_id = sequence->id;
  event.final = true;
  event.finish_reason = reason;
  event.error_code = error_code;
  event.error_message = error_message;
  event.usage = Usage{sequence->prompt_tokens, sequence->completion_tokens, sequence->cached_prompt_tokens};

  const double duration = seconds_between(sequence->arrival, Clock::now());
  metrics_.count_outcome(outcome);
  metrics_.observe_request_duration(duration);
  average_duration_s_ = 0.9 * average_duration_s_.load() + 0.1 * duration;
  ++finished_;
  deliver(*sequence, event);
  {
    std::lock_guard lock(drain_mutex_);
    --in_flight_;
  }
  drained_.notify_all();
}

void ModelScheduler::deliver(const Sequence& sequence, const InferenceEvent& event) {
  if (!sequence.sink) return;
  try {
    sequence.sink(event);
  } catch (const std::exception& e) {
    spdlog::warn("model {}: event sink of request {} threw: {}", model(), sequence.id, e.what());
  } catch (...) {
    spdlog::warn("model {}: event sink of request {} threw", model(), sequence.id);
  }
}

}  // namespace citadel::sched
