// The echo test plugin: a text-generation "model" that echoes its prompt back
// (cycling) and uses the host's cache blocks for real. Each processed token
// writes a (token, position, layer) pattern into its KV entry; every step
// checks the entries of all earlier positions and fails the request if any
// was corrupted, which is how the tests prove that swap, compaction and
// prefix sharing keep cache data intact. Prompt bytes inside a declared
// content run stand for that content (as vision tokens stand for an image):
// the plugin declares each run's content hash as a prefix-cache extra key and
// writes the hash into those positions' entries, so two runs of equal bytes
// but different content sharing a block is caught as corruption. Option
// defer_first_steps defers each request's first steps (ABI 2.2), as a
// plugin waiting for an input would; device_claims declares memory on other
// devices (ABI 2.4), as llm-gptq's tensor-parallel ranks do.
//
// Built several times (tests/plugins/CMakeLists.txt) with compile-time knobs:
// ECHO_PLUGIN_NAME (the name its entry table reports; "echo"), ECHO_VERSION,
// ECHO_TEXT_PREFIX (v2 prefixes "v2:"), ECHO_ABI_MAJOR (a wrong ABI) and
// ECHO_NO_ENTRY (no entry symbol).
#include "echo_cache_pattern.hpp"
#include "echo_input.hpp"

#include <citadel/sdk.hpp>
#include <citadel/step_outputs.hpp>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#ifndef ECHO_PLUGIN_NAME
#define ECHO_PLUGIN_NAME "echo"
#endif
#ifndef ECHO_VERSION
#define ECHO_VERSION "1.0.0"
#endif
#ifndef ECHO_TEXT_PREFIX
#define ECHO_TEXT_PREFIX ""
#endif

namespace citadel::test::echo {
namespace {

struct EchoOptions {
  uint32_t step_delay_ms = 0;
  uint32_t max_context_tokens = 4096;
  uint32_t max_batch_requests = 64;
  uint32_t max_step_tokens = 2048;
  bool fail_create = false;
  bool no_swap = false;  // describe() sets CITADEL_CACHE_NO_SWAP
  uint32_t defer_first_steps = 0;  // each request's first steps deferred, where the host takes that
  BlockLayout layout;
  // describe()'s device claims (ABI 2.4), as a tensor-parallel model's ranks
  // on other devices would declare them: [{device: cpu | cuda:N,
  // fixed_bytes, bytes_per_block, blocks_per_chunk}].
  std::vector<citadel_device_claim> device_claims;
};

uint32_t option_uint(const boost::json::value& value, const std::string& key, uint32_t minimum,
                     uint32_t maximum) {
  if (!value.is_int64() && !value.is_uint64()) {
    throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "option " + key + ": must be an integer");
  }
  const int64_t number = value.to_number<int64_t>();
  if (number < minimum || number > maximum) {
    throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT,
                           "option " + key + ": " + std::to_string(number) + " is outside [" +
                               std::to_string(minimum) + ", " + std::to_string(maximum) + "]");
  }
  return static_cast<uint32_t>(number);
}

uint64_t option_bytes(const boost::json::object& object, const char* key) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr) return 0;
  if (!value->is_int64() && !value->is_uint64()) {
    throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, std::string("option device_claims: ") + key +
                                                             ": must be an integer");
  }
  return value->to_number<uint64_t>();
}

std::vector<citadel_device_claim> parse_device_claims(const boost::json::value& value) {
  if (!value.is_array()) throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "option device_claims: must be a list");
  std::vector<citadel_device_claim> claims;
  for (const boost::json::value& entry : value.as_array()) {
    if (!entry.is_object() || !entry.as_object().contains("device") ||
        !entry.as_object().at("device").is_string()) {
      throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "option device_claims: each entry needs a device");
    }
    const boost::json::object& object = entry.as_object();
    const std::string device(object.at("device").as_string());
    citadel_device_claim claim{};
    // Passed as given ("cuda:-1" too): the host's checks are what the tests look at.
    claim.kind = device.rfind("cuda:", 0) == 0 ? CITADEL_DEVICE_CUDA : CITADEL_DEVICE_CPU;
    claim.ordinal = claim.kind == CITADEL_DEVICE_CUDA ? std::stoi(device.substr(5)) : -1;
    claim.fixed_bytes = option_bytes(object, "fixed_bytes");
    claim.bytes_per_block = option_bytes(object, "bytes_per_block");
    claim.blocks_per_chunk = static_cast<uint32_t>(option_bytes(object, "blocks_per_chunk"));
    claims.push_back(claim);
  }
  return claims;
}

