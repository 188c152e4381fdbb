// PluginHarness: drives the real llm-gptq.so through the plugin ABI the way
// the host does (entry -> create -> describe -> request_open -> step ... ->
// request_close -> destroy), with cache blocks in plain memory that the test
// allocates. Used by the llm tests that check generation end to end.
#pragma once

#include "support/test_support.hpp"

#include <citadel/plugin.h>

#include <catch2/catch.hpp>
#include <dlfcn.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace citadel::test {

struct GeneratedText {
  std::vector<int32_t> tokens;
  std::string text;
  citadel_finish_reason finish_reason = CITADEL_FINISH_NONE;
  std::string error;
};

class PluginHarness {
 public:
  explicit PluginHarness(const std::string& weights, const std::string& options_json = "{}") {
    const std::string path = (binary_dir() / "plugins/llm-gptq/llm-gptq.so").string();
    library_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    REQUIRE(library_ != nullptr);
    auto entry = reinterpret_cast<citadel_plugin_entry_fn>(dlsym(library_, CITADEL_PLUGIN_ENTRY_SYMBOL));
    REQUIRE(entry != nullptr);
    host_.struct_size = sizeof(host_);
    host_.abi_major = CITADEL_ABI_VERSION_MAJOR;
    host_.abi_minor = CITADEL_ABI_VERSION_MINOR;
    host_.log = [](citadel_host_context*, citadel_log_level, const char*) {};
    host_.cache_block_address = [](citadel_host_context*, uint32_t) -> void* { return nullptr; };
    host_.metric_counter_add = [](citadel_host_context*, const char*, double) {};
    host_.metric_gauge_set = [](citadel_host_context*, const char*, double) {};
    host_.device_info = [](citadel_host_context*, citadel_device_info* out) {
      out->kind = CITADEL_DEVICE_CPU;
      out->ordinal = -1;
      out->cuda_stream = nullptr;
      out->cpu_threads = 2;
      return CITADEL_OK;
    };
    api_ = entry(&host_);
    REQUIRE(api_->abi_major == CITADEL_ABI_VERSION_MAJOR);
    const std::string config = "{\"name\": \"test\", \"weights\": \"" + weights +
                               "\", \"device\": \"cpu\", \"options\": " + options_json + "}";
    citadel_error error{};
    create_status_ = api_->create(nullptr, config.c_str(), &instance_, &error);
    create_error_ = create_status_ == CITADEL_OK ? "" : error.message;
    if (create_status_ == CITADEL_OK) {
      info_.struct_size = sizeof(info_);
      REQUIRE(api_->describe(instance_, &info_, &error) == CITADEL_OK);
      block_bytes_ = size_t{info_.tokens_per_block} * info_.num_layers * info_.bytes_per_token_per_layer;
    }
  }
  ~PluginHarness() {
    if (instance_ != nullptr) api_->destroy(instance_);
    if (library_ != nullptr) dlclose(library_);
  }
  PluginHarness(const PluginHarness&) = delete;
  PluginHarness& operator=(const PluginHarness&) = delete;

  citadel_status create_status() const { return create_status_; }
  const std::string& create_error() const { return create_error_; }
  const citadel_model_info& info() const { return info_; }

  // Opens a request; returns the status and fills `error` on failure.
  citadel_status open(uint64_t id, const std::string& input, std::string* error = nullptr) {
    citadel_request_plan plan{};
    plan.struct_size = sizeof(plan);
    citadel_error err{};
    const citadel_status status = api_->request_open(instance_, id, input.c_str(), nullptr, 0, &plan, &err);
    if (status != CITADEL_OK) {
      if (error) *error = err.message;
      return status;
    }
    Sequence& sequence = sequences_[id];
    sequence.known = plan.prompt_tokens;
    sequence.prompt.assign(plan.prompt_token_ids, plan.prompt_token_ids + plan.prompt_tokens);
    sequence.max_new = plan.max_new_tokens;
    return status;
  }
  const std::vector<int32_t>& prompt_ids(uint64_t id) { return sequences_.at(id).prompt; }

  // A batch over `items` with this build's strides, and its blank outputs.
  static citadel_step_batch raw_batch(const std::vector<citadel_step_item>& items) {
    return citadel_step_batch{sizeof(citadel_step_batch), static_cast<uint32_t>(items.size()),
                              sizeof(citadel_step_item), sizeof(citadel_step_output), items.data()};
  }
  static std::vector<citadel_step_output> raw_outputs(size_t count) {
    citadel_step_output blank{};
    blank.struct_size = sizeof(blank);
    return std::vector<citadel_step_output>(count, blank);
  }

