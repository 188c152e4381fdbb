// citadel/sdk.hpp — the C++ layer over plugin.h for plugin authors.
//
// A plugin is one class derived from citadel::sdk::Model plus one
// CITADEL_REGISTER_PLUGIN(Class, "name", "version") line. The macro defines
// the exported entry function and trampolines that turn exceptions into
// citadel_status values, so no exception ever crosses the ABI. Throw
// citadel::sdk::PluginError to choose the status; any other std::exception
// becomes CITADEL_ERR_INTERNAL with its what() as the message.
//
// Used by: every plugin in plugins/ and tests/plugins/. Never by the host.
#pragma once

#include <citadel/plugin.h>

#include <boost/json.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace citadel::sdk {

// An error with an ABI status code. The message should name the file, field
// or tensor involved.
class PluginError : public std::runtime_error {
 public:
  PluginError(citadel_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  citadel_status status() const { return status_; }

 private:
  citadel_status status_;
};

// The host's services, bound to one instance. A service is present when the
// host's table (struct_size) covers it: logging and metrics are skipped on a
// host without them; block_address and device throw PluginError
// (UNSUPPORTED) naming the service and both ABI versions.
class Host {
 public:
  Host(const citadel_host_api* api, citadel_host_context* context)
      : api_(api), context_(context) {}

  void log(citadel_log_level level, const std::string& message) const;
  void info(const std::string& message) const { log(CITADEL_LOG_INFO, message); }
  void warn(const std::string& message) const { log(CITADEL_LOG_WARN, message); }
  void* block_address(uint32_t block_id) const;
  void counter_add(const char* name, double delta) const;
  void gauge_set(const char* name, double value) const;
  citadel_device_info device() const;

  // Throws PluginError (UNSUPPORTED) unless the host's table holds every
  // service the SDK's required list names (checked when an instance is
  // created, so a plugin built for a newer host fails create() cleanly).
  static void check_required_services(const citadel_host_api* api);

 private:
  const citadel_host_api* api_;
  citadel_host_context* context_;
};

// An instance's configuration as the host passes it to create().
struct ModelConfig {
  std::string name;            // the models.d instance name
  std::string weights;         // absolute path, or empty
  std::string device;          // "cpu", "cuda:0", ...
  boost::json::object options; // plugin options from the manifest + models.d file

  static ModelConfig parse(std::string_view config_json);
};

// What request_open returns (see citadel_request_plan).
struct RequestPlan {
  uint32_t prompt_tokens = 0;
  uint32_t max_new_tokens = 0;
  const int32_t* prompt_token_ids = nullptr; // owned by the model, or null
  // Content hashes of placeholder runs (owned by the model), mixed into the
  // host's prefix block hashes.
  std::span<const citadel_prefix_extra_key> extra_keys;
  // The host must compute every prompt position (no prefix-cache skip).
  bool compute_whole_prompt = false;
};

// Base class of a plugin's model. The host calls one instance from one thread
// at a time. The constructor loads the model; it throws on failure.
class Model {
 public:
  virtual ~Model() = default;
  virtual citadel_model_info describe() = 0;
  virtual RequestPlan open_request(uint64_t request_id, std::string_view input_json,
                                   std::span<const uint8_t> payload) = 0;
  // Fill outputs[i] for batch.items[i]; throw only for a failure of the
  // whole batch (a single request's failure is outputs[i].state = FAILED).
  virtual void step(const citadel_step_batch& batch, citadel_step_output* outputs) = 0;
  virtual void close_request(uint64_t request_id) = 0;
  // The ids the prompt of input_json (request input schema) encodes to, as
  // open_request would; owned by the model until its next call. The default
  // throws PluginError (UNSUPPORTED): the model has no tokenizer.
  virtual std::span<const int32_t> tokenize(std::string_view input_json);
  // The text of `ids`. Default: UNSUPPORTED, as tokenize.
  virtual std::string detokenize(std::span<const int32_t> ids);
};

// Writes `message` into a citadel_error (truncating) and returns `status`.
citadel_status fill_error(citadel_error* error, citadel_status status, std::string_view message);

namespace detail {

// The trampolines behind CITADEL_REGISTER_PLUGIN. Factory creates the model.
using ModelFactory = Model* (*)(const Host& host, const ModelConfig& config);

const citadel_plugin_api* make_plugin_api(const citadel_host_api* host, const char* name,
                                          const char* version, ModelFactory factory);

}  // namespace detail
}  // namespace citadel::sdk

// Defines the exported entry function for ModelClass, which must have a
// constructor ModelClass(const citadel::sdk::Host&, const citadel::sdk::ModelConfig&).
#define CITADEL_REGISTER_PLUGIN(ModelClass, plugin_name, plugin_version)                   \
  extern "C" CITADEL_EXPORT const citadel_plugin_api* citadel_plugin_entry(                \
      const citadel_host_api* host) {                                                      \
    return ::citadel::sdk::detail::make_plugin_api(                                        \
        host, plugin_name, plugin_version,                                                 \
        [](const ::citadel::sdk::Host& h, const ::citadel::sdk::ModelConfig& c)            \
            -> ::citadel::sdk::Model* { return new ModelClass(h, c); });                   \
  }
