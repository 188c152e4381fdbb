// ModelScheduler's tokenizer calls (/tokenize, /detokenize): the plugin's
// optional tokenize / detokenize operations, run between steps under the
// instance lock. Split from model_scheduler.cpp for size.
#include "host/sched/model_scheduler.h"

namespace citadel::sched {

namespace {

template <typename Call>
TokenizerReply tokenizer_call(uint32_t max_model_len, std::mutex& mutex, Call&& call) {
  TokenizerReply reply;
  reply.max_model_len = max_model_len;
  try {
    std::lock_guard lock(mutex);
    call(reply);
  } catch (const std::exception& e) {
    reply.rejection = Rejection{RejectReason::invalid_input, e.what(), 0};
  }
  return reply;
}

}  // namespace

TokenizerReply ModelScheduler::tokenize(const std::string& input_json) {
  return tokenizer_call(instance_->info().max_context_tokens, instance_mutex_,
                        [&](TokenizerReply& reply) { reply.tokens = instance_->tokenize(input_json); });
}

TokenizerReply ModelScheduler::detokenize(const std::vector<int32_t>& tokens) {
  return tokenizer_call(instance_->info().max_context_tokens, instance_mutex_,
                        [&](TokenizerReply& reply) { reply.text = instance_->detokenize(tokens); });
}

}  // namespace citadel::sched