  // One raw step over `items`; the outputs' pointers are valid until the next call.
  std::vector<citadel_step_output> step(const std::vector<citadel_step_item>& items) {
    const citadel_step_batch batch = raw_batch(items);
    std::vector<citadel_step_output> outputs = raw_outputs(items.size());
    citadel_error error{};
    REQUIRE(api_->step(instance_, &batch, outputs.data(), &error) == CITADEL_OK);
    return outputs;
  }
  size_t block_bytes() const { return block_bytes_; }

  // Runs the open requests to completion. Each step carries every unfinished
  // request (batched) or only the first one (not batched); a request's
  // prefill is cut into chunks of at most `chunk` tokens. With
  // `preempt_after` > 0, each request's cache is dropped once after that
  // many generated tokens and recomputed from position 0.
  std::map<uint64_t, GeneratedText> run(bool batched, uint32_t chunk, uint32_t preempt_after = 0) {
    std::map<uint64_t, GeneratedText> results;
    for (;;) {
      std::vector<citadel_step_item> items;
      std::vector<uint64_t> ids;
      for (auto& [id, sequence] : sequences_) {
        if (sequence.done) continue;
        if (preempt_after > 0 && !sequence.preempted && results[id].tokens.size() >= preempt_after) {
          sequence.preempted = true;
          sequence.computed = 0;
          for (auto& block : sequence.blocks) std::fill(block.begin(), block.end(), std::byte{0});
        }
        const uint32_t count = std::min(chunk, sequence.known - sequence.computed);
        ensure_blocks(sequence, sequence.computed + count);
        citadel_step_item item{};
        item.struct_size = sizeof(item);
        item.request_id = id;
        item.num_computed_tokens = sequence.computed;
        item.num_new_tokens = count;
        item.num_blocks = static_cast<uint32_t>(sequence.addresses.size());
        item.block_addresses = sequence.addresses.data();
        item.block_ids = sequence.ids.data();
        items.push_back(item);
        ids.push_back(id);
        if (!batched) break;
      }
      if (items.empty()) break;
      const citadel_step_batch batch = raw_batch(items);
      std::vector<citadel_step_output> outputs = raw_outputs(items.size());
      citadel_error error{};
      REQUIRE(api_->step(instance_, &batch, outputs.data(), &error) == CITADEL_OK);
      for (size_t i = 0; i < items.size(); ++i) {
        Sequence& sequence = sequences_.at(ids[i]);
        GeneratedText& result = results[ids[i]];
        const citadel_step_output& out = outputs[i];
        REQUIRE(out.request_id == ids[i]);
        sequence.computed += items[i].num_new_tokens;
        if (out.appended_tokens == 1) {
          result.tokens.push_back(out.token_id);
          ++sequence.known;
        }
        result.text.append(out.text, out.text_len);
        if (out.state != CITADEL_REQUEST_RUNNING) {
          sequence.done = true;
          result.finish_reason = out.finish_reason;
          if (out.state == CITADEL_REQUEST_FAILED) result.error = out.error ? out.error : "";
          api_->request_close(instance_, ids[i]);
        }
      }
    }
    sequences_.clear();
    return results;
  }

 private:
  struct Sequence {
    uint32_t known = 0, computed = 0, max_new = 0;
    bool done = false, preempted = false;
    std::vector<int32_t> prompt;
    std::vector<std::vector<std::byte>> blocks;
    std::vector<void*> addresses;
    std::vector<uint32_t> ids;  // unique across the harness's sequences, as the host's
  };
  void ensure_blocks(Sequence& sequence, uint32_t positions) {
    while (sequence.addresses.size() * info_.tokens_per_block < positions) {
      sequence.blocks.emplace_back(block_bytes_, std::byte{0});
      sequence.addresses.push_back(sequence.blocks.back().data());
      sequence.ids.push_back(next_block_id_++);
    }
  }

  void* library_ = nullptr;
  citadel_host_api host_{};
  const citadel_plugin_api* api_ = nullptr;
  citadel_instance* instance_ = nullptr;
  citadel_status create_status_ = CITADEL_OK;
  std::string create_error_;
  citadel_model_info info_{};
  size_t block_bytes_ = 0;
  uint32_t next_block_id_ = 0;
  std::map<uint64_t, Sequence> sequences_;
};

}  // namespace citadel::test
