// Parsing an OCR request's JSON input with errors naming the field.
#include "ocr_input.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"

#include <cmath>

namespace citadel::deepseek_ocr {
namespace {

constexpr const char* kWhere = "request input";

int64_t integer_in(const boost::json::object& input, const char* key, int64_t low, int64_t high, int64_t fallback) {
  const std::optional<double> value = runtime::optional_number(input, key, kWhere);
  if (!value) return fallback;
  if (*value != std::floor(*value) || *value < static_cast<double>(low) || *value > static_cast<double>(high))
    runtime::throw_invalid(std::string(kWhere) + ": field \"" + key + "\" must be an integer in " +
                           std::to_string(low) + ".." + std::to_string(high));
  return static_cast<int64_t>(*value);
}

double number_in(const boost::json::object& input, const char* key, double low, double high, double fallback) {
  const std::optional<double> value = runtime::optional_number(input, key, kWhere);
  if (!value) return fallback;
  if (!(*value >= low && *value <= high))
    runtime::throw_invalid(std::string(kWhere) + ": field \"" + key + "\" must be in " + std::to_string(low) + ".." +
                           std::to_string(high));
  return *value;
}

}  // namespace

OcrInput parse_ocr_input(std::string_view input_json, const OcrOptions& options) {
  const boost::json::value root = runtime::parse_json(input_json, kWhere);
  const boost::json::object& input = runtime::as_object(root, kWhere);
  OcrInput parsed;
  parsed.prompt = runtime::optional_string(input, "prompt", kWhere).value_or(options.default_prompt);
  if (parsed.prompt.empty()) parsed.prompt = options.default_prompt;
  parsed.mode = options.default_mode;
  if (const std::optional<std::string> mode = runtime::optional_string(input, "mode", kWhere)) {
    try {
      parsed.mode = parse_resolution_mode(*mode);
    } catch (const ImageInputError& error) {
      runtime::throw_invalid(std::string(kWhere) + ": field \"mode\": " + error.what());
    }
  }
  if (input.contains("max_tokens") && !input.at("max_tokens").is_null())
    parsed.max_tokens = static_cast<uint32_t>(integer_in(input, "max_tokens", 1, 1 << 24, 1));
  parsed.sampling.temperature = static_cast<float>(number_in(input, "temperature", 0.0, 100.0, 0.0));
  parsed.sampling.top_p = static_cast<float>(number_in(input, "top_p", 0.0, 1.0, 1.0));
  if (input.contains("top_p") && parsed.sampling.top_p == 0.0f)
    runtime::throw_invalid(std::string(kWhere) + ": field \"top_p\" must be above 0");
  parsed.sampling.top_k = static_cast<int32_t>(integer_in(input, "top_k", -1, 1 << 24, 0));
  if (parsed.sampling.top_k < 0) parsed.sampling.top_k = 0;  // -1: off, as OpenAI-style clients send it
  parsed.sampling.repetition_penalty = static_cast<float>(number_in(input, "repetition_penalty", 0.01, 100.0, 1.0));
  parsed.sampling.seed = static_cast<uint64_t>(integer_in(input, "seed", INT64_MIN, INT64_MAX, 0));
  parsed.ngram_size = static_cast<uint32_t>(integer_in(input, "ngram_size", 0, 1024, options.ngram_size));
  if (parsed.ngram_size == 1)
    runtime::throw_invalid(std::string(kWhere) + ": field \"ngram_size\" is 1; expected 0 (off) or >= 2");
  parsed.ngram_window = static_cast<uint32_t>(integer_in(input, "ngram_window", 1, 1 << 20, options.ngram_window));
  return parsed;
}

}  // namespace citadel::deepseek_ocr
