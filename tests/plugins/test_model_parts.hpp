// Pieces the single-purpose test plugins share (faulty_plugin.cpp,
// image_probe_plugin.cpp, video_plugin.cpp): the model_info of a one-layer
// test model, and the lookup of a step item's request that fails an unknown
// one. Header-only; like any plugin code it includes only the SDK.
#pragma once

#include <citadel/plugin.h>

#include <cstdint>
#include <map>

namespace citadel::test {

// What differs between the test models; one layer, 16 tokens a block.
struct TestModelShape {
  citadel_task_kind task = CITADEL_TASK_TEXT_GENERATION;
  uint64_t bytes_per_token_per_layer = 16;
  uint32_t max_context_tokens = 0;
  uint32_t max_batch_requests = 0;
  uint32_t max_step_tokens = 0;
  const char* model_version = "";  // a literal: it outlives the instance
  uint32_t vocab_size = 0;         // 0: not stated
};

inline citadel_model_info one_layer_model_info(const TestModelShape& shape) {
  citadel_model_info info{};
  info.task = shape.task;
  info.num_layers = 1;
  info.tokens_per_block = 16;
  info.bytes_per_token_per_layer = shape.bytes_per_token_per_layer;
  info.max_context_tokens = shape.max_context_tokens;
  info.max_batch_requests = shape.max_batch_requests;
  info.max_step_tokens = shape.max_step_tokens;
  info.model_version = shape.model_version;
  info.vocab_size = shape.vocab_size;
  return info;
}

// The request a step item is for; nullptr after failing `output` with
// `unknown_error` (a literal) when there is none.
template <class Request>
Request* find_step_request(std::map<uint64_t, Request>& requests, const citadel_step_item& item,
                           citadel_step_output& output, const char* unknown_error) {
  const auto found = requests.find(item.request_id);
  if (found != requests.end()) return &found->second;
  output.state = CITADEL_REQUEST_FAILED;
  output.finish_reason = CITADEL_FINISH_ERROR;
  output.error = unknown_error;
  return nullptr;
}

}  // namespace citadel::test
