// Parsing and validation of text-to-video request inputs (see video_input.h).
#include "video_input.h"

#include "runtime/core/error.h"

#include <boost/json.hpp>

#include <cmath>
#include <cstdlib>

namespace citadel::vista {
namespace {

namespace json = boost::json;

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  runtime::throw_invalid("input: " + field + ": " + what);
}

int64_t integer_field(const json::object& input, const char* field) {
  const json::value& value = input.at(field);
  if (value.is_int64()) return value.as_int64();
  if (value.is_uint64() && value.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(value.as_uint64());
  if (value.is_double() && value.as_double() == std::floor(value.as_double()) && std::fabs(value.as_double()) < 1e15)
    return static_cast<int64_t>(value.as_double());
  bad(field, "must be an integer");
}

void parse_size(const json::value& value, VideoInput& input) {
  if (!value.is_string()) bad("size", "must be a string \"WIDTHxHEIGHT\"");
  const std::string size(value.as_string());
  const size_t x = size.find('x');
  char* end = nullptr;
  if (x == std::string::npos || x == 0 || x + 1 >= size.size()) bad("size", "'" + size + "' is not WIDTHxHEIGHT");
  const long width = std::strtol(size.c_str(), &end, 10);
  if (end != size.c_str() + x) bad("size", "'" + size + "' is not WIDTHxHEIGHT");
  const long height = std::strtol(size.c_str() + x + 1, &end, 10);
  if (*end != '\0') bad("size", "'" + size + "' is not WIDTHxHEIGHT");
  input.width = width;
  input.height = height;
}

double seconds_value(const json::value& value) {
  if (value.is_string()) {
    const std::string text(value.as_string());
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') bad("seconds", "'" + text + "' is not a number");
    return seconds;
  }
  if (value.is_number()) return value.to_number<double>();
  bad("seconds", "must be a number");
}

}  // namespace

VideoInput parse_video_input(std::string_view input_json, const VideoDefaults& defaults) {
  json::value root;
  try {
    root = json::parse(input_json);
  } catch (const std::exception& e) {
    runtime::throw_invalid(std::string("input: not valid JSON: ") + e.what());
  }
  if (!root.is_object()) runtime::throw_invalid("input: must be a JSON object");
  const json::object& object = root.as_object();
  VideoInput input;
  const json::value* prompt = object.if_contains("prompt");
  if (prompt == nullptr || !prompt->is_string() || prompt->as_string().empty()) bad("prompt", "must be a non-empty string");
  input.prompt = std::string(prompt->as_string());

  input.width = defaults.width;
  input.height = defaults.height;
  if (const json::value* size = object.if_contains("size"); size != nullptr && !size->is_null()) parse_size(*size, input);
  if (object.contains("width")) input.width = integer_field(object, "width");
  if (object.contains("height")) input.height = integer_field(object, "height");
  for (const auto& [field, value, limit] : {std::tuple{"width", input.width, defaults.max_width},
                                            std::tuple{"height", input.height, defaults.max_height}}) {
    if (value < 16 || value % 16 != 0)
      bad(field, std::to_string(value) + " is not a positive multiple of 16");
    if (value > limit) bad(field, std::to_string(value) + " exceeds the model's limit of " + std::to_string(limit));
  }

  input.frames = defaults.frames;
  if (const json::value* seconds = object.if_contains("seconds"); seconds != nullptr && !seconds->is_null()) {
    const double s = seconds_value(*seconds);
    if (!(s > 0.0) || s > 3600.0) bad("seconds", "must be in (0, 3600]");
    input.frames = std::max<int64_t>(1, std::llround(s * defaults.fps));
  }
  if (object.contains("frames")) input.frames = integer_field(object, "frames");
  if (input.frames < 1) bad("frames", std::to_string(input.frames) + " is not a positive number of frames");
  // The VAE makes 1 frame of the first latent frame and 4 of every later one.
  input.latent_frames = 1 + (input.frames - 1 + 3) / 4;
  if (input.latent_frames > defaults.max_latent_frames) {
    bad("frames", std::to_string(input.frames) + " frames need " + std::to_string(input.latent_frames) +
                      " latent frames; the model allows " + std::to_string(defaults.max_latent_frames) + " (" +
                      std::to_string(1 + 4 * (defaults.max_latent_frames - 1)) + " frames)");
  }
  if (object.contains("seed") && !object.at("seed").is_null()) {
    input.seed = static_cast<uint64_t>(integer_field(object, "seed"));
    input.seeded = true;
  }
  return input;
}

}  // namespace citadel::vista
