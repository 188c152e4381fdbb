#include "host/plugins/plugin_model_instance.h"

#include "host/plugins/plugin_load_error.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#ifdef CITADEL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace citadel::plugins {
namespace {

std::string error_text(const citadel_error& error) {
  return std::string("[") + citadel_status_name(error.status) + "] " + error.message;
}

citadel_error fresh_error() {
  citadel_error error{};
  error.status = CITADEL_OK;
  error.message[0] = '\0';
  return error;
}

// What is wrong with describe()'s device claims (num_device_claims > 0), or "".
std::string device_claims_problem(const citadel_model_info& info) {
  if (info.device_claims == nullptr) {
    return "num_device_claims is " + std::to_string(info.num_device_claims) + " but device_claims is NULL";
  }
  for (uint32_t i = 0; i < info.num_device_claims; ++i) {
    const citadel_device_claim& claim = info.device_claims[i];
    const std::string which = "device_claims[" + std::to_string(i) + "]";
    const bool cpu = claim.kind == CITADEL_DEVICE_CPU && claim.ordinal == -1;
    const bool cuda = claim.kind == CITADEL_DEVICE_CUDA && claim.ordinal >= 0;
    if (!cpu && !cuda) {
      return which + " names no device (kind " + std::to_string(static_cast<int>(claim.kind)) + ", ordinal " +
             std::to_string(claim.ordinal) + ")";
    }
    if (claim.blocks_per_chunk == 0) return which + ".blocks_per_chunk is 0";
  }
  return "";
}

}  // namespace

std::vector<int32_t> ModelInstance::tokenize(const std::string&) {
  throw PluginCallError(CITADEL_ERR_UNSUPPORTED, "model " + config().name + ": plugin " + plugin_name() +
                                                     " offers no tokenize operation");
}

std::string ModelInstance::detokenize(std::span<const int32_t>) {
  throw PluginCallError(CITADEL_ERR_UNSUPPORTED, "model " + config().name + ": plugin " + plugin_name() +
                                                     " offers no detokenize operation");
}

citadel_step_item make_step_item(uint64_t request_id, uint32_t num_computed_tokens, uint32_t num_new_tokens,
                                 std::span<const uint32_t> block_ids, void* const* block_addresses) {
  citadel_step_item item{};
  item.struct_size = sizeof(item);
  item.request_id = request_id;
  item.num_computed_tokens = num_computed_tokens;
  item.num_new_tokens = num_new_tokens;
  item.num_blocks = static_cast<uint32_t>(block_ids.size());
  item.block_ids = block_ids.data();
  item.block_addresses = block_addresses;
  return item;
}

citadel_step_batch make_step_batch(std::span<const citadel_step_item> items) {
  citadel_step_batch batch{};
  batch.struct_size = sizeof(batch);
  batch.num_items = static_cast<uint32_t>(items.size());
  batch.item_size = sizeof(citadel_step_item);
  batch.output_size = sizeof(citadel_step_output);
  batch.items = items.data();
  batch.flags = CITADEL_STEP_MAY_DEFER;  // model_scheduler_step.cpp reschedules deferred items
  return batch;
}

const char* task_name(citadel_task_kind task) {
  switch (task) {
    case CITADEL_TASK_TEXT_GENERATION: return "text_generation";
    case CITADEL_TASK_IMAGE_TO_TEXT: return "image_to_text";
    case CITADEL_TASK_TEXT_TO_VIDEO: return "text_to_video";
    case CITADEL_TASK_GENERIC: return "generic";
  }
  return "unknown";
}

std::string instance_config_json(const config::ModelConfig& config, const std::string& device) {
  boost::json::object object;
  object["name"] = config.name;
  object["weights"] = config.weights;
  object["device"] = device;
  boost::json::value options = boost::json::object();
  if (!config.options_json.empty()) {
    boost::system::error_code parse_error;
    options = boost::json::parse(config.options_json, parse_error);
    if (parse_error || !options.is_object()) {
      throw PluginLoadError("model " + config.name + " (" + config.source_file +
                            "): options are not a JSON object");
    }
  }
  object["options"] = std::move(options);
  return boost::json::serialize(object);
}