EchoOptions parse_options(const boost::json::object& options) {
  EchoOptions result;
  for (const auto& [key_view, value] : options) {
    const std::string key(key_view);
    if (key == "step_delay_ms") {
      result.step_delay_ms = option_uint(value, key, 0, 60000);
    } else if (key == "num_layers") {
      result.layout.num_layers = option_uint(value, key, 1, 1024);
    } else if (key == "bytes_per_token_per_layer") {
      result.layout.bytes_per_token_per_layer = option_uint(value, key, 16, 1 << 20);
    } else if (key == "tokens_per_block") {
      result.layout.tokens_per_block = option_uint(value, key, 1, 4096);
    } else if (key == "max_context_tokens") {
      result.max_context_tokens = option_uint(value, key, 2, 1 << 24);
    } else if (key == "max_batch_requests") {
      result.max_batch_requests = option_uint(value, key, 1, 4096);
    } else if (key == "max_step_tokens") {
      result.max_step_tokens = option_uint(value, key, 1, 1 << 24);
    } else if (key == "defer_first_steps") {
      result.defer_first_steps = option_uint(value, key, 0, 1000);
    } else if (key == "no_swap") {
      if (!value.is_bool()) throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "option no_swap: must be a boolean");
      result.no_swap = value.as_bool();
    } else if (key == "device_claims") {
      result.device_claims = parse_device_claims(value);
    } else if (key == "fail_create") {
      if (!value.is_bool()) {
        throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "option fail_create: must be a boolean");
      }
      result.fail_create = value.as_bool();
    } else {
      throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "unknown option " + key);
    }
  }
  return result;
}

// One open request: its known token sequence (prompt, then generated bytes)
// and the text not yet handed out.
struct EchoRequest {
  std::vector<int32_t> tokens;
  std::vector<int32_t> cache_identity;  // what each position's entry records
  std::vector<citadel_prefix_extra_key> extra_keys;
  uint32_t prompt_tokens = 0;
  uint32_t max_new_tokens = 0;
  std::vector<std::string> stop;
  std::string generated;  // bytes generated so far
  size_t emitted = 0;     // bytes of `generated` already returned as text
  uint32_t deferred = 0;  // steps deferred so far
  bool finished = false;
  std::string text;       // this step's text (pointed to by the output)
  std::string error;      // this step's error (pointed to by the output)
};

