#include "host/plugins/host_context.h"

#include "host/metrics/registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <thread>

#ifdef CITADEL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

citadel_host_context::citadel_host_context(std::string model_name,
                                           citadel::common::DeviceName device_name,
                                           citadel::metrics::Registry* metrics_registry)
    : model(std::move(model_name)), device(device_name), metrics(metrics_registry) {
  device_info.struct_size = sizeof(device_info);
  device_info.kind = device.kind;
  device_info.ordinal = device.ordinal;
  device_info.cuda_stream = nullptr;
  device_info.cpu_threads = std::max(1u, std::thread::hardware_concurrency());
  if (device.kind == CITADEL_DEVICE_CUDA) {
#ifdef CITADEL_HAVE_CUDA
    cudaStream_t stream = nullptr;
    cudaError_t status = cudaSetDevice(device.ordinal);
    if (status == cudaSuccess) status = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    if (status != cudaSuccess) {
      throw std::runtime_error("model " + model + ": cannot create a CUDA stream on " +
                               device.to_string() + ": " + cudaGetErrorString(status));
    }
    device_info.cuda_stream = stream;
#else
    throw std::runtime_error("model " + model + ": device " + device.to_string() +
                             " needs a CUDA build of citadel");
#endif
  }
}

citadel_host_context::~citadel_host_context() {
#ifdef CITADEL_HAVE_CUDA
  if (device_info.cuda_stream != nullptr) {
    cudaStreamDestroy(static_cast<cudaStream_t>(device_info.cuda_stream));
  }
#endif
}

void citadel_host_context::attach_cache_space(std::shared_ptr<citadel::cache::CacheSpace> space) {
  std::lock_guard lock(space_mutex_);
  space_ = std::move(space);
  space_raw_.store(space_.get());
}

std::shared_ptr<citadel::cache::CacheSpace> citadel_host_context::cache_space() const {
  std::lock_guard lock(space_mutex_);
  return space_;
}

namespace citadel::plugins {
namespace {

spdlog::level::level_enum to_spdlog(citadel_log_level level) {
  switch (level) {
    case CITADEL_LOG_TRACE: return spdlog::level::trace;
    case CITADEL_LOG_DEBUG: return spdlog::level::debug;
    case CITADEL_LOG_INFO: return spdlog::level::info;
    case CITADEL_LOG_WARN: return spdlog::level::warn;
    case CITADEL_LOG_ERROR: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool valid_metric_suffix(const char* name) {
  if (name == nullptr || *name == '\0') return false;
  for (const char* c = name; *c != '\0'; ++c) {
    const bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || *c == '_' || *c == ':';
    if (!ok) return false;
  }
  return true;
}

// "citadel_plugin_<name>", a counter with "_total" appended unless it ends so.
std::string exported_metric_name(const std::string& name, bool counter) {
  std::string full = "citadel_plugin_" + name;
  if (counter && !full.ends_with("_total")) full += "_total";
  return full;
}

// Services never throw across the ABI: every body runs inside this.
template <typename Body>
void guarded(const char* service, citadel_host_context* context, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    spdlog::warn("[{}] host service {} failed: {}", context ? context->model : "-", service,
                 e.what());
  } catch (...) {
    spdlog::warn("[{}] host service {} failed", context ? context->model : "-", service);
  }
}

void service_log(citadel_host_context* context, citadel_log_level level, const char* message) {
  guarded("log", context, [&] {
    spdlog::log(to_spdlog(level), "[{}] {}", context ? context->model : "plugin",
                message ? message : "");
  });
}

void* service_cache_block_address(citadel_host_context* context, uint32_t block_id) {
  void* address = nullptr;
  guarded("cache_block_address", context, [&] {
    if (context == nullptr) return;
    if (citadel::cache::CacheSpace* space = context->cache_space_fast()) {
      address = space->address(block_id);
    }
  });
  return address;
}

void record_metric(const char* service, citadel_host_context* context, const char* name,
                   double value, bool counter) {
  guarded(service, context, [&] {
    if (context == nullptr || context->metrics == nullptr) return;
    if (!valid_metric_suffix(name)) {
      spdlog::warn("[{}] plugin metric name \"{}\" is not a valid Prometheus name; ignored",
                   context->model, name ? name : "");
      return;
    }
    // Prometheus conventions: counters end in _total, gauges do not.
    const std::string full = exported_metric_name(name, counter);
    const citadel::metrics::Labels labels{{"model", context->model}};
    if (counter) {
      context->metrics->counter(full, "Counter reported by the model plugin", labels).add(value);
    } else {
      context->metrics->gauge(full, "Gauge reported by the model plugin", labels).set(value);
    }
  });
}

void service_counter_add(citadel_host_context* context, const char* name, double delta) {
  record_metric("metric_counter_add", context, name, delta, true);
}

void service_gauge_set(citadel_host_context* context, const char* name, double value) {
  record_metric("metric_gauge_set", context, name, value, false);
}

citadel_status service_device_info(citadel_host_context* context, citadel_device_info* out) {
  if (context == nullptr || out == nullptr) return CITADEL_ERR_INVALID_ARGUMENT;
  // Write no more than the caller's struct holds (it may be an older one).
  const uint32_t size = out->struct_size != 0 && out->struct_size < sizeof(citadel_device_info)
                            ? out->struct_size
                            : static_cast<uint32_t>(sizeof(citadel_device_info));
  citadel_device_info info = context->device_info;
  info.struct_size = size;
  std::memcpy(out, &info, size);
  return CITADEL_OK;
}

const citadel_host_api kHostApi = {
    sizeof(citadel_host_api),
    CITADEL_ABI_VERSION_MAJOR,
    CITADEL_ABI_VERSION_MINOR,
    service_log,
    service_cache_block_address,
    service_counter_add,
    service_gauge_set,
    service_device_info,
};

}  // namespace

const citadel_host_api* host_api() { return &kHostApi; }

}  // namespace citadel::plugins
