#include "host/sched/request.h"

namespace citadel::sched {

const char* to_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::none: return "none";
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::cancelled: return "cancelled";
    case FinishReason::error: return "error";
  }
  return "none";
}

const char* to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::none: return "none";
    case RejectReason::unknown_model: return "unknown_model";
    case RejectReason::queue_full: return "queue_full";
    case RejectReason::invalid_input: return "invalid_input";
    case RejectReason::draining: return "draining";
    case RejectReason::too_large: return "too_large";
  }
  return "none";
}

TokenizerReply RequestRouter::tokenize(const std::string& model, const std::string&) {
  TokenizerReply reply;
  reply.rejection = Rejection{RejectReason::unknown_model, "model '" + model + "' does not exist", 0};
  return reply;
}

TokenizerReply RequestRouter::detokenize(const std::string& model, const std::vector<int32_t>&) {
  TokenizerReply reply;
  reply.rejection = Rejection{RejectReason::unknown_model, "model '" + model + "' does not exist", 0};
  return reply;
}

}  // namespace citadel::sched
