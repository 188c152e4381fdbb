// Configuration records: what citadel.yaml and one models.d file say, after
// validation and after merging the plugin manifest's defaults. Plain data.
//
// Produced by host/config (config_loader.h); read by main, plugins, cache,
// sched, admin and http. Paths are absolute (resolved against the folder of
// the file that named them).
#pragma once

#include "host/config/input_limits.h"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace citadel::config {

enum class EvictionPolicyKind { lru, lfu, size_aware_lru, adaptive };

// Where a value came from, for error messages: "config/models.d/a.yaml:12".
struct SourceLocation {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  std::string to_string() const;
  bool operator==(const SourceLocation&) const = default;
};

struct CacheSettings {
  uint64_t size_mb = 0;      // ceiling of the model's cache space
  uint64_t reserved_mb = 0;  // floor the pool never reclaims below
  EvictionPolicyKind eviction = EvictionPolicyKind::lru;
  double gc_threshold = 0.9;  // fraction of size_mb that triggers reclaim
  bool operator==(const CacheSettings&) const = default;
};

struct SchedulerSettings {
  uint32_t max_queue = 256;          // queued requests before 429
  uint32_t max_batch_requests = 0;   // 0: the plugin's limit
  uint32_t max_step_tokens = 2048;   // token budget of one step (prefill chunking)
  double weight = 1.0;               // share of device time against other models
  uint32_t request_timeout_s = 600;  // deadline when a request names none
  uint32_t max_step_failures = 3;    // consecutive faulty steps before the model is failed
  bool operator==(const SchedulerSettings&) const = default;
};

// One models.d file.
struct ModelConfig {
  std::string name;
  std::string plugin;   // plugin name (folder under plugins_dir)
  std::string weights;  // absolute path or empty
  std::string device;   // "auto", "cpu", "cuda:N"
  // Instances serving this name (data parallel, like vLLM's
  // --data-parallel-size or a Deployment's replicas); each is placed like
  // `device` says (auto: the CUDA pool with the most free memory at the time).
  uint32_t replicas = 1;
  CacheSettings cache;
  SchedulerSettings scheduler;
  InputLimits inputs;        // image_to_text models: limits on images and PDFs
  std::string options_json;  // plugin options (manifest defaults + file) as a JSON object
  std::string source_file;   // absolute path of the YAML file
  bool operator==(const ModelConfig&) const = default;  // every field
};

struct AdminSettings {
  std::string socket;     // absolute path of the Unix socket
  uint32_t mode = 0600;   // permission bits of the socket file
  std::vector<uint32_t> allowed_uids;  // empty: only the host's own uid (and root)
  std::vector<uint32_t> allowed_gids;
  uint32_t max_line_bytes = 1 << 20;
  bool operator==(const AdminSettings&) const = default;
};

// One API key of http.api_keys, as loaded: never the key itself, only its
// SHA-256 digest (compared in constant time) and a short id for the logs.
struct ApiKeyEntry {
  std::array<uint8_t, 32> digest{};  // SHA-256 of the key's bytes
  std::string id;                    // first 8 hex digits of the digest
  std::vector<std::string> models;   // models it may use; empty: all
  uint32_t requests_per_minute = 0;  // 0: unlimited
  bool admin = false;                // scope=admin: may also POST /benchmark
  SourceLocation where;              // the line that defined it
  bool operator==(const ApiKeyEntry&) const = default;
};

// http.api_keys: where the keys come from and what stays open without one.
struct ApiKeySettings {
  std::string file;     // absolute path of the keys file, or empty
  std::string env;      // name of the environment variable holding keys, or empty
  std::vector<ApiKeyEntry> keys;  // loaded from `file` or `env`
  // Routes answered without a key (subset of /health, /ready, /metrics).
  std::vector<std::string> public_routes{"/health", "/ready"};
  bool enabled() const { return !file.empty() || !env.empty(); }
  bool operator==(const ApiKeySettings&) const = default;
};

