// Parsing the plugin options with errors that name the option.
#include "ocr_options.h"

#include "runtime/core/error.h"

#include <algorithm>

namespace citadel::deepseek_ocr {
namespace {

int64_t option_integer(const boost::json::object& options, const char* key, int64_t fallback, int64_t low,
                       int64_t high) {
  const boost::json::value* value = options.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  int64_t number = 0;
  if (value->is_int64()) number = value->as_int64();
  else if (value->is_uint64() && value->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) number = static_cast<int64_t>(value->as_uint64());
  else runtime::throw_invalid(std::string("deepseek-ocr option '") + key + "' must be an integer");
  if (number < low || number > high)
    runtime::throw_invalid(std::string("deepseek-ocr option '") + key + "' is " + std::to_string(number) +
                           "; expected " + std::to_string(low) + ".." + std::to_string(high));
  return number;
}

std::string option_string(const boost::json::object& options, const char* key, const std::string& fallback) {
  const boost::json::value* value = options.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  if (!value->is_string()) runtime::throw_invalid(std::string("deepseek-ocr option '") + key + "' must be a string");
  return std::string(value->as_string());
}

}  // namespace

OcrOptions OcrOptions::parse(const boost::json::object& options) {
  OcrOptions parsed;
  parsed.threads = static_cast<unsigned>(option_integer(options, "threads", 0, 0, 4096));
  const std::string kv = option_string(options, "kv_cache_dtype", "f16");
  if (kv == "f16") parsed.kv_dtype = runtime::DType::f16;
  else if (kv == "f32") parsed.kv_dtype = runtime::DType::f32;
  else runtime::throw_invalid("deepseek-ocr option 'kv_cache_dtype' is '" + kv + "'; expected f16 or f32");
  parsed.max_batch_requests = static_cast<uint32_t>(option_integer(options, "max_batch_requests", parsed.max_batch_requests, 1, 4096));
  parsed.max_step_tokens = static_cast<uint32_t>(option_integer(options, "max_step_tokens", parsed.max_step_tokens, 1, 1 << 20));
  parsed.max_context_tokens = static_cast<uint32_t>(option_integer(options, "max_context_tokens", 0, 0, 1 << 24));
  parsed.default_max_tokens = static_cast<uint32_t>(option_integer(options, "default_max_tokens", parsed.default_max_tokens, 1, 1 << 24));
  const std::string mode = option_string(options, "default_mode", "gundam");
  try {
    parsed.default_mode = parse_resolution_mode(mode);
  } catch (const ImageInputError& error) {
    runtime::throw_invalid(std::string("deepseek-ocr option 'default_mode': ") + error.what());
  }
  parsed.default_prompt = option_string(options, "default_prompt", parsed.default_prompt);
  parsed.max_crops = static_cast<int>(option_integer(options, "max_crops", parsed.max_crops, 2, 9));
  parsed.ngram_size = static_cast<uint32_t>(option_integer(options, "ngram_size", parsed.ngram_size, 0, 1024));
  if (parsed.ngram_size == 1) runtime::throw_invalid("deepseek-ocr option 'ngram_size' is 1; expected 0 (off) or >= 2");
  parsed.ngram_window = static_cast<uint32_t>(option_integer(options, "ngram_window", parsed.ngram_window, 1, 1 << 20));
  parsed.image_limits.max_encoded_bytes =
      option_integer(options, "max_image_bytes", parsed.image_limits.max_encoded_bytes, 1, int64_t{1} << 34);
  parsed.image_limits.max_side = option_integer(options, "max_image_side", parsed.image_limits.max_side, 16, 1 << 20);
  parsed.image_limits.max_pixels =
      option_integer(options, "max_image_pixels", parsed.image_limits.max_pixels, 256, int64_t{1} << 36);
  parsed.prepared_images_mb = static_cast<uint64_t>(
      option_integer(options, "prepared_images_mb", static_cast<int64_t>(parsed.prepared_images_mb), 0, 1 << 20));
  if (const boost::json::value* value = options.if_contains("vision_encoder_thread");
      value != nullptr && !value->is_null()) {
    if (value->is_bool()) {
      parsed.vision_encoder_thread = value->as_bool() ? OcrOptions::EncoderThread::on : OcrOptions::EncoderThread::off;
    } else if (value->is_string() && value->as_string() == "auto") {
      parsed.vision_encoder_thread = OcrOptions::EncoderThread::automatic;
    } else {
      runtime::throw_invalid("deepseek-ocr option 'vision_encoder_thread' must be auto, true or false");
    }
  }
  if (const boost::json::value* value = options.if_contains("defer_unready_images");
      value != nullptr && !value->is_null()) {
    if (!value->is_bool()) runtime::throw_invalid("deepseek-ocr option 'defer_unready_images' must be true or false");
    parsed.defer_unready_images = value->as_bool();
  }
  return parsed;
}

}  // namespace citadel::deepseek_ocr
