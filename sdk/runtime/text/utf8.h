// UTF-8 helpers for the tokenizer: code point encoding, splitting a string
// into characters, lossy repair (invalid bytes -> U+FFFD, as Rust's
// String::from_utf8_lossy does, which Hugging Face decode uses), and the GPT-2
// byte <-> unicode map of byte-level BPE. Internal to sdk/runtime/text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::runtime::utf8 {

void append_code_point(std::string& out, uint32_t code_point);
// Length of the valid UTF-8 sequence starting at bytes[0], or 0 if invalid or
// incomplete.
size_t valid_sequence_length(std::string_view bytes);
// Replaces each maximal invalid subsequence with U+FFFD.
std::string repair(std::string_view bytes);
// Splits valid UTF-8 into its characters (invalid bytes become 1-byte pieces).
std::vector<std::string_view> characters(std::string_view text);

// GPT-2 byte-level map: byte b -> the character that stands for it.
const std::string& byte_to_unicode(uint8_t byte);
// Inverse: decodes `token` (a string of byte-level characters) into bytes;
// false when some character is not in the map.
bool unicode_to_bytes(std::string_view token, std::string& out);
// Maps every byte of `bytes` to its byte-level character.
std::string bytes_to_unicode_string(std::string_view bytes);

}  // namespace citadel::runtime::utf8
