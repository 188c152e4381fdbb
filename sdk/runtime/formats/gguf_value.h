// GgufValue: one metadata value of a GGUF file (a scalar of one of the 13
// GGUF value types, a string, or an array of values, arrays of arrays
// included), with checked conversions whose errors name the key and the
// file. Made by the GGUF reader (gguf_file.cpp); read by model loaders
// through GgufFile's typed getters. Immutable once built.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::runtime {

// The value type ids of the GGUF format (gguf_type in ggml's gguf.h).
enum class GgufValueType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

// "UINT32", "STRING", "ARRAY", ... (the `gguf` package's names); "type N" otherwise.
std::string gguf_value_type_name(uint32_t type);

class GgufValue {
 public:
  GgufValue() = default;
  static GgufValue unsigned_integer(GgufValueType type, uint64_t value);
  static GgufValue signed_integer(GgufValueType type, int64_t value);
  static GgufValue floating(GgufValueType type, double value);
  static GgufValue boolean(bool value);
  static GgufValue string(std::string value);
  static GgufValue array(GgufValueType element_type, std::vector<GgufValue> items);

  GgufValueType type() const { return type_; }
  GgufValueType element_type() const { return element_type_; }  // arrays only
  bool is_integer() const;
  bool is_number() const;  // integers and floats

  // Checked conversions; `what` (e.g. "model.gguf: metadata key 'x'") starts
  // the error message.
  int64_t to_int(const std::string& what) const;        // any integer type, in int64 range
  uint64_t to_uint(const std::string& what) const;      // any integer type, not negative
  double to_double(const std::string& what) const;      // any number
  bool to_bool(const std::string& what) const;
  const std::string& to_string(const std::string& what) const;
  const std::vector<GgufValue>& items(const std::string& what) const;  // arrays

  // A short rendering for messages and dumps ("[49152 STRING]" for arrays).
  std::string summary() const;

 private:
  [[noreturn]] void fail(const std::string& what, std::string_view expected) const;

  GgufValueType type_ = GgufValueType::u8;
  GgufValueType element_type_ = GgufValueType::u8;
  uint64_t unsigned_ = 0;
  int64_t signed_ = 0;
  double floating_ = 0.0;
  std::string string_;
  std::vector<GgufValue> items_;
};

}  // namespace citadel::runtime
