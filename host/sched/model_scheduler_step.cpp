// ModelScheduler's step: the batch handed to the plugin, its outputs copied
// out of plugin memory and checked against the ABI, and their effect on each
// sequence (tokens, events, prefix publishing, finishing). Split from
// model_scheduler.cpp for size.
#include "host/sched/model_scheduler.h"
#include "host/sched/sequence_blocks.h"

#include <chrono>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

namespace citadel::sched {

// A plugin step output copied out of plugin-owned memory.
struct ModelScheduler::StepResult {
  uint64_t request_id = 0;
  // The plugin's enum fields as the integers it wrote: a value outside the
  // enum is an ABI violation to report, and loading it as the enum type
  // would be undefined behaviour.
  int32_t state = CITADEL_REQUEST_RUNNING;
  int32_t finish_reason = CITADEL_FINISH_NONE;
  uint32_t appended_tokens = 0;
  int32_t token_id = -1;
  std::string text;
  std::vector<uint8_t> data;
  std::string data_type;
  std::string error;
  std::vector<PositionLogprobs> logprobs;
};

namespace {

// The integer a plugin stored in an enum field of a C struct, read without
// loading it as the enum type (a plugin may write any value there).
template <typename Enum>
int32_t stored_enum_value(const Enum& field) {
  static_assert(sizeof(Enum) == sizeof(int32_t));
  int32_t value = 0;
  std::memcpy(&value, &field, sizeof value);
  return value;
}

TokenLogprob copy_token_logprob(const citadel_token_logprob& source) {
  TokenLogprob token;
  token.token_id = source.token_id;
  token.logprob = source.logprob;
  if (source.text != nullptr) token.bytes.assign(source.text, source.text_len);
  return token;
}

// The output's logprobs, copied out of plugin memory.
std::vector<PositionLogprobs> copy_logprobs(const citadel_step_output& output) {
  std::vector<PositionLogprobs> copied;
  if (output.logprobs == nullptr) return copied;
  copied.reserve(output.num_logprobs);
  for (uint32_t p = 0; p < output.num_logprobs; ++p) {
    const citadel_position_logprobs& source = output.logprobs[p];
    PositionLogprobs entry;
    entry.position = output.logprobs_first_position + p;
    entry.token = copy_token_logprob(source.token);
    for (uint32_t t = 0; t < source.num_top && source.top != nullptr; ++t) {
      entry.top.push_back(copy_token_logprob(source.top[t]));
    }
    copied.push_back(std::move(entry));
  }
  return copied;
}

}  // namespace

std::string ModelScheduler::output_violation(const PlannedItem& item, const StepResult& result) const {
  const Sequence& sequence = *item.sequence;
  const std::string request = "request " + std::to_string(sequence.id);
  if (result.request_id != sequence.id) {
    return "the plugin answered for request " + std::to_string(result.request_id) + " in the place of " +
           std::to_string(sequence.id);
  }
  if (result.state != CITADEL_REQUEST_RUNNING && result.state != CITADEL_REQUEST_FINISHED &&
      result.state != CITADEL_REQUEST_FAILED && result.state != CITADEL_REQUEST_DEFERRED) {
    return "unknown request state " + std::to_string(result.state) + " for " + request;
  }
  if (result.state == CITADEL_REQUEST_DEFERRED) {
    if (result.appended_tokens != 0 || !result.text.empty() || !result.data.empty() || !result.logprobs.empty())
      return "the plugin deferred " + request + " but gave it a token, text, data or logprobs";
    return "";
  }
  if (result.state == CITADEL_REQUEST_FAILED) {
    return result.error.empty() ? "the plugin failed " + request + " without an error message" : "";
  }
  if (result.appended_tokens > 1) {
    return "appended_tokens is " + std::to_string(result.appended_tokens) + " for " + request +
           " (a step appends at most 1 token)";
  }
  const uint64_t processed_to = uint64_t(sequence.computed_tokens) + item.new_tokens;
  if (result.appended_tokens == 0 && result.state == CITADEL_REQUEST_RUNNING &&
      processed_to >= sequence.known_tokens) {
    return "the plugin processed every known token of " + request + " without appending one or finishing it";
  }
  if (result.appended_tokens == 1) {
    if (processed_to < sequence.known_tokens) {
      return "appended a token to " + request + " after processing positions up to " +
             std::to_string(processed_to) + " of its " + std::to_string(sequence.known_tokens) +
             " known tokens (appended_tokens is 1 only when the last known token was processed)";
    }
    const uint32_t vocab = instance_->info().vocab_size;
    if (result.token_id < 0 || (vocab > 0 && uint32_t(result.token_id) >= vocab)) {
      return "token id " + std::to_string(result.token_id) + " of " + request +
             " is outside the vocabulary [0, " + (vocab > 0 ? std::to_string(vocab) : "n") + ")";
    }
    if (sequence.max_new_tokens > 0 && sequence.completion_tokens + 1 > sequence.max_new_tokens) {
      return "appended token " + std::to_string(sequence.completion_tokens + 1) + " to " + request +
             ", which allows " + std::to_string(sequence.max_new_tokens) + " new tokens";
    }
  }
  return "";
}

// --- One step -------------------------------------------------------------------

void ModelScheduler::execute(const StepPlan& plan, Clock::time_point iteration_started) {
  const size_t count = plan.items.size();
  std::vector<citadel_step_item> items(count);
  const uint64_t layout_version = space_->layout_version();
  for (size_t i = 0; i < count; ++i) {
    Sequence& sequence = *plan.items[i].sequence;
    const std::span<void* const> addresses = step_block_addresses(*space_, sequence, layout_version);
    items[i] = plugins::make_step_item(sequence.id, sequence.computed_tokens, plan.items[i].new_tokens,
                                       sequence.blocks, addresses.data());
  }
  const citadel_step_batch batch = plugins::make_step_batch(items);

  std::vector<StepResult> results(count);
  std::string failure;
  citadel_status failure_status = CITADEL_OK;
  const Clock::time_point started = Clock::now();
  Clock::time_point plugin_returned = started;
  {
    DeviceTurn turn(arbiter_.get(), arbiter_id_);
    std::lock_guard lock(instance_mutex_);
    try {
      std::vector<citadel_step_output> outputs;
      try {
        instance_->step(batch, outputs);
      } catch (...) {
        plugin_returned = Clock::now();
        throw;
      }
      plugin_returned = Clock::now();
      for (size_t i = 0; i < count && i < outputs.size(); ++i) {
        const citadel_step_output& output = outputs[i];
        StepResult& result = results[i];
        result.request_id = output.request_id;
        result.state = stored_enum_value(output.state);
        result.finish_reason = stored_enum_value(output.finish_reason);
        result.appended_tokens = output.appended_tokens;
        result.token_id = output.token_id;
        if (output.text != nullptr) result.text.assign(output.text, output.text_len);
        if (output.data != nullptr) result.data.assign(output.data, output.data + output.data_len);
        if (output.data_type != nullptr) result.data_type = output.data_type;
        if (output.error != nullptr) result.error = output.error;
        result.logprobs = copy_logprobs(output);
      }
      if (outputs.size() < count) {
        failure = "the plugin returned " + std::to_string(outputs.size()) + " outputs for " +
                  std::to_string(count) + " requests";
        failure_status = CITADEL_ERR_INTERNAL;
      }
    } catch (const plugins::PluginCallError& e) {
      failure = e.what();
      failure_status = e.status();
    } catch (const std::exception& e) {
      failure = e.what();
      failure_status = CITADEL_ERR_INTERNAL;
    }
  }
  ++steps_;
  metrics_.observe_step(seconds_between(started, Clock::now()), static_cast<uint32_t>(count));

  if (!failure.empty()) {
    spdlog::error("model {}: step of {} requests failed: {}", model(), count, failure);
    // Running out of memory is transient (the requests fail with 503); any
    // other failed step counts towards the failed state, a device-fatal one
    // fails the model at once.
    if (failure_status == CITADEL_ERR_DEVICE_FATAL) {
      record_step_fault("device_fatal", failure, true, true);
    } else if (failure_status != CITADEL_ERR_OUT_OF_MEMORY) {
      record_step_fault("step_error", failure, false, false);
    }
    for (const PlannedItem& item : plan.items) {
      finish(item.sequence, FinishReason::error, "error", citadel_status_name(failure_status),
             "model " + model() + ": step failed: " + failure);
    }
    // The model's state changes before the replies go out. The step's
    // requests fail with the step's error; the others (if the model failed)
    // with model_failed, by the thread loop.
    return;
  }
  std::vector<std::string> violations(count);
  std::string first_violation;
  for (size_t i = 0; i < count; ++i) {
    violations[i] = output_violation(plan.items[i], results[i]);
    if (first_violation.empty()) first_violation = violations[i];
  }
  if (first_violation.empty()) {
    health_.record_clean_step();
  } else {
    spdlog::error("model {}: the plugin's step output is invalid: {}", model(), first_violation);
    record_step_fault("bad_output", first_violation, false, false);
  }
  size_t deferred = 0;
  for (size_t i = 0; i < count; ++i) {
    if (violations[i].empty() && results[i].state == CITADEL_REQUEST_DEFERRED) ++deferred;
    apply_result(plan.items[i], results[i], violations[i]);
  }
  deferred_items_ += deferred;
  if (deferred > 0) metrics_.count_deferred_items(deferred);
  metrics_.observe_step_host(seconds_between(iteration_started, Clock::now()) -
                             seconds_between(started, plugin_returned));
  // Nothing moved: give the inputs the plugin waits for a moment rather
  // than stepping again at once.
  if (deferred == count && count > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void ModelScheduler::apply_result(const PlannedItem& item, const StepResult& result,
                                  const std::string& violation) {
  const SequencePtr& sequence = item.sequence;
  if (!violation.empty()) {
    finish(sequence, FinishReason::error, "error", "plugin_output_invalid",
           "model " + model() + ": invalid step output: " + violation);
    return;
  }
  // Not processed (plugin.h): the same tokens go in a later step.
  if (result.state == CITADEL_REQUEST_DEFERRED) return;
  sequence->computed_tokens += item.new_tokens;
  publish_computed_prompt_blocks(*space_, *sequence);

  if (result.state == CITADEL_REQUEST_FAILED) {
    finish(sequence, FinishReason::error, "error", "internal",
           "model " + model() + ": " + result.error);
    return;
  }
  if (result.appended_tokens > 0) {
    sequence->known_tokens += result.appended_tokens;
    sequence->completion_tokens += result.appended_tokens;
    metrics_.count_generation_tokens(result.appended_tokens);
    const Clock::time_point now = Clock::now();
    if (!sequence->first_token_at) {
      sequence->first_token_at = now;
      metrics_.observe_time_to_first_token(seconds_between(sequence->arrival, now));
    } else {
      metrics_.observe_inter_token_latency(seconds_between(*sequence->last_token_at, now));
    }
    sequence->last_token_at = now;
  }
  if (!result.text.empty() || !result.data.empty() || !result.logprobs.empty()) {
    InferenceEvent event;
    event.request_id = sequence->id;
    event.text = result.text;
    event.token_id = result.token_id;
    event.data = result.data;
    event.data_type = result.data_type;
    event.logprobs = result.logprobs;
    event.usage = Usage{sequence->prompt_tokens, sequence->completion_tokens, sequence->cached_prompt_tokens};
    deliver(*sequence, event);
  }
  if (result.state == CITADEL_REQUEST_FINISHED) {
    const FinishReason reason =
        result.finish_reason == CITADEL_FINISH_LENGTH ? FinishReason::length : FinishReason::stop;
    finish(sequence, reason, to_string(reason));
    return;
  }
  if (sequence->remaining_tokens() == 0) {
    finish(sequence, FinishReason::error, "error", "internal",
           "model " + model() + ": the plugin processed every known token of request " +
               std::to_string(sequence->id) + " without producing a new one");
    return;
  }
  const uint32_t max_context = instance_->info().max_context_tokens;
  if (max_context > 0 && sequence->known_tokens > max_context) {
    finish(sequence, FinishReason::length, "length");
  }
}

}  // namespace citadel::sched
