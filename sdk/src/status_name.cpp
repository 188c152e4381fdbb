// citadel_status_name: the one table of status names, linked into the SDK and
// the host alike (target citadel_abi).
#include <citadel/plugin.h>

extern "C" const char* citadel_status_name(citadel_status status) {
  switch (status) {
    case CITADEL_OK: return "ok";
    case CITADEL_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case CITADEL_ERR_NOT_FOUND: return "not_found";
    case CITADEL_ERR_OUT_OF_MEMORY: return "out_of_memory";
    case CITADEL_ERR_UNSUPPORTED: return "unsupported";
    case CITADEL_ERR_INTERNAL: return "internal";
    case CITADEL_ERR_CANCELLED: return "cancelled";
    case CITADEL_ERR_IO: return "io";
    case CITADEL_ERR_ABI_MISMATCH: return "abi_mismatch";
    case CITADEL_ERR_DEVICE_FATAL: return "device_fatal";
  }
  return "unknown";
}
