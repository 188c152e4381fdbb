// GgufValue: construction and checked conversions.
#include "runtime/formats/gguf_value.h"

#include "runtime/core/error.h"

#include <cmath>
#include <limits>

namespace citadel::runtime {

std::string gguf_value_type_name(uint32_t type) {
  static const char* const kNames[] = {"UINT8",  "INT8",  "UINT16", "INT16",  "UINT32", "INT32",  "FLOAT32",
                                       "BOOL",   "STRING", "ARRAY", "UINT64", "INT64",  "FLOAT64"};
  if (type < std::size(kNames)) return kNames[type];
  return "type " + std::to_string(type);
}

GgufValue GgufValue::unsigned_integer(GgufValueType type, uint64_t value) {
  GgufValue v;
  v.type_ = type;
  v.unsigned_ = value;
  return v;
}

GgufValue GgufValue::signed_integer(GgufValueType type, int64_t value) {
  GgufValue v;
  v.type_ = type;
  v.signed_ = value;
  return v;
}

GgufValue GgufValue::floating(GgufValueType type, double value) {
  GgufValue v;
  v.type_ = type;
  v.floating_ = value;
  return v;
}

GgufValue GgufValue::boolean(bool value) {
  GgufValue v;
  v.type_ = GgufValueType::boolean;
  v.unsigned_ = value ? 1 : 0;
  return v;
}

GgufValue GgufValue::string(std::string value) {
  GgufValue v;
  v.type_ = GgufValueType::string;
  v.string_ = std::move(value);
  return v;
}

GgufValue GgufValue::array(GgufValueType element_type, std::vector<GgufValue> items) {
  GgufValue v;
  v.type_ = GgufValueType::array;
  v.element_type_ = element_type;
  v.items_ = std::move(items);
  return v;
}

namespace {
bool is_unsigned_type(GgufValueType type) {
  return type == GgufValueType::u8 || type == GgufValueType::u16 || type == GgufValueType::u32 ||
         type == GgufValueType::u64;
}
bool is_signed_type(GgufValueType type) {
  return type == GgufValueType::i8 || type == GgufValueType::i16 || type == GgufValueType::i32 ||
         type == GgufValueType::i64;
}
}  // namespace

bool GgufValue::is_integer() const { return is_unsigned_type(type_) || is_signed_type(type_); }

bool GgufValue::is_number() const {
  return is_integer() || type_ == GgufValueType::f32 || type_ == GgufValueType::f64;
}

void GgufValue::fail(const std::string& what, std::string_view expected) const {
  throw_invalid(what + " is " + gguf_value_type_name(static_cast<uint32_t>(type_)) + " " + summary() +
                ", expected " + std::string(expected));
}

int64_t GgufValue::to_int(const std::string& what) const {
  if (is_signed_type(type_)) return signed_;
  if (is_unsigned_type(type_)) {
    if (unsigned_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail(what, "an integer in int64 range");
    return static_cast<int64_t>(unsigned_);
  }
  fail(what, "an integer");
}

uint64_t GgufValue::to_uint(const std::string& what) const {
  if (is_unsigned_type(type_)) return unsigned_;
  if (is_signed_type(type_)) {
    if (signed_ < 0) fail(what, "a non-negative integer");
    return static_cast<uint64_t>(signed_);
  }
  fail(what, "a non-negative integer");
}

double GgufValue::to_double(const std::string& what) const {
  if (type_ == GgufValueType::f32 || type_ == GgufValueType::f64) return floating_;
  if (is_signed_type(type_)) return static_cast<double>(signed_);
  if (is_unsigned_type(type_)) return static_cast<double>(unsigned_);
  fail(what, "a number");
}

bool GgufValue::to_bool(const std::string& what) const {
  if (type_ != GgufValueType::boolean) fail(what, "BOOL");
  return unsigned_ != 0;
}

const std::string& GgufValue::to_string(const std::string& what) const {
  if (type_ != GgufValueType::string) fail(what, "STRING");
  return string_;
}

const std::vector<GgufValue>& GgufValue::items(const std::string& what) const {
  if (type_ != GgufValueType::array) fail(what, "ARRAY");
  return items_;
}

std::string GgufValue::summary() const {
  switch (type_) {
    case GgufValueType::string: {
      std::string text = "'";
      text += string_.size() > 40 ? string_.substr(0, 40) + "..." : string_;
      return text + "'";
    }
    case GgufValueType::array: {
      std::string text = "[";
      text += std::to_string(items_.size());
      return text + " " + gguf_value_type_name(static_cast<uint32_t>(element_type_)) + "]";
    }
    case GgufValueType::boolean: return unsigned_ != 0 ? "true" : "false";
    case GgufValueType::f32:
    case GgufValueType::f64: return std::to_string(floating_);
    default: return is_signed_type(type_) ? std::to_string(signed_) : std::to_string(unsigned_);
  }
}

}  // namespace citadel::runtime
