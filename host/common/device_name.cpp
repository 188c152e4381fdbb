#include "host/common/device_name.h"

#include <charconv>
#include <stdexcept>

namespace citadel::common {

DeviceName DeviceName::parse(const std::string& text) {
  if (text == "cpu") return DeviceName{};
  if (text == "cuda") return DeviceName{CITADEL_DEVICE_CUDA, 0};
  constexpr std::string_view prefix = "cuda:";
  if (text.starts_with(prefix)) {
    int ordinal = -1;
    const char* first = text.data() + prefix.size();
    const char* last = text.data() + text.size();
    auto [end, error] = std::from_chars(first, last, ordinal);
    if (error == std::errc() && end == last && first != last && ordinal >= 0) {
      return DeviceName{CITADEL_DEVICE_CUDA, ordinal};
    }
  }
  throw std::invalid_argument("device \"" + text + "\": expected cpu or cuda:N");
}

std::string DeviceName::to_string() const {
  return kind == CITADEL_DEVICE_CUDA ? "cuda:" + std::to_string(ordinal) : "cpu";
}

}  // namespace citadel::common
