// The throw_* shorthands of error.h.
#include "runtime/core/error.h"

namespace citadel::runtime {

void throw_invalid(const std::string& message) {
  throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, message);
}
void throw_not_found(const std::string& message) {
  throw RuntimeError(CITADEL_ERR_NOT_FOUND, message);
}
void throw_io(const std::string& message) { throw RuntimeError(CITADEL_ERR_IO, message); }
void throw_unsupported(const std::string& message) {
  throw RuntimeError(CITADEL_ERR_UNSUPPORTED, message);
}

}  // namespace citadel::runtime
