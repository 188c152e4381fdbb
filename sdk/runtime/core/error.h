// The runtime's exception type: a PluginError (so sdk.hpp's trampolines turn it
// into the right citadel_status) whose message names the file, tensor or field.
// Thrown by every sdk/runtime module; plugins may throw it too. Includes
// sdk.hpp (and thus Boost.JSON): keep it out of .cu files.
#pragma once

#include <citadel/sdk.hpp>

#include <string>

namespace citadel::runtime {

class RuntimeError : public citadel::sdk::PluginError {
 public:
  using citadel::sdk::PluginError::PluginError;
};

// Shorthands for the common statuses.
[[noreturn]] void throw_invalid(const std::string& message);      // CITADEL_ERR_INVALID_ARGUMENT
[[noreturn]] void throw_not_found(const std::string& message);    // CITADEL_ERR_NOT_FOUND
[[noreturn]] void throw_io(const std::string& message);           // CITADEL_ERR_IO
[[noreturn]] void throw_unsupported(const std::string& message);  // CITADEL_ERR_UNSUPPORTED

}  // namespace citadel::runtime
