#include "host/sched/scheduler_metrics.h"

namespace citadel::sched {

namespace {
std::vector<double> batch_size_buckets() { return {1, 2, 4, 8, 16, 32, 64, 128, 256}; }
// 5 us .. 10 ms: the scheduler's share of a step is microseconds.
std::vector<double> host_time_buckets() {
  return {5e-6, 1e-5, 2e-5, 3e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2};
}
}  // namespace

SchedulerMetrics::SchedulerMetrics(metrics::Registry& registry, const std::string& model)
    : registry_(registry),
      model_(model),
      prompt_tokens_(registry.counter("citadel_prompt_tokens_total",
                                      "Prompt tokens of admitted requests.", {{"model", model}})),
      generation_tokens_(registry.counter("citadel_generation_tokens_total", "Tokens generated.",
                                          {{"model", model}})),
      deferred_items_(registry.counter("citadel_step_deferred_items_total",
                                       "Step items the plugin deferred (an input not ready yet).",
                                       {{"model", model}})),
      preemptions_swap_(registry.counter("citadel_preemptions_total",
                                         "Running requests preempted for lack of cache blocks.",
                                         {{"model", model}, {"kind", "swap"}})),
      preemptions_recompute_(registry.counter("citadel_preemptions_total",
                                              "Running requests preempted for lack of cache blocks.",
                                              {{"model", model}, {"kind", "recompute"}})),
      time_to_first_token_(registry.histogram("citadel_time_to_first_token_seconds",
                                              "Time from submission to the first generated token.",
                                              metrics::latency_buckets(), {{"model", model}})),
      inter_token_latency_(registry.histogram("citadel_inter_token_latency_seconds",
                                              "Time between consecutive generated tokens of a request.",
                                              metrics::latency_buckets(), {{"model", model}})),
      request_duration_(registry.histogram("citadel_request_duration_seconds",
                                           "Time from submission to the final event.",
                                           metrics::latency_buckets(), {{"model", model}})),
      step_duration_(registry.histogram("citadel_step_duration_seconds",
                                        "Duration of one plugin step (a batch).",
                                        metrics::latency_buckets(), {{"model", model}})),
      step_host_(registry.histogram("citadel_step_host_seconds",
                                    "CPU time of a scheduler iteration outside the plugin's step and the "
                                    "wait for the device: planning, block addresses, output checks, events.",
                                    host_time_buckets(), {{"model", model}})),
      batch_size_(registry.histogram("citadel_step_batch_requests", "Requests carried by one step.",
                                     batch_size_buckets(), {{"model", model}})),
      queue_depth_(registry.gauge("citadel_queue_depth", "Requests waiting for admission.",
                                  {{"model", model}})),
      running_requests_(registry.gauge("citadel_running_requests",
                                       "Requests admitted and holding cache blocks.", {{"model", model}})),
      swapped_requests_(registry.gauge("citadel_swapped_requests",
                                       "Preempted requests whose blocks are in the host swap tier.",
                                       {{"model", model}})),
      failed_(registry.gauge("citadel_model_failed",
                             "1 while the model is failed (it refuses requests until a reload).",
                             {{"model", model}})) {}

void SchedulerMetrics::count_outcome(const std::string& outcome) {
  registry_.counter("citadel_requests_total", "Requests by final outcome.",
                    {{"model", model_}, {"outcome", outcome}})
      .add();
}

void SchedulerMetrics::count_preemption(PreemptionKind kind) {
  (kind == PreemptionKind::swap ? preemptions_swap_ : preemptions_recompute_).add();
}

void SchedulerMetrics::observe_step(double seconds, uint32_t requests) {
  step_duration_.observe(seconds);
  batch_size_.observe(requests);
}

void SchedulerMetrics::report_levels(int64_t queued, int64_t running, int64_t swapped) {
  queue_depth_.add(static_cast<double>(queued - reported_queued_));
  running_requests_.add(static_cast<double>(running - reported_running_));
  swapped_requests_.add(static_cast<double>(swapped - reported_swapped_));
  reported_queued_ = queued;
  reported_running_ = running;
  reported_swapped_ = swapped;
}

void SchedulerMetrics::count_fault(const std::string& kind) {
  registry_.counter("citadel_model_faults_total", "Plugin faults by kind.",
                    {{"model", model_}, {"kind", kind}})
      .add();
}

void SchedulerMetrics::set_failed(bool failed) {
  if (failed != reported_failed_) failed_.add(failed ? 1.0 : -1.0);
  reported_failed_ = failed;
}

}  // namespace citadel::sched
