// The trampolines behind CITADEL_REGISTER_PLUGIN: C ABI calls in, C++ model
// calls out, exceptions turned into citadel_status + message.
#include <citadel/sdk.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <vector>

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

namespace {

std::string host_abi(const citadel_host_api* api) {
  if (api == nullptr) return "no host table";
  return "host ABI " + std::to_string(api->abi_major) + "." + std::to_string(api->abi_minor) + ", table of " +
         std::to_string(api->struct_size) + " bytes";
}

[[noreturn]] void missing_service(const citadel_host_api* api, const char* service) {
  throw PluginError(CITADEL_ERR_UNSUPPORTED,
                    std::string("the host offers no '") + service + "' service (" + host_abi(api) +
                        "); this plugin was built for ABI " + std::to_string(CITADEL_ABI_VERSION_MAJOR) +
                        "." + std::to_string(CITADEL_ABI_VERSION_MINOR) + ": upgrade the host");
}

}  // namespace

void Host::check_required_services(const citadel_host_api* api) {
  if (api == nullptr || api->abi_major != CITADEL_ABI_VERSION_MAJOR) {
    throw PluginError(CITADEL_ERR_ABI_MISMATCH,
                      "the host speaks " + host_abi(api) + "; this plugin was built for ABI " +
                          std::to_string(CITADEL_ABI_VERSION_MAJOR) + "." +
                          std::to_string(CITADEL_ABI_VERSION_MINOR));
  }
  if (!CITADEL_HAS_MEMBER(api, citadel_host_api, cache_block_address)) missing_service(api, "cache_block_address");
  if (!CITADEL_HAS_MEMBER(api, citadel_host_api, device_info)) missing_service(api, "device_info");
}

void Host::log(citadel_log_level level, const std::string& message) const {
  if (CITADEL_HAS_MEMBER(api_, citadel_host_api, log) && api_->log != nullptr) {
    api_->log(context_, level, message.c_str());
  }
}

void* Host::block_address(uint32_t block_id) const {
  if (!CITADEL_HAS_MEMBER(api_, citadel_host_api, cache_block_address)) {
    missing_service(api_, "cache_block_address");
  }
  return api_->cache_block_address(context_, block_id);
}

void Host::counter_add(const char* name, double delta) const {
  if (CITADEL_HAS_MEMBER(api_, citadel_host_api, metric_counter_add) && api_->metric_counter_add != nullptr) {
    api_->metric_counter_add(context_, name, delta);
  }
}

void Host::gauge_set(const char* name, double value) const {
  if (CITADEL_HAS_MEMBER(api_, citadel_host_api, metric_gauge_set) && api_->metric_gauge_set != nullptr) {
    api_->metric_gauge_set(context_, name, value);
  }
}

citadel_device_info Host::device() const {
  if (!CITADEL_HAS_MEMBER(api_, citadel_host_api, device_info)) missing_service(api_, "device_info");
  citadel_device_info info{};
  info.struct_size = sizeof(info);
  info.kind = CITADEL_DEVICE_CPU;
  info.ordinal = -1;
  info.cpu_threads = 1;
  api_->device_info(context_, &info);
  return info;
}

std::span<const int32_t> Model::tokenize(std::string_view) {
  throw PluginError(CITADEL_ERR_UNSUPPORTED, "this model has no tokenizer (tokenize is not supported)");
}

std::string Model::detokenize(std::span<const int32_t>) {
  throw PluginError(CITADEL_ERR_UNSUPPORTED, "this model has no tokenizer (detokenize is not supported)");
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
  // The step's items and outputs in this SDK's own layout (the host's may
  // be larger or smaller: see citadel_step_batch).
  std::vector<citadel_step_item> items;
  std::vector<citadel_step_output> outputs;
  std::string detokenized;
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
    Host::check_required_services(g_host);
    ModelConfig config = ModelConfig::parse(config_json != nullptr ? config_json : "");
    auto instance = std::make_unique<Instance>(Instance{Host(g_host, context), nullptr, {}, {}, {}});
    instance->model.reset(g_factory(instance->host, config));
    *out_instance = reinterpret_cast<citadel_instance*>(instance.release());
  });
}

citadel_status describe(citadel_instance* instance, citadel_model_info* out_info,
                        citadel_error* error) {
  return guarded(error, [&] {
    // Only as much as the host's struct holds (an older host knows fewer fields).
    citadel_model_info info = as_instance(instance)->model->describe();
    const size_t room = out_info->struct_size == 0 ? offsetof(citadel_model_info, device_weight_bytes)
                                                   : std::min<size_t>(out_info->struct_size, sizeof(info));
    info.struct_size = static_cast<uint32_t>(room);
    std::memcpy(out_info, &info, room);
  });
}

