#include "host/config/settings_readers.h"

#include <limits>

namespace citadel::config {

const std::vector<std::string> kCacheKeys = {"size_mb", "reserved_mb", "eviction", "gc_threshold"};
const std::vector<std::string> kSchedulerKeys = {"max_queue", "max_batch_requests", "max_step_tokens",
                                                 "weight", "request_timeout_s",
                                                 "max_step_failures"};
const std::vector<std::string> kInputKeys = {"max_image_pixels", "max_image_side", "max_pdf_pages",
                                             "max_pdf_dpi"};

void read_cache_settings(const YamlMapReader& cache, CacheSettings& inout) {
  cache.read_unsigned("size_mb", inout.size_mb, 0, UINT64_MAX);
  cache.read_unsigned("reserved_mb", inout.reserved_mb, 0, UINT64_MAX);
  std::string eviction;
  if (cache.read_choice("eviction", eviction, {"lru", "lfu", "size_aware_lru", "adaptive"})) {
    inout.eviction = *parse_eviction_policy(eviction);
  }
  cache.read_number("gc_threshold", inout.gc_threshold, 0.0, true, 1.0);
}

void read_scheduler_settings(const YamlMapReader& scheduler, SchedulerSettings& inout) {
  constexpr uint32_t kMax = std::numeric_limits<uint32_t>::max();
  scheduler.read_unsigned("max_queue", inout.max_queue, 1, kMax);
  scheduler.read_unsigned("max_batch_requests", inout.max_batch_requests, 0, kMax);
  scheduler.read_unsigned("max_step_tokens", inout.max_step_tokens, 1, kMax);
  scheduler.read_number("weight", inout.weight, 0.0, true, std::numeric_limits<double>::infinity());
  scheduler.read_unsigned("request_timeout_s", inout.request_timeout_s, 1, kMax);
  scheduler.read_unsigned("max_step_failures", inout.max_step_failures, 1, 1000);
}

void read_input_limits(const YamlMapReader& inputs, InputLimits& inout) {
  inputs.read_unsigned("max_image_pixels", inout.max_image_pixels, 1, uint64_t{1} << 40);
  inputs.read_unsigned("max_image_side", inout.max_image_side, 1, 1u << 20);
  inputs.read_unsigned("max_pdf_pages", inout.max_pdf_pages, 1, 100000);
  inputs.read_unsigned("max_pdf_dpi", inout.max_pdf_dpi, 18, 2400);
}

void check_cache_settings(const YamlMapReader& parent, const std::optional<YamlMapReader>& cache,
                          const CacheSettings& settings) {
  if (settings.reserved_mb <= settings.size_mb) return;
  const std::string message = "must not exceed cache.size_mb (got " +
                              std::to_string(settings.reserved_mb) + " > " +
                              std::to_string(settings.size_mb) + ")";
  if (cache && cache->has("reserved_mb")) {
    cache->report("reserved_mb", message);
  } else if (cache && cache->has("size_mb")) {
    cache->sink().report(cache->line("size_mb"), cache->field("reserved_mb"), message);
  } else {
    parent.sink().report(parent.line("cache"), parent.field("cache") + ".reserved_mb", message);
  }
}

}  // namespace citadel::config
