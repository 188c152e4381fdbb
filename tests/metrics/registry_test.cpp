// The metrics registry renders the Prometheus text format 0.0.4 exactly.
#include "host/metrics/registry.h"
#include "host/metrics/text_format.h"

#include <catch2/catch.hpp>

#include <limits>
#include <thread>

using namespace citadel::metrics;

TEST_CASE("counters and gauges render with HELP and TYPE once per family", "[metrics]") {
  Registry registry;
  registry.counter("citadel_requests_total", "Requests finished.", {{"model", "a"}, {"outcome", "stop"}}).add(3);
  registry.counter("citadel_requests_total", "Requests finished.", {{"model", "b"}, {"outcome", "stop"}}).add();
  registry.gauge("citadel_queue_depth", "Queued requests.", {{"model", "a"}}).set(2.5);
  CHECK(registry.render() ==
        "# HELP citadel_queue_depth Queued requests.\n"
        "# TYPE citadel_queue_depth gauge\n"
        "citadel_queue_depth{model=\"a\"} 2.5\n"
        "# HELP citadel_requests_total Requests finished.\n"
        "# TYPE citadel_requests_total counter\n"
        "citadel_requests_total{model=\"a\",outcome=\"stop\"} 3\n"
        "citadel_requests_total{model=\"b\",outcome=\"stop\"} 1\n");
}

TEST_CASE("a series without labels renders without braces", "[metrics]") {
  Registry registry;
  registry.counter("citadel_reloads_total", "Reloads.").add(2);
  CHECK(registry.render() ==
        "# HELP citadel_reloads_total Reloads.\n"
        "# TYPE citadel_reloads_total counter\n"
        "citadel_reloads_total 2\n");
}

TEST_CASE("histograms render cumulative buckets with +Inf, sum and count", "[metrics]") {
  Registry registry;
  auto& histogram = registry.histogram("citadel_ttft_seconds", "Time to first token.",
                                       {0.1, 0.5, 1}, {{"model", "m"}});
  histogram.observe(0.05);
  histogram.observe(0.1);  // le is inclusive
  histogram.observe(0.7);
  histogram.observe(3);
  CHECK(registry.render() ==
        "# HELP citadel_ttft_seconds Time to first token.\n"
        "# TYPE citadel_ttft_seconds histogram\n"
        "citadel_ttft_seconds_bucket{model=\"m\",le=\"0.1\"} 2\n"
        "citadel_ttft_seconds_bucket{model=\"m\",le=\"0.5\"} 2\n"
        "citadel_ttft_seconds_bucket{model=\"m\",le=\"1\"} 3\n"
        "citadel_ttft_seconds_bucket{model=\"m\",le=\"+Inf\"} 4\n"
        "citadel_ttft_seconds_sum{model=\"m\"} 3.85\n"
        "citadel_ttft_seconds_count{model=\"m\"} 4\n");
}

TEST_CASE("label values and help text are escaped", "[metrics]") {
  Registry registry;
  registry.gauge("citadel_x", "line one\nback\\slash", {{"path", "a\"b\\c\nd"}}).set(1);
  CHECK(registry.render() ==
        "# HELP citadel_x line one\\nback\\\\slash\n"
        "# TYPE citadel_x gauge\n"
        "citadel_x{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST_CASE("numbers are formatted so Prometheus parses them", "[metrics]") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(-0.0) == "0");
  CHECK(format_value(42) == "42");
  CHECK(format_value(-7) == "-7");
  CHECK(format_value(0.25) == "0.25");
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(1e-7) == "1e-07");
  CHECK(format_value(123456789012.0) == "123456789012");
  CHECK(format_value(1e300) == "1e+300");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("using a name with another type or an invalid name throws", "[metrics]") {
  Registry registry;
  registry.counter("citadel_a_total", "A.");
  CHECK_THROWS_AS(registry.gauge("citadel_a_total", "A."), std::logic_error);
  CHECK_THROWS_AS(registry.counter("9bad", "B."), std::logic_error);
  CHECK_THROWS_AS(registry.counter("citadel_b_total", "B.", {{"bad-label", "x"}}), std::logic_error);
  CHECK_THROWS_AS(registry.histogram("citadel_h", "H.", {1, 0.5}), std::logic_error);
  CHECK(is_valid_metric_name("citadel_plugin_kernel_seconds"));
  CHECK_FALSE(is_valid_metric_name("citadel plugin"));
}

TEST_CASE("the same name and labels return the same series", "[metrics]") {
  Registry registry;
  Counter& first = registry.counter("citadel_c_total", "C.", {{"model", "m"}});
  Counter& second = registry.counter("citadel_c_total", "C.", {{"model", "m"}});
  CHECK(&first == &second);
  first.add(2);
  second.add(0.5);
  CHECK(first.value() == 2.5);
  first.add(-1);  // counters never go down
  CHECK(first.value() == 2.5);
}

TEST_CASE("removing series by label hides them but keeps references valid", "[metrics]") {
  Registry registry;
  Counter& gone = registry.counter("citadel_c_total", "C.", {{"model", "old"}});
  registry.counter("citadel_c_total", "C.", {{"model", "kept"}}).add(1);
  registry.gauge("citadel_g", "G.", {{"model", "old"}}).set(5);
  registry.remove_series_with_label("model", "old");
  gone.add(10);  // still safe to use
  CHECK(registry.render() ==
        "# HELP citadel_c_total C.\n"
        "# TYPE citadel_c_total counter\n"
        "citadel_c_total{model=\"kept\"} 1\n");
  CHECK(registry.counter("citadel_c_total", "C.", {{"model", "old"}}).value() == 0);
}

TEST_CASE("collectors refresh gauges at render time until removed", "[metrics]") {
  Registry registry;
  int calls = 0;
  uint64_t id = registry.add_collector([&](Registry& r) {
    ++calls;
    r.gauge("citadel_pool_used_bytes", "Used.", {{"device", "cpu"}}).set(calls * 100);
  });
  registry.render();
  std::string text = registry.render();
  CHECK(text.find("citadel_pool_used_bytes{device=\"cpu\"} 200\n") != std::string::npos);
  registry.remove_collector(id);
  registry.render();
  CHECK(calls == 2);
}

TEST_CASE("counters are exact under concurrent increments", "[metrics]") {
  Registry registry;
  Counter& counter = registry.counter("citadel_n_total", "N.");
  Histogram& histogram = registry.histogram("citadel_h_seconds", "H.", latency_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.add();
        histogram.observe(0.002);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(counter.value() == 40000);
  auto snapshot = histogram.snapshot();
  CHECK(snapshot.count == 40000);
  CHECK(snapshot.cumulative_counts.front() == 0);
  CHECK(snapshot.cumulative_counts[1] == 40000);
  CHECK(snapshot.cumulative_counts.back() == 40000);
}
