// citadel/step_outputs.hpp — what a plugin's step() keeps behind its
// outputs: each output reset for its item (request id, RUNNING, no token),
// the text and error strings the outputs point at (valid until the next
// step, as plugin.h requires), each item's cache block addresses (the
// item's own, or else the host's answer per block id), and items deferred
// where the host takes that.
//
// Used by the model plugins' step loops (llm-gptq, deepseek-ocr); one per
// model instance, called from the instance's thread only.
#pragma once

#include <citadel/plugin.h>
#include <citadel/sdk.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace citadel::sdk {

// Whether the host takes CITADEL_REQUEST_DEFERRED outputs in this batch
// (ABI 2.2: its flags, when its struct_size covers them).
inline bool step_may_defer(const citadel_step_batch& batch) {
  return batch.struct_size >= offsetof(citadel_step_batch, flags) + sizeof(batch.flags) &&
         (batch.flags & CITADEL_STEP_MAY_DEFER) != 0;
}

class StepOutputs {
 public:
  // Starts a step over batch.items: outputs[i] = {request id, RUNNING,
  // token -1}, strings and block tables cleared.
  void begin(const citadel_step_batch& batch, citadel_step_output* outputs);
  size_t size() const { return text_.size(); }

  // Item i failed: state FAILED, finish reason ERROR, `message` as its error.
  void fail(size_t i, std::string message);
  // Item i appended `token`; `text` is what it produced.
  void append(size_t i, int32_t token, std::string text);
  // Item i is done (STOP, LENGTH, ...).
  void finish(size_t i, citadel_finish_reason reason);
  // Whether the host takes deferred items in this step (ABI 2.2).
  bool may_defer() const { return may_defer_; }
  // Item i was not processed: an input is not ready (plugin.h,
  // CITADEL_REQUEST_DEFERRED). Only when may_defer(); throws PluginError
  // (INTERNAL) otherwise.
  void defer(size_t i);

  // Item i's block addresses: the item's own, else the host's for each block
  // id, stopping at the first id the host does not know (so a result shorter
  // than item.num_blocks means a block has no address).
  std::span<void* const> blocks(size_t i, const Host& host);

  // Points every output's text and error at the strings kept here.
  void publish();

 private:
  const citadel_step_item* items_ = nullptr;
  citadel_step_output* outputs_ = nullptr;
  bool may_defer_ = false;
  std::vector<std::string> text_, error_;
  std::vector<std::vector<void*>> blocks_;
};

}  // namespace citadel::sdk
