// ModelInstance: one created instance of a loaded plugin (one models.d file),
// with the host services bound to it (logging, cache blocks, metrics, device).
//
// Created by the reload coordinator (host/core) through PluginRegistry; driven
// by the model's scheduler (host/sched), which alone calls open_request, step
// and close_request, from one thread at a time. Destroying the last reference
// calls the plugin's destroy and then lets go of the library (which is closed
// when no instance uses it any more).
#pragma once

#include <citadel/plugin.h>

#include "host/cache/cache_space.h"
#include "host/config/model_config.h"

#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace citadel::plugins {

// A plugin operation returned a status other than CITADEL_OK.
class PluginCallError : public std::runtime_error {
 public:
  PluginCallError(citadel_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  citadel_status status() const { return status_; }

 private:
  citadel_status status_;
};

class ModelInstance {
 public:
  virtual ~ModelInstance() = default;

  virtual const config::ModelConfig& config() const = 0;
  virtual const citadel_model_info& info() const = 0;  // from describe()
  virtual const std::string& plugin_name() const = 0;
  virtual const std::string& plugin_version() const = 0;
  virtual uint64_t generation() const = 0;  // reload generation that created it

  // The cache space the instance's blocks come from (attached after describe).
  virtual std::shared_ptr<cache::CacheSpace> cache_space() const = 0;

  // The plugin operations; each throws PluginCallError on a non-OK status.
  virtual citadel_request_plan open_request(uint64_t request_id, const std::string& input_json,
                                            std::span<const uint8_t> payload) = 0;
  // Resizes `outputs` to batch.num_items and fills it. Pointers inside the
  // outputs stay valid until the next call on this instance.
  virtual void step(const citadel_step_batch& batch, std::vector<citadel_step_output>& outputs) = 0;
  virtual void close_request(uint64_t request_id) = 0;

  // The plugin's optional tokenizer operations (plugin.h tokenize /
  // detokenize). Throw PluginCallError (UNSUPPORTED) when the plugin has none.
  virtual std::vector<int32_t> tokenize(const std::string& input_json);
  virtual std::string detokenize(std::span<const int32_t> ids);
};

// Step items and outputs of the host's own layout, ready for a plugin call:
// struct_size and the batch strides set.
citadel_step_item make_step_item(uint64_t request_id, uint32_t num_computed_tokens, uint32_t num_new_tokens,
                                 std::span<const uint32_t> block_ids, void* const* block_addresses);
citadel_step_batch make_step_batch(std::span<const citadel_step_item> items);

}  // namespace citadel::plugins
