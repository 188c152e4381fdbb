// StepOutputs: a step's output records, their strings and block tables.
#include <citadel/step_outputs.hpp>

namespace citadel::sdk {

void StepOutputs::begin(const citadel_step_batch& batch, citadel_step_output* outputs) {
  items_ = batch.items;
  outputs_ = outputs;
  may_defer_ = step_may_defer(batch);
  const size_t count = batch.num_items;
  text_.assign(count, std::string());
  error_.assign(count, std::string());
  blocks_.assign(count, std::vector<void*>());
  for (size_t i = 0; i < count; ++i) {
    citadel_step_output& out = outputs[i];
    out = citadel_step_output{};
    out.request_id = batch.items[i].request_id;
    out.state = CITADEL_REQUEST_RUNNING;
    out.token_id = -1;
  }
}

void StepOutputs::fail(size_t i, std::string message) {
  error_[i] = std::move(message);
  outputs_[i].state = CITADEL_REQUEST_FAILED;
  outputs_[i].finish_reason = CITADEL_FINISH_ERROR;
}

void StepOutputs::append(size_t i, int32_t token, std::string text) {
  outputs_[i].appended_tokens = 1;
  outputs_[i].token_id = token;
  text_[i] = std::move(text);
}

void StepOutputs::finish(size_t i, citadel_finish_reason reason) {
  outputs_[i].state = CITADEL_REQUEST_FINISHED;
  outputs_[i].finish_reason = reason;
}

void StepOutputs::defer(size_t i) {
  if (!may_defer_) throw PluginError(CITADEL_ERR_INTERNAL, "a step item was deferred in a batch that does not allow it");
  outputs_[i].state = CITADEL_REQUEST_DEFERRED;
  outputs_[i].appended_tokens = 0;
  outputs_[i].token_id = -1;
  text_[i].clear();
}

std::span<void* const> StepOutputs::blocks(size_t i, const Host& host) {
  const citadel_step_item& item = items_[i];
  if (item.block_addresses != nullptr) return {item.block_addresses, item.num_blocks};
  std::vector<void*>& addresses = blocks_[i];
  addresses.clear();
  for (uint32_t b = 0; b < item.num_blocks && item.block_ids != nullptr; ++b) {
    void* address = host.block_address(item.block_ids[b]);
    if (address == nullptr) break;
    addresses.push_back(address);
  }
  return addresses;
}

void StepOutputs::publish() {
  for (size_t i = 0; i < text_.size(); ++i) {
    outputs_[i].text = text_[i].c_str();
    outputs_[i].text_len = static_cast<uint32_t>(text_[i].size());
    outputs_[i].error = outputs_[i].state == CITADEL_REQUEST_FAILED ? error_[i].c_str() : nullptr;
  }
}

}  // namespace citadel::sdk
