#include "host/metrics/registry.h"

#include "host/metrics/text_format.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace citadel::metrics {

// --- Counter, Gauge, Histogram ----------------------------------------------

void Counter::add(double delta) {
  // A counter only goes up; a negative or NaN delta is a caller bug that must
  // not corrupt the series (plugins reach this through host services).
  if (!(delta >= 0.0)) return;
  value_.fetch_add(delta, std::memory_order_relaxed);
}

double Counter::value() const { return value_.load(std::memory_order_relaxed); }

void Gauge::set(double value) { value_.store(value, std::memory_order_relaxed); }
void Gauge::add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
double Gauge::value() const { return value_.load(std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> upper_bounds) : upper_bounds_(std::move(upper_bounds)) {
  // +Inf is implicit; drop it if the caller listed it.
  while (!upper_bounds_.empty() && std::isinf(upper_bounds_.back()) && upper_bounds_.back() > 0) {
    upper_bounds_.pop_back();
  }
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    if (std::isnan(upper_bounds_[i]) || (i > 0 && !(upper_bounds_[i - 1] < upper_bounds_[i]))) {
      throw std::logic_error("histogram bucket bounds must be strictly increasing numbers");
    }
  }
  bucket_counts_.assign(upper_bounds_.size() + 1, 0);
}

void Histogram::observe(double value) {
  // Bucket i counts values in (bound[i-1], bound[i]]; the last one is +Inf.
  size_t bucket = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) -
                  upper_bounds_.begin();
  std::lock_guard lock(mutex_);
  ++bucket_counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.upper_bounds = upper_bounds_;
  std::lock_guard lock(mutex_);
  uint64_t running = 0;
  for (uint64_t count : bucket_counts_) {
    running += count;
    snapshot.cumulative_counts.push_back(running);
  }
  snapshot.sum = sum_;
  snapshot.count = count_;
  return snapshot;
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

// --- Registry ---------------------------------------------------------------

enum class FamilyType { counter, gauge, histogram };

namespace {
const char* type_name(FamilyType type) {
  switch (type) {
    case FamilyType::counter: return "counter";
    case FamilyType::gauge: return "gauge";
    case FamilyType::histogram: return "histogram";
  }
  return "untyped";
}
}  // namespace

struct Registry::Family {
  std::string name;
  std::string help;
  FamilyType type = FamilyType::counter;
  std::vector<double> upper_bounds;  // histograms only
  std::map<Labels, std::unique_ptr<Counter>> counters;
  std::map<Labels, std::unique_ptr<Gauge>> gauges;
  std::map<Labels, std::unique_ptr<Histogram>> histograms;
  // Removed series stay allocated so references held by their writers stay
  // valid; they are no longer rendered.
  std::vector<std::unique_ptr<Counter>> retired_counters;
  std::vector<std::unique_ptr<Gauge>> retired_gauges;
  std::vector<std::unique_ptr<Histogram>> retired_histograms;
};

