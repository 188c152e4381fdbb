// The trampolines behind CITADEL_REGISTER_PLUGIN: C ABI calls in, C++ model
// calls out, exceptions turned into citadel_status + message.
#include <citadel/sdk.hpp>

#include <cstring>
#include <new>

namespace citadel::sdk {

citadel_status fill_error(citadel_error* error, citadel_status status, std::string_view message) {
  if (error != nullptr) {
    error->status = status;
    const size_t length = std::min(message.size(), size_t{CITADEL_ERROR_MESSAGE_CAPACITY - 1});
    std::memcpy(error->message, message.data(), length);
    error->message[length] = '\0';
  }
  return status;
}

void Host::log(citadel_log_level level, const std::string& message) const {
  if (api_ != nullptr && api_->log != nullptr) api_->log(context_, level, message.c_str());
}

void* Host::block_address(uint32_t block_id) const {
  return api_->cache_block_address(context_, block_id);
}

void Host::counter_add(const char* name, double delta) const {
  if (api_->metric_counter_add != nullptr) api_->metric_counter_add(context_, name, delta);
}

void Host::gauge_set(const char* name, double value) const {
  if (api_->metric_gauge_set != nullptr) api_->metric_gauge_set(context_, name, value);
}

citadel_device_info Host::device() const {
  citadel_device_info info{};
  info.struct_size = sizeof(info);
  info.kind = CITADEL_DEVICE_CPU;
  info.ordinal = -1;
  info.cpu_threads = 1;
  if (api_->device_info != nullptr) api_->device_info(context_, &info);
  return info;
}

ModelConfig ModelConfig::parse(std::string_view config_json) {
  boost::system::error_code parse_error;
  boost::json::value value = boost::json::parse(config_json, parse_error);
  if (parse_error || !value.is_object()) {
    throw PluginError(CITADEL_ERR_INVALID_ARGUMENT, "instance configuration is not a JSON object");
  }
  const boost::json::object& object = value.as_object();
  ModelConfig config;
  auto string_field = [&](const char* key) -> std::string {
    const boost::json::value* field = object.if_contains(key);
    if (field == nullptr || field->is_null()) return {};
    if (!field->is_string()) {
      throw PluginError(CITADEL_ERR_INVALID_ARGUMENT,
                        std::string("instance configuration: ") + key + " must be a string");
    }
    return std::string(field->as_string());
  };
  config.name = string_field("name");
  config.weights = string_field("weights");
  config.device = string_field("device");
  if (const boost::json::value* options = object.if_contains("options")) {
    if (!options->is_object()) {
      throw PluginError(CITADEL_ERR_INVALID_ARGUMENT,
                        "instance configuration: options must be an object");
    }
    config.options = options->as_object();
  }
  return config;
}

namespace {

// What citadel_instance points to on the plugin side.
struct Instance {
  Host host;
  std::unique_ptr<Model> model;
};

Instance* as_instance(citadel_instance* instance) { return reinterpret_cast<Instance*>(instance); }

// Runs `body`, mapping exceptions to a status and message.
template <typename Body>
citadel_status guarded(citadel_error* error, Body&& body) {
  try {
    body();
    return CITADEL_OK;
  } catch (const PluginError& e) {
    return fill_error(error, e.status(), e.what());
  } catch (const std::bad_alloc&) {
    return fill_error(error, CITADEL_ERR_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    return fill_error(error, CITADEL_ERR_INTERNAL, e.what());
  } catch (...) {
    return fill_error(error, CITADEL_ERR_INTERNAL, "unknown exception in plugin");
  }
}

const citadel_host_api* g_host = nullptr;
detail::ModelFactory g_factory = nullptr;
citadel_plugin_api g_api{};

citadel_status create(citadel_host_context* context, const char* config_json,
                      citadel_instance** out_instance, citadel_error* error) {
  return guarded(error, [&] {
    ModelConfig config = ModelConfig::parse(config_json != nullptr ? config_json : "");
    auto instance = std::make_unique<Instance>(Instance{Host(g_host, context), nullptr});
    instance->model.reset(g_factory(instance->host, config));
    *out_instance = reinterpret_cast<citadel_instance*>(instance.release());
  });
}

citadel_status describe(citadel_instance* instance, citadel_model_info* out_info,
                        citadel_error* error) {
  return guarded(error, [&] {
    *out_info = as_instance(instance)->model->describe();
    out_info->struct_size = sizeof(citadel_model_info);
  });
}

citadel_status request_open(citadel_instance* instance, uint64_t request_id,
                            const char* input_json, const uint8_t* payload, uint64_t payload_len,
                            citadel_request_plan* out_plan, citadel_error* error) {
  return guarded(error, [&] {
    RequestPlan plan = as_instance(instance)->model->open_request(
        request_id, input_json != nullptr ? std::string_view(input_json) : std::string_view(),
        std::span<const uint8_t>(payload, payload != nullptr ? payload_len : 0));
    out_plan->struct_size = sizeof(citadel_request_plan);
    out_plan->prompt_tokens = plan.prompt_tokens;
    out_plan->max_new_tokens = plan.max_new_tokens;
    out_plan->prompt_token_ids = plan.prompt_token_ids;
  });
}

citadel_status step(citadel_instance* instance, const citadel_step_batch* batch,
                    citadel_step_output* outputs, citadel_error* error) {
  return guarded(error, [&] {
    for (uint32_t i = 0; i < batch->num_items; ++i) {
      outputs[i] = citadel_step_output{};
      outputs[i].request_id = batch->items[i].request_id;
      outputs[i].token_id = -1;
    }
    as_instance(instance)->model->step(*batch, outputs);
  });
}

void request_close(citadel_instance* instance, uint64_t request_id) {
  try {
    as_instance(instance)->model->close_request(request_id);
  } catch (const std::exception& e) {
    as_instance(instance)->host.log(CITADEL_LOG_ERROR,
                                    std::string("request_close failed: ") + e.what());
  }
}

void destroy(citadel_instance* instance) { delete as_instance(instance); }

}  // namespace

namespace detail {

const citadel_plugin_api* make_plugin_api(const citadel_host_api* host, const char* name,
                                          const char* version, ModelFactory factory) {
  g_host = host;
  g_factory = factory;
  g_api.struct_size = sizeof(citadel_plugin_api);
  g_api.abi_major = CITADEL_ABI_VERSION_MAJOR;
  g_api.abi_minor = CITADEL_ABI_VERSION_MINOR;
  g_api.plugin_name = name;
  g_api.plugin_version = version;
  g_api.create = create;
  g_api.describe = describe;
  g_api.request_open = request_open;
  g_api.step = step;
  g_api.request_close = request_close;
  g_api.destroy = destroy;
  return &g_api;
}

}  // namespace detail
}  // namespace citadel::sdk