// 64-bit FNV-1a of `text` from `basis` (two bases give a 128-bit content key).
uint64_t fnv1a(const std::string& text, uint64_t basis) {
  uint64_t hash = basis;
  for (unsigned char byte : text) {
    hash ^= byte;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// Longest prefix length <= limit of `text` that does not cut a UTF-8 character.
size_t utf8_boundary(const std::string& text, size_t limit) {
  while (limit > 0 && limit < text.size() &&
         (static_cast<unsigned char>(text[limit]) & 0xC0) == 0x80) {
    --limit;
  }
  return limit;
}

class EchoModel : public sdk::Model {
 public:
  EchoModel(const sdk::Host& host, const sdk::ModelConfig& config)
      : host_(host), name_(config.name), options_(parse_options(config.options)) {
    if (options_.fail_create) {
      throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT,
                             "echo: model " + name_ + ": create failed because option fail_create is true");
    }
    version_ = std::string("echo ") + ECHO_VERSION;
    host_.info("echo " ECHO_VERSION " instance " + name_ + " created");
  }

  citadel_model_info describe() override {
    citadel_model_info info{};
    info.task = CITADEL_TASK_TEXT_GENERATION;
    info.num_layers = options_.layout.num_layers;
    info.tokens_per_block = options_.layout.tokens_per_block;
    info.bytes_per_token_per_layer = options_.layout.bytes_per_token_per_layer;
    info.max_context_tokens = options_.max_context_tokens;
    info.max_batch_requests = options_.max_batch_requests;
    info.max_step_tokens = options_.max_step_tokens;
    info.model_version = version_.c_str();
    if (options_.no_swap) info.cache_flags = CITADEL_CACHE_NO_SWAP;
    info.num_device_claims = static_cast<uint32_t>(options_.device_claims.size());
    info.device_claims = options_.device_claims.empty() ? nullptr : options_.device_claims.data();
    return info;
  }

  sdk::RequestPlan open_request(uint64_t request_id, std::string_view input_json,
                                std::span<const uint8_t>) override {
    TextGenerationInput input = parse_text_generation_input(input_json);
    if (input.prompt.size() >= options_.max_context_tokens) {
      throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT,
                             "input: prompt: " + std::to_string(input.prompt.size()) +
                                 " tokens do not fit the context of " +
                                 std::to_string(options_.max_context_tokens));
    }
    EchoRequest request;
    for (unsigned char byte : input.prompt) request.tokens.push_back(byte);
    request.prompt_tokens = static_cast<uint32_t>(request.tokens.size());
    request.cache_identity = request.tokens;
    for (const ContentRun& run : input.content_runs) {
      const citadel_prefix_extra_key key{run.begin, run.end, fnv1a(run.content, 0xcbf29ce484222325ull),
                                         fnv1a(run.content, 0x84222325cbf29ce4ull)};
      request.extra_keys.push_back(key);
      for (uint32_t position = run.begin; position < run.end; ++position) {
        request.cache_identity[position] ^= static_cast<int32_t>(key.hash_low & 0x7fffff00u);
      }
    }
    request.max_new_tokens =
        std::min<uint32_t>(input.max_tokens, options_.max_context_tokens - request.prompt_tokens);
    request.stop = std::move(input.stop);
    auto [it, inserted] = requests_.insert_or_assign(request_id, std::move(request));
    (void)inserted;
    sdk::RequestPlan plan;
    plan.prompt_tokens = it->second.prompt_tokens;
    plan.max_new_tokens = it->second.max_new_tokens;
    plan.prompt_token_ids = it->second.tokens.data();
    plan.extra_keys = it->second.extra_keys;
    return plan;
  }

  void step(const citadel_step_batch& batch, citadel_step_output* outputs) override {
    if (options_.step_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.step_delay_ms));
    }
    const bool may_defer = sdk::step_may_defer(batch);
    for (uint32_t i = 0; i < batch.num_items; ++i) step_one(batch.items[i], outputs[i], may_defer);
    host_.counter_add("echo_steps_total", 1.0);
    // Named without _total: the host must append it (Prometheus conventions).
    host_.counter_add("echo_batch_items", static_cast<double>(batch.num_items));
    host_.gauge_set("echo_open_requests", static_cast<double>(requests_.size()));
  }

  void close_request(uint64_t request_id) override { requests_.erase(request_id); }

 private:
  void* block_address(const citadel_step_item& item, uint32_t index) const {
    if (item.block_addresses != nullptr && item.block_addresses[index] != nullptr) {
      return item.block_addresses[index];
    }
    return host_.block_address(item.block_ids[index]);
  }

  // Pointer to the entry of `position` at `layer`, or null when the item's
  // block table does not cover the position.
  uint8_t* entry(const citadel_step_item& item, uint32_t position, uint32_t layer) const {
    const uint32_t block = position / options_.layout.tokens_per_block;
    if (block >= item.num_blocks) return nullptr;
    auto* base = static_cast<uint8_t*>(block_address(item, block));
    if (base == nullptr) return nullptr;
    return base + options_.layout.entry_offset(position % options_.layout.tokens_per_block, layer);
  }

  static void fail(EchoRequest& request, citadel_step_output& output, std::string message) {
    request.error = std::move(message);
    request.finished = true;
    output.state = CITADEL_REQUEST_FAILED;
    output.finish_reason = CITADEL_FINISH_ERROR;
    output.error = request.error.c_str();
  }

  void step_one(const citadel_step_item& item, citadel_step_output& output, bool may_defer) {
    auto found = requests_.find(item.request_id);
    if (found == requests_.end()) {
      unknown_request_error_ = "echo: unknown request " + std::to_string(item.request_id);
      output.state = CITADEL_REQUEST_FAILED;
      output.finish_reason = CITADEL_FINISH_ERROR;
      output.error = unknown_request_error_.c_str();
      return;
    }
    EchoRequest& request = found->second;
    request.text.clear();
    if (may_defer && request.deferred < options_.defer_first_steps && !request.finished) {
      ++request.deferred;
      output.state = CITADEL_REQUEST_DEFERRED;  // nothing written, nothing appended
      return;
    }
    const uint64_t entry_bytes = options_.layout.bytes_per_token_per_layer;
    const uint32_t known = static_cast<uint32_t>(request.tokens.size());
    const uint32_t end = item.num_computed_tokens + item.num_new_tokens;
    if (request.finished) return fail(request, output, "echo: request stepped after it finished");
    if (item.num_new_tokens == 0 || end > known) {
      return fail(request, output,
                  "echo: step asks for positions [" + std::to_string(item.num_computed_tokens) +
                      ", " + std::to_string(end) + ") but the request knows " +
                      std::to_string(known) + " tokens");
    }
    // Check every position already in the cache.
    for (uint32_t position = 0; position < item.num_computed_tokens; ++position) {
      for (uint32_t layer = 0; layer < options_.layout.num_layers; ++layer) {
        const uint8_t* cached = entry(item, position, layer);
        if (cached == nullptr) {
          return fail(request, output,
                      "echo: cache block for position " + std::to_string(position) + " missing");
        }
        if (auto problem = check_entry(cached, entry_bytes, request.cache_identity[position], position, layer)) {
          return fail(request, output, "echo: cache corrupted at position " +
                                           std::to_string(position) + ": " + *problem);
        }
      }
    }
    // Write the new positions.
    for (uint32_t position = item.num_computed_tokens; position < end; ++position) {
      for (uint32_t layer = 0; layer < options_.layout.num_layers; ++layer) {
        uint8_t* target = entry(item, position, layer);
        if (target == nullptr) {
          return fail(request, output,
                      "echo: no cache block for position " + std::to_string(position));
        }
        write_entry(target, entry_bytes, request.cache_identity[position], position, layer);
      }
    }
    output.state = CITADEL_REQUEST_RUNNING;
    if (end == known) sample(request, output);
    output.text = request.text.c_str();
    output.text_len = static_cast<uint32_t>(request.text.size());
  }

  // Appends the next echoed byte and decides whether the request is done.
  void sample(EchoRequest& request, citadel_step_output& output) {
    const uint32_t produced = static_cast<uint32_t>(request.generated.size());
    const int32_t token = request.tokens[produced % request.prompt_tokens];
    request.tokens.push_back(token);
    request.cache_identity.push_back(token);
    request.generated.push_back(static_cast<char>(token));
    output.appended_tokens = 1;
    output.token_id = token;

    size_t emit_until = request.generated.size();
    bool done = false;
    for (const std::string& stop : request.stop) {
      if (request.generated.size() >= stop.size() &&
          request.generated.compare(request.generated.size() - stop.size(), stop.size(), stop) == 0) {
        emit_until = std::max(request.emitted, request.generated.size() - stop.size());
        output.finish_reason = CITADEL_FINISH_STOP;
        done = true;
        break;
      }
    }
    if (!done && request.generated.size() >= request.max_new_tokens) {
      output.finish_reason = CITADEL_FINISH_LENGTH;
      done = true;
    }
    if (!done) {
      // Hold back what could still become a stop string, and partial UTF-8.
      size_t hold = 0;
      for (const std::string& stop : request.stop) hold = std::max(hold, stop.size() - 1);
      emit_until = request.generated.size() > hold ? request.generated.size() - hold : 0;
      emit_until = std::max(request.emitted, utf8_boundary(request.generated, emit_until));
    }
    if (produced == 0) request.text = ECHO_TEXT_PREFIX;
    request.text += request.generated.substr(request.emitted, emit_until - request.emitted);
    request.emitted = emit_until;
    if (done) {
      request.finished = true;
      output.state = CITADEL_REQUEST_FINISHED;
    }
  }

  sdk::Host host_;
  std::string name_;
  EchoOptions options_;
  std::string version_;
  std::map<uint64_t, EchoRequest> requests_;
  std::string unknown_request_error_;
};

}  // namespace
}  // namespace citadel::test::echo

