// Metrics registry: counters, gauges and histograms with labels, rendered in
// the Prometheus text exposition format (version 0.0.4) for /metrics.
//
// Called by: every host part that counts something (sched, plugins, reload,
// http) and by plugin host services (metric_counter_add / metric_gauge_set).
// Thread-safe. Names follow Prometheus conventions: citadel_ prefix, base
// units (_seconds, _bytes), counters end in _total.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace citadel::metrics {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  void add(double delta = 1.0);
  double value() const;

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double value);
  void add(double delta);
  double value() const;

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::vector<double> upper_bounds_;
  std::vector<uint64_t> bucket_counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Buckets for latencies in seconds (1 ms .. 60 s).
std::vector<double> latency_buckets();

class Registry {
 public:
  Registry();
  ~Registry();  // defined where Family is complete
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Returns the series for (name, labels), creating the family on first use.
  // A name registered with one type and used with another throws
  // std::logic_error. The reference stays valid as long as the registry.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& upper_bounds, const Labels& labels = {});

  // Removes every series of every family that carries label `key` = `value`
  // (a model that was unloaded). Removed series are no longer rendered but
  // stay allocated, so references still held by their writers stay valid;
  // asking for the same name and labels again creates a fresh series.
  void remove_series_with_label(const std::string& key, const std::string& value);

  // Collectors run at render time to refresh gauges from their sources (the
  // cache pool's statistics, queue depths). Returns an id for removal.
  // Collectors run one at a time under a lock that remove_collector also
  // takes, so once remove_collector returns the collector is not running;
  // a collector must not add or remove collectors.
  uint64_t add_collector(std::function<void(Registry&)> collector);
  void remove_collector(uint64_t id);

  // The whole registry in the Prometheus text format.
  std::string render();

 private:
  struct Family;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>> families_;
  std::mutex collectors_mutex_;
  std::map<uint64_t, std::function<void(Registry&)>> collectors_;
  uint64_t next_collector_id_ = 1;
};

}  // namespace citadel::metrics