PluginModelInstance::PluginModelInstance(std::shared_ptr<LoadedPlugin> plugin,
                                         config::ModelConfig config,
                                         std::unique_ptr<HostContext> context, uint64_t generation)
    : plugin_(std::move(plugin)),
      context_(std::move(context)),
      config_(std::move(config)),
      generation_(generation),
      plugin_version_(plugin_->reported_version()) {
  const std::string who = "model " + config_.name + " (" + config_.source_file + "): plugin " +
                          plugin_->name() + " " + plugin_version_;
  const std::string json = instance_config_json(config_, context_->device.to_string());
  const citadel_plugin_api& api = plugin_->api();
  citadel_error error = fresh_error();
  if (api.create(context_.get(), json.c_str(), &instance_, &error) != CITADEL_OK ||
      instance_ == nullptr) {
    instance_ = nullptr;
    throw PluginLoadError(who + ": create failed: " + error_text(error));
  }
  citadel_model_info info{};
  info.struct_size = sizeof(info);
  error = fresh_error();
  if (api.describe(instance_, &info, &error) != CITADEL_OK) {
    api.destroy(instance_);
    instance_ = nullptr;
    throw PluginLoadError(who + ": describe failed: " + error_text(error));
  }
  std::string problem;
  if (info.task < CITADEL_TASK_TEXT_GENERATION || info.task > CITADEL_TASK_GENERIC) {
    problem = "unknown task " + std::to_string(static_cast<int>(info.task));
  } else if (info.tokens_per_block == 0) {
    problem = "tokens_per_block is 0";
  } else if (info.max_batch_requests == 0) {
    problem = "max_batch_requests is 0";
  }
  if (problem.empty() && CITADEL_HAS_MEMBER(&info, citadel_model_info, device_claims) &&
      info.num_device_claims > 0) {
    problem = device_claims_problem(info);
    if (problem.empty()) device_claims_.assign(info.device_claims, info.device_claims + info.num_device_claims);
  }
  if (!problem.empty()) {
    api.destroy(instance_);
    instance_ = nullptr;
    throw PluginLoadError(who + ": describe returned an unusable model: " + problem);
  }
  model_version_ = info.model_version != nullptr ? info.model_version : "";
  info_ = info;
  info_.model_version = model_version_.c_str();
  // The host's copies; zero for an older plugin (whose struct may end inside
  // num_device_claims' bytes, padding it did not write).
  info_.num_device_claims = static_cast<uint32_t>(device_claims_.size());
  info_.device_claims = device_claims_.empty() ? nullptr : device_claims_.data();
  spdlog::info("model {} created with plugin {} {} on {} (generation {})", config_.name,
               plugin_->name(), plugin_version_, context_->device.to_string(), generation_);
}

PluginModelInstance::~PluginModelInstance() {
  if (instance_ != nullptr) {
    std::lock_guard lock(call_mutex_);
    plugin_->api().destroy(instance_);
    instance_ = nullptr;
  }
  spdlog::info("model {} (generation {}) destroyed", config_.name, generation_);
}

std::shared_ptr<cache::CacheSpace> PluginModelInstance::cache_space() const {
  return context_->cache_space();
}

void PluginModelInstance::attach_cache_space(std::shared_ptr<cache::CacheSpace> space) {
  context_->attach_cache_space(std::move(space));
}

void PluginModelInstance::attach_device_claims(std::vector<std::shared_ptr<cache::DeviceClaim>> claims) {
  claims_ = std::move(claims);
}

void PluginModelInstance::throw_call_error(const char* operation, const citadel_error& error) const {
  throw PluginCallError(error.status, "model " + config_.name + ": " + operation + ": " +
                                          std::string(error.message));
}

