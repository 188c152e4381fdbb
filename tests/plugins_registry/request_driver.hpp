// drive_request: runs one request on a ModelInstance the way a scheduler
// would (prefill in chunks, then one decode token per step, blocks allocated
// from the instance's cache space as positions grow), without host/sched.
//
// Used by the plugin registry's unit tests only.
#pragma once

#include "host/plugins/model_instance.h"

#include <functional>
#include <string>
#include <vector>

namespace citadel::test {

struct DrivenRequest {
  std::string text;
  citadel_request_state state = CITADEL_REQUEST_RUNNING;
  citadel_finish_reason finish_reason = CITADEL_FINISH_NONE;
  std::string error;
  uint32_t steps = 0;
  std::vector<cache::BlockId> blocks;
};

// `between_steps` runs after every step with the request's blocks so far.
inline DrivenRequest drive_request(
    plugins::ModelInstance& instance, uint64_t request_id, const std::string& input_json,
    uint32_t prefill_chunk = 1000,
    const std::function<void(const std::vector<cache::BlockId>&)>& between_steps = {}) {
  DrivenRequest result;
  citadel_request_plan plan = instance.open_request(request_id, input_json, {});
  auto space = instance.cache_space();
  const uint32_t tokens_per_block = instance.info().tokens_per_block;
  uint32_t known = plan.prompt_tokens;
  uint32_t computed = 0;
  std::vector<citadel_step_output> outputs;
  while (result.state == CITADEL_REQUEST_RUNNING && result.steps < 100000) {
    const uint32_t fresh = std::min(known - computed, prefill_chunk);
    const uint32_t needed_blocks = (computed + fresh + tokens_per_block - 1) / tokens_per_block;
    if (needed_blocks > result.blocks.size()) {
      if (!space->allocate(needed_blocks - static_cast<uint32_t>(result.blocks.size()), result.blocks)) {
        result.error = "test cache space is full";
        break;
      }
    }
    std::vector<void*> addresses;
    for (cache::BlockId id : result.blocks) addresses.push_back(space->address(id));
    const citadel_step_item item =
        plugins::make_step_item(request_id, computed, fresh, result.blocks, addresses.data());
    const citadel_step_batch batch = plugins::make_step_batch(std::span(&item, 1));
    instance.step(batch, outputs);
    ++result.steps;
    const citadel_step_output& output = outputs.at(0);
    if (output.text != nullptr) result.text.append(output.text, output.text_len);
    result.state = output.state;
    result.finish_reason = output.finish_reason;
    if (output.error != nullptr) result.error = output.error;
    computed += fresh;
    known += output.appended_tokens;
    if (between_steps) between_steps(result.blocks);
  }
  instance.close_request(request_id);
  space->release(result.blocks);
  return result;
}

}  // namespace citadel::test