citadel_status request_open(citadel_instance* instance, uint64_t request_id,
                            const char* input_json, const uint8_t* payload, uint64_t payload_len,
                            citadel_request_plan* out_plan, citadel_error* error) {
  return guarded(error, [&] {
    RequestPlan plan = as_instance(instance)->model->open_request(
        request_id, input_json != nullptr ? std::string_view(input_json) : std::string_view(),
        std::span<const uint8_t>(payload, payload != nullptr ? payload_len : 0));
    out_plan->prompt_tokens = plan.prompt_tokens;
    out_plan->max_new_tokens = plan.max_new_tokens;
    out_plan->prompt_token_ids = plan.prompt_token_ids;
    if (!plan.extra_keys.empty() || plan.compute_whole_prompt) {
      if (!CITADEL_HAS_MEMBER(out_plan, citadel_request_plan, flags)) {
        throw PluginError(CITADEL_ERR_UNSUPPORTED,
                          "the host's request plan has no extra keys or flags (" +
                              std::to_string(out_plan->struct_size) + " bytes): upgrade the host");
      }
    }
    if (CITADEL_HAS_MEMBER(out_plan, citadel_request_plan, flags)) {
      out_plan->num_extra_keys = static_cast<uint32_t>(plan.extra_keys.size());
      out_plan->extra_keys = plan.extra_keys.empty() ? nullptr : plan.extra_keys.data();
      out_plan->flags = plan.compute_whole_prompt ? uint32_t{CITADEL_PLAN_COMPUTE_WHOLE_PROMPT} : 0u;
    }
  });
}

citadel_status step(citadel_instance* instance, const citadel_step_batch* batch,
                    citadel_step_output* outputs, citadel_error* error) {
  return guarded(error, [&] {
    Instance& self = *as_instance(instance);
    const uint32_t count = batch->num_items;
    if (count > 0 && (batch->item_size < sizeof(uint32_t) || batch->output_size < sizeof(uint32_t))) {
      throw PluginError(CITADEL_ERR_INVALID_ARGUMENT,
                        "step batch gives item_size " + std::to_string(batch->item_size) +
                            " and output_size " + std::to_string(batch->output_size));
    }
    // The host's items, in this SDK's layout: fields the host does not
    // know read as zero.
    self.items.assign(count, citadel_step_item{});
    const auto* host_items = reinterpret_cast<const unsigned char*>(batch->items);
    for (uint32_t i = 0; i < count; ++i) {
      std::memcpy(&self.items[i], host_items + size_t{i} * batch->item_size,
                  std::min<size_t>(batch->item_size, sizeof(citadel_step_item)));
      self.items[i].struct_size = sizeof(citadel_step_item);
    }
    self.outputs.assign(count, citadel_step_output{});
    for (uint32_t i = 0; i < count; ++i) {
      self.outputs[i].struct_size = sizeof(citadel_step_output);
      self.outputs[i].request_id = self.items[i].request_id;
      self.outputs[i].token_id = -1;
    }
    const uint32_t flags = CITADEL_HAS_MEMBER(batch, citadel_step_batch, flags) ? batch->flags : 0u;
    const citadel_step_batch own{sizeof(citadel_step_batch), count, sizeof(citadel_step_item),
                                 sizeof(citadel_step_output), self.items.data(), flags};
    self.model->step(own, self.outputs.data());
    // Back into the host's array: as much of each output as both know.
    auto* host_outputs = reinterpret_cast<unsigned char*>(outputs);
    for (uint32_t i = 0; i < count; ++i) {
      unsigned char* target = host_outputs + size_t{i} * batch->output_size;
      self.outputs[i].struct_size = batch->output_size;
      std::memcpy(target, &self.outputs[i], std::min<size_t>(batch->output_size, sizeof(citadel_step_output)));
    }
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

citadel_status tokenize(citadel_instance* instance, const char* input_json, citadel_token_ids* out_ids,
                        citadel_error* error) {
  return guarded(error, [&] {
    std::span<const int32_t> ids = as_instance(instance)->model->tokenize(
        input_json != nullptr ? std::string_view(input_json) : std::string_view());
    out_ids->count = static_cast<uint32_t>(ids.size());
    out_ids->ids = ids.data();
  });
}

citadel_status detokenize(citadel_instance* instance, const int32_t* ids, uint32_t count,
                          citadel_text* out_text, citadel_error* error) {
  return guarded(error, [&] {
    Instance& self = *as_instance(instance);
    self.detokenized = self.model->detokenize(std::span<const int32_t>(ids, ids != nullptr ? count : 0));
    out_text->length = static_cast<uint32_t>(self.detokenized.size());
    out_text->text = self.detokenized.c_str();
  });
}

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
  g_api.tokenize = tokenize;
  g_api.detokenize = detokenize;
  return &g_api;
}

}  // namespace detail
}  // namespace citadel::sdk