citadel_request_plan PluginModelInstance::open_request(uint64_t request_id,
                                                       const std::string& input_json,
                                                       std::span<const uint8_t> payload) {
  std::lock_guard lock(call_mutex_);
  citadel_request_plan plan{};
  plan.struct_size = sizeof(plan);
  citadel_error error = fresh_error();
  if (plugin_->api().request_open(instance_, request_id, input_json.c_str(),
                                  payload.empty() ? nullptr : payload.data(), payload.size(), &plan,
                                  &error) != CITADEL_OK) {
    throw_call_error("request_open", error);
  }
  return plan;
}

void PluginModelInstance::step(const citadel_step_batch& batch,
                               std::vector<citadel_step_output>& outputs) {
  std::lock_guard lock(call_mutex_);
  citadel_step_output blank{};
  blank.struct_size = sizeof(blank);
  outputs.assign(batch.num_items, blank);
  if (batch.item_size != sizeof(citadel_step_item) || batch.output_size != sizeof(citadel_step_output)) {
    throw PluginCallError(CITADEL_ERR_INTERNAL, "model " + config_.name +
                                                    ": step batch built without make_step_batch (strides " +
                                                    std::to_string(batch.item_size) + "/" +
                                                    std::to_string(batch.output_size) + ")");
  }
  citadel_error error = fresh_error();
  if (plugin_->api().step(instance_, &batch, outputs.data(), &error) != CITADEL_OK) {
    throw_call_error("step", error);
  }
#ifdef CITADEL_HAVE_CUDA
  // plugin.h: the host synchronises the instance's stream after step, so the
  // cache blocks may move (compaction, swap) before the next one.
  if (context_->device_info.cuda_stream != nullptr) {
    const cudaError_t status =
        cudaStreamSynchronize(static_cast<cudaStream_t>(context_->device_info.cuda_stream));
    if (status != cudaSuccess) {
      // An error surfacing at synchronisation is a kernel's asynchronous
      // failure (illegal address, launch failure, ...): sticky, the device
      // context is unusable for the rest of the process.
      throw PluginCallError(CITADEL_ERR_DEVICE_FATAL, "model " + config_.name +
                                                          ": step: CUDA stream failed: " +
                                                          cudaGetErrorName(status) + ": " +
                                                          cudaGetErrorString(status));
    }
  }
#endif
}

void PluginModelInstance::close_request(uint64_t request_id) {
  std::lock_guard lock(call_mutex_);
  plugin_->api().request_close(instance_, request_id);
}

std::vector<int32_t> PluginModelInstance::tokenize(const std::string& input_json) {
  const citadel_plugin_api& api = plugin_->api();
  if (!CITADEL_HAS_MEMBER(&api, citadel_plugin_api, tokenize) || api.tokenize == nullptr) {
    return ModelInstance::tokenize(input_json);
  }
  std::lock_guard lock(call_mutex_);
  citadel_token_ids ids{};
  ids.struct_size = sizeof(ids);
  citadel_error error = fresh_error();
  if (api.tokenize(instance_, input_json.c_str(), &ids, &error) != CITADEL_OK) throw_call_error("tokenize", error);
  if (ids.count > 0 && ids.ids == nullptr) {
    throw PluginCallError(CITADEL_ERR_INTERNAL, "model " + config_.name + ": tokenize returned " +
                                                    std::to_string(ids.count) + " ids without an array");
  }
  return std::vector<int32_t>(ids.ids, ids.ids + ids.count);
}

std::string PluginModelInstance::detokenize(std::span<const int32_t> ids) {
  const citadel_plugin_api& api = plugin_->api();
  if (!CITADEL_HAS_MEMBER(&api, citadel_plugin_api, detokenize) || api.detokenize == nullptr) {
    return ModelInstance::detokenize(ids);
  }
  std::lock_guard lock(call_mutex_);
  citadel_text text{};
  text.struct_size = sizeof(text);
  citadel_error error = fresh_error();
  if (api.detokenize(instance_, ids.data(), static_cast<uint32_t>(ids.size()), &text, &error) != CITADEL_OK) {
    throw_call_error("detokenize", error);
  }
  return text.text != nullptr ? std::string(text.text, text.length) : std::string();
}

}  // namespace citadel::plugins
