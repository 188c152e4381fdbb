// Helpers shared by the libFuzzer targets in tests/fuzz: where the source
// tree is (for reference files such as tokenizers), a scratch folder that
// lives as long as the fuzzing process, and the split of one fuzz input into
// a selector byte and the rest.
//
// Used by every *_fuzz.cpp here; built only in the fuzz configuration
// (CITADEL_FUZZ=ON, see tests/fuzz/README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace citadel::fuzz {

// The checkout's root (compiled into fuzz_support.cpp only).
std::filesystem::path source_dir();

// A fresh folder under the system temp folder, removed when the process exits.
std::filesystem::path scratch_dir();

// Writes `bytes` to `path` (truncating); aborts on failure, since a fuzz
// target that cannot write its input tests nothing.
void write_file(const std::filesystem::path& path, std::string_view bytes);

// The fuzzer's input as text.
inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Takes the first byte of the input (0 when empty) as a selector.
struct Selected {
  uint8_t selector = 0;
  std::string_view rest;
};
inline Selected select_first_byte(const uint8_t* data, size_t size) {
  if (size == 0) return {};
  return {data[0], as_text(data + 1, size - 1)};
}

}  // namespace citadel::fuzz
