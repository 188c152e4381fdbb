// The echo test plugin's cache pattern: what it writes into a KV block for
// one (token, position, layer) and how it checks it later. A mismatch means
// the host moved, swapped or shared cache blocks incorrectly.
//
// Used by echo_plugin.cpp only (header-only, test code).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace citadel::test::echo {

// Where the entry of (slot, layer) lives inside one block: layer-major, then
// slot, each entry bytes_per_token_per_layer long.
struct BlockLayout {
  uint32_t num_layers = 2;
  uint32_t tokens_per_block = 16;
  uint64_t bytes_per_token_per_layer = 64;

  uint64_t entry_offset(uint32_t slot, uint32_t layer) const {
    return (uint64_t{layer} * tokens_per_block + slot) * bytes_per_token_per_layer;
  }
};

// Entry header: the token, its position and the layer, then a byte pattern
// derived from the three filling the rest of the entry.
inline uint8_t pattern_byte(int32_t token, uint32_t position, uint32_t layer, uint64_t index) {
  return static_cast<uint8_t>(static_cast<uint32_t>(token) * 131u + position * 31u + layer * 17u +
                              static_cast<uint32_t>(index) * 7u + 1u);
}

inline void write_entry(uint8_t* entry, uint64_t entry_bytes, int32_t token, uint32_t position,
                        uint32_t layer) {
  const uint32_t header[3] = {static_cast<uint32_t>(token), position, layer};
  std::memcpy(entry, header, sizeof(header));
  for (uint64_t i = sizeof(header); i < entry_bytes; ++i) {
    entry[i] = pattern_byte(token, position, layer, i);
  }
}

// Returns a description of the first difference, or nullopt when intact.
inline std::optional<std::string> check_entry(const uint8_t* entry, uint64_t entry_bytes,
                                              int32_t token, uint32_t position, uint32_t layer) {
  uint32_t header[3];
  std::memcpy(header, entry, sizeof(header));
  if (header[0] != static_cast<uint32_t>(token) || header[1] != position || header[2] != layer) {
    return "expected (token " + std::to_string(token) + ", position " + std::to_string(position) +
           ", layer " + std::to_string(layer) + "), found (token " +
           std::to_string(static_cast<int32_t>(header[0])) + ", position " +
           std::to_string(header[1]) + ", layer " + std::to_string(header[2]) + ")";
  }
  for (uint64_t i = sizeof(header); i < entry_bytes; ++i) {
    if (entry[i] != pattern_byte(token, position, layer, i)) {
      return "pattern byte " + std::to_string(i) + " of (position " + std::to_string(position) +
             ", layer " + std::to_string(layer) + ") differs";
    }
  }
  return std::nullopt;
}

}  // namespace citadel::test::echo
