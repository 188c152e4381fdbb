#include "host/config/model_config.h"

namespace citadel::config {

std::string SourceLocation::to_string() const {
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

const char* to_string(EvictionPolicyKind kind) {
  switch (kind) {
    case EvictionPolicyKind::lru: return "lru";
    case EvictionPolicyKind::lfu: return "lfu";
    case EvictionPolicyKind::size_aware_lru: return "size_aware_lru";
    case EvictionPolicyKind::adaptive: return "adaptive";
  }
  return "lru";
}

std::optional<EvictionPolicyKind> parse_eviction_policy(const std::string& text) {
  if (text == "lru") return EvictionPolicyKind::lru;
  if (text == "lfu") return EvictionPolicyKind::lfu;
  if (text == "size_aware_lru") return EvictionPolicyKind::size_aware_lru;
  if (text == "adaptive") return EvictionPolicyKind::adaptive;
  return std::nullopt;
}

}  // namespace citadel::config