namespace {

void check_names(const std::string& name, const Labels& labels) {
  if (!is_valid_metric_name(name)) {
    throw std::logic_error("invalid metric name '" + name + "'");
  }
  for (const auto& [key, value] : labels) {
    if (!is_valid_label_name(key) || key == "le") {
      throw std::logic_error("invalid label name '" + key + "' on metric " + name);
    }
  }
}

template <typename Series>
void retire_matching(std::map<Labels, std::unique_ptr<Series>>& series,
                     std::vector<std::unique_ptr<Series>>& retired, const std::string& key,
                     const std::string& value) {
  for (auto it = series.begin(); it != series.end();) {
    auto label = it->first.find(key);
    if (label != it->first.end() && label->second == value) {
      retired.push_back(std::move(it->second));
      it = series.erase(it);
    } else {
      ++it;
    }
  }
}

// `name{a="x",b="y"}` with an optional extra label appended (le for buckets).
std::string series_name(const std::string& name, const Labels& labels,
                        const char* extra_key = nullptr, const std::string& extra_value = {}) {
  std::string out = name;
  if (labels.empty() && extra_key == nullptr) return out;
  out += '{';
  bool first = true;
  auto append = [&](const std::string& key, const std::string& value) {
    if (!first) out += ',';
    first = false;
    out += key;
    out += "=\"";
    out += escape_label_value(value);
    out += '"';
  };
  for (const auto& [key, value] : labels) append(key, value);
  if (extra_key != nullptr) append(extra_key, extra_value);
  out += '}';
  return out;
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

template <typename Series, typename Make>
static Series& find_or_create(std::map<Labels, std::unique_ptr<Series>>& series,
                              const Labels& labels, Make make) {
  auto it = series.find(labels);
  if (it == series.end()) it = series.emplace(labels, make()).first;
  return *it->second;
}

namespace {

// The family `name` of `type`, created (and passed to `on_create`) on first
// use; throws when the name is registered with another type.
template <typename FamilyMap, typename OnCreate>
auto& family_of(FamilyMap& families, const std::string& name, const std::string& help, FamilyType type,
                OnCreate on_create) {
  using Family = typename FamilyMap::mapped_type::element_type;
  auto& family = families[name];
  if (!family) {
    family = std::make_unique<Family>();
    family->name = name;
    family->help = help;
    family->type = type;
    on_create(*family);
  }
  if (family->type != type) {
    throw std::logic_error("metric " + name + " is a " + type_name(family->type) + ", used as a " +
                           type_name(type));
  }
  return *family;
}

const auto nothing_to_initialise = [](auto&) {};

}  // namespace

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  check_names(name, labels);
  std::lock_guard lock(mutex_);
  auto& family = family_of(families_, name, help, FamilyType::counter, nothing_to_initialise);
  return find_or_create(family.counters, labels, [] { return std::make_unique<Counter>(); });
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  check_names(name, labels);
  std::lock_guard lock(mutex_);
  auto& family = family_of(families_, name, help, FamilyType::gauge, nothing_to_initialise);
  return find_or_create(family.gauges, labels, [] { return std::make_unique<Gauge>(); });
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& upper_bounds, const Labels& labels) {
  check_names(name, labels);
  std::vector<double> validated_bounds = Histogram(upper_bounds).snapshot().upper_bounds;  // throws if bad
  std::lock_guard lock(mutex_);
  auto& family = family_of(families_, name, help, FamilyType::histogram,
                           [&](auto& created) { created.upper_bounds = std::move(validated_bounds); });
  return find_or_create(family.histograms, labels,
                        [&] { return std::make_unique<Histogram>(family.upper_bounds); });
}

void Registry::remove_series_with_label(const std::string& key, const std::string& value) {
  std::lock_guard lock(mutex_);
  for (auto& [name, family] : families_) {
    retire_matching(family->counters, family->retired_counters, key, value);
    retire_matching(family->gauges, family->retired_gauges, key, value);
    retire_matching(family->histograms, family->retired_histograms, key, value);
  }
}

uint64_t Registry::add_collector(std::function<void(Registry&)> collector) {
  std::lock_guard lock(collectors_mutex_);
  uint64_t id = next_collector_id_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void Registry::remove_collector(uint64_t id) {
  // Waits for a render that is running collectors, so the caller may free
  // what its collector uses as soon as this returns.
  std::lock_guard lock(collectors_mutex_);
  collectors_.erase(id);
}

std::string Registry::render() {
  {
    std::lock_guard lock(collectors_mutex_);
    for (auto& [id, collector] : collectors_) {
      try {
        collector(*this);
      } catch (...) {
        // A failing collector leaves its gauges as they were; /metrics still answers.
      }
    }
  }

  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    size_t series_count = family->counters.size() + family->gauges.size() + family->histograms.size();
    if (series_count == 0) continue;
    out += "# HELP " + name + " " + escape_help(family->help) + "\n";
    out += "# TYPE " + name + " " + type_name(family->type) + "\n";
    for (const auto& [labels, counter] : family->counters) {
      out += series_name(name, labels) + " " + format_value(counter->value()) + "\n";
    }
    for (const auto& [labels, gauge] : family->gauges) {
      out += series_name(name, labels) + " " + format_value(gauge->value()) + "\n";
    }
    for (const auto& [labels, histogram] : family->histograms) {
      Histogram::Snapshot snapshot = histogram->snapshot();
      for (size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
        std::string le = i < snapshot.upper_bounds.size() ? format_value(snapshot.upper_bounds[i])
                                                           : std::string("+Inf");
        out += series_name(name + "_bucket", labels, "le", le) + " " +
               format_value(static_cast<double>(snapshot.cumulative_counts[i])) + "\n";
      }
      out += series_name(name + "_sum", labels) + " " + format_value(snapshot.sum) + "\n";
      out += series_name(name + "_count", labels) + " " +
             format_value(static_cast<double>(snapshot.count)) + "\n";
    }
  }
  return out;
}

}  // namespace citadel::metrics