#if defined(ECHO_NO_ENTRY)
// The entry function under another name: the host must refuse this library
// with a clear message naming the missing symbol.
extern "C" CITADEL_EXPORT const citadel_plugin_api* citadel_plugin_entry_misspelled(
    const citadel_host_api* host) {
  return ::citadel::sdk::detail::make_plugin_api(
      host, ECHO_PLUGIN_NAME, ECHO_VERSION,
      [](const ::citadel::sdk::Host& h, const ::citadel::sdk::ModelConfig& c) -> ::citadel::sdk::Model* {
        return new ::citadel::test::echo::EchoModel(h, c);
      });
}
#elif defined(ECHO_ABI_MAJOR)
// Reports another ABI major: the host must refuse it before calling anything.
extern "C" CITADEL_EXPORT const citadel_plugin_api* citadel_plugin_entry(
    const citadel_host_api* host) {
  static citadel_plugin_api api = *::citadel::sdk::detail::make_plugin_api(
      host, ECHO_PLUGIN_NAME, ECHO_VERSION,
      [](const ::citadel::sdk::Host& h, const ::citadel::sdk::ModelConfig& c) -> ::citadel::sdk::Model* {
        return new ::citadel::test::echo::EchoModel(h, c);
      });
  api.abi_major = ECHO_ABI_MAJOR;
  return &api;
}
#else
CITADEL_REGISTER_PLUGIN(::citadel::test::echo::EchoModel, ECHO_PLUGIN_NAME, ECHO_VERSION)
#endif
