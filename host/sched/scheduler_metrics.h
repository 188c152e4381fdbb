// SchedulerMetrics: the series one model's scheduler writes into the metrics
// registry (requests by outcome, tokens, latencies, queue depth, running
// requests, preemptions, deferred step items, the host's share of a step).
// Gauges are shared by the old and new scheduler of a model during a
// reload, so each scheduler adds its own contribution (report_levels)
// instead of overwriting the value.
//
// Used by ModelScheduler only.
#pragma once

#include "host/metrics/registry.h"
#include "host/sched/sequence_blocks.h"

#include <string>

namespace citadel::sched {

class SchedulerMetrics {
 public:
  SchedulerMetrics(metrics::Registry& registry, const std::string& model);

  void count_outcome(const std::string& outcome);  // "stop", "length", "cancelled", "timeout", "error", "rejected"
  void count_prompt_tokens(uint32_t tokens) { prompt_tokens_.add(tokens); }
  void count_generation_tokens(uint32_t tokens) { generation_tokens_.add(tokens); }
  void count_deferred_items(uint64_t items) { deferred_items_.add(static_cast<double>(items)); }
  void count_preemption(PreemptionKind kind);
  void observe_time_to_first_token(double seconds) { time_to_first_token_.observe(seconds); }
  void observe_inter_token_latency(double seconds) { inter_token_latency_.observe(seconds); }
  void observe_request_duration(double seconds) { request_duration_.observe(seconds); }
  void observe_step(double seconds, uint32_t requests);
  // The scheduler's own CPU time of a step: the iteration less the plugin's
  // step call and the wait for the device (citadel_step_host_seconds).
  void observe_step_host(double seconds) { step_host_.observe(seconds); }

  // This scheduler's current levels; the gauges move by the difference
  // from the last report. report_levels(0, 0, 0) withdraws its share.
  void report_levels(int64_t queued, int64_t running, int64_t swapped);

  // A fault of the model's plugin: "step_error", "bad_output", "device_fatal",
  // "scheduler_error" (citadel_model_faults_total).
  void count_fault(const std::string& kind);
  // This scheduler's share of citadel_model_failed (1 while it is failed);
  // set_failed(false) withdraws it.
  void set_failed(bool failed);

 private:
  metrics::Registry& registry_;
  std::string model_;
  metrics::Counter& prompt_tokens_;
  metrics::Counter& generation_tokens_;
  metrics::Counter& deferred_items_;
  metrics::Counter& preemptions_swap_;
  metrics::Counter& preemptions_recompute_;
  metrics::Histogram& time_to_first_token_;
  metrics::Histogram& inter_token_latency_;
  metrics::Histogram& request_duration_;
  metrics::Histogram& step_duration_;
  metrics::Histogram& step_host_;
  metrics::Histogram& batch_size_;
  metrics::Gauge& queue_depth_;
  metrics::Gauge& running_requests_;
  metrics::Gauge& swapped_requests_;
  int64_t reported_queued_ = 0;
  int64_t reported_running_ = 0;
  int64_t reported_swapped_ = 0;
  metrics::Gauge& failed_;
  bool reported_failed_ = false;
};

}  // namespace citadel::sched