struct HttpSettings {
  std::string listen = "127.0.0.1:8080";  // host:port; empty disables HTTP
  uint64_t max_body_bytes = 16u << 20;    // larger bodies: 413 (checked while reading)
  uint32_t max_header_bytes = 64u << 10;  // request line + headers; larger: 431
  uint32_t max_tokens_limit = 4096;
  uint32_t max_connections = 1024;        // open connections; beyond: 503 and close
  uint32_t idle_timeout_s = 60;           // wait for the first byte of a request
  uint32_t header_timeout_s = 10;         // first byte to end of the header
  uint32_t body_timeout_s = 60;           // end of the header to end of the body
  uint32_t max_requests_per_connection = 1000;  // then Connection: close; 0: unlimited
  ApiKeySettings api_keys;
  bool operator==(const HttpSettings&) const = default;
};

// citadel.yaml `videos:`: where the jobs of /v1/videos keep their files.
struct VideoSettings {
  std::string dir;               // empty: <runtime_dir>/videos (gone at exit)
  double retention_hours = 24;   // finished jobs and their files are deleted after this
  uint32_t max_jobs = 100;       // jobs kept at once (finished ones are dropped oldest first)
  uint32_t default_fps = 16;     // when a request names none
  uint32_t preview_max_side = 256;  // the animated preview's longest side
  bool operator==(const VideoSettings&) const = default;
};

// One entry of citadel.yaml `devices`: a device the host makes a cache pool
// for. A plain entry ("cpu", "cuda:1") is a physical device under its own
// name; a logical one ({name: cuda:0/a, device: cuda:0, pool_mb: 8192}) is a
// pool of its own on a physical device that other entries may share. Models
// name the entry (`device: cuda:0/a`); their plugin runs on `physical`.
struct DeviceSpec {
  std::string name;      // what models.d `device:`, the stats and metrics call it
  std::string physical;  // "cpu" or "cuda:N"
  // Pool budget in MiB. 0: on a GPU an equal share of what the entries with
  // a size leave of gpu_memory_utilization x free memory; on the CPU cpu_cache_mb.
  uint64_t pool_mb = 0;
  SourceLocation where;  // the entry's line, for errors
  bool logical() const { return name != physical; }
  // The line is no part of the device: moving an entry is no change.
  bool operator==(const DeviceSpec& other) const {
    return name == other.name && physical == other.physical && pool_mb == other.pool_mb;
  }
};

// citadel.yaml.
struct HostConfig {
  std::string source_file;
  AdminSettings admin;
  HttpSettings http;
  VideoSettings videos;
  std::string plugins_dir;
  std::string models_dir;
  std::string runtime_dir;  // where plugin .so copies go (unique paths)
  std::vector<DeviceSpec> devices;  // empty: every GPU found, and the cpu
  double gpu_memory_utilization = 0.9;  // fraction of free memory at start
  double swap_space_gb = 0.0;
  uint64_t cpu_cache_mb = 1024;  // pool size of the CPU device
  std::string log_level = "info";
  uint32_t watchdog_s = 0;
  uint32_t shutdown_grace_s = 30;  // SIGTERM: time to drain before cancelling
  uint32_t step_stall_s = 120;     // a scheduler busy this long stops watchdog pings
  bool operator==(const HostConfig&) const = default;
};

// A plugin's plugin.yaml.
struct PluginManifest {
  std::string name;
  std::string version;
  std::string library;       // absolute path of the .so
  std::string description;
  CacheSettings cache_defaults;
  std::string default_options_json;  // JSON object
  std::string source_file;
  // "<size>-<mtime_ns>-<content hash>" (hex) of `library` when it was read:
  // a replaced .so gets a different fingerprint.
  std::string library_fingerprint;
  bool operator==(const PluginManifest&) const = default;
};

// Everything a reload reads: the host file, every manifest, every model.
struct Configuration {
  HostConfig host;
  std::map<std::string, PluginManifest> plugins;  // by plugin name
  std::map<std::string, ModelConfig> models;      // by model name
  // Problems that did not stop the load (a broken manifest no model uses),
  // one "file:line: field: what" line each, for the log.
  std::vector<std::string> warnings;
};

const char* to_string(EvictionPolicyKind kind);
std::optional<EvictionPolicyKind> parse_eviction_policy(const std::string& text);

}  // namespace citadel::config
