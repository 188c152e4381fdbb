// Parsing the vista plugin's options (see vista_options.h).
#include "vista_options.h"

#include "flow_schedule.h"

#include "runtime/core/error.h"

#include <set>

namespace citadel::vista {
namespace {

namespace json = boost::json;

[[noreturn]] void bad(const std::string& key, const std::string& what) {
  runtime::throw_invalid("vista options: " + key + ": " + what);
}

double number(const json::value& value, const std::string& key) {
  if (!value.is_number()) bad(key, "must be a number");
  return value.to_number<double>();
}

int64_t count(const json::object& options, const std::string& key, int64_t fallback, int64_t minimum) {
  const json::value* value = options.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  const double n = number(*value, key);
  if (n != static_cast<double>(static_cast<int64_t>(n)) || n < static_cast<double>(minimum) || n > 1e9)
    bad(key, "must be an integer >= " + std::to_string(minimum));
  return static_cast<int64_t>(n);
}

std::string text(const json::object& options, const std::string& key, const std::string& fallback) {
  const json::value* value = options.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  if (!value->is_string()) bad(key, "must be a string");
  return std::string(value->as_string());
}

bool flag(const json::object& options, const std::string& key, bool fallback) {
  const json::value* value = options.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  if (!value->is_bool()) bad(key, "must be true or false");
  return value->as_bool();
}

}  // namespace

VistaOptions VistaOptions::parse(const json::object& options) {
  static const std::set<std::string> known = {
      "denoising_steps", "shift", "frames_per_chunk", "kv_cache_dtype", "tokens_per_block", "window_frames",
      "sink_frames", "max_latent_frames", "default_width", "default_height", "default_frames", "max_width",
      "max_height", "text_len", "output", "threads", "max_batch_requests", "max_step_tokens", "cuda_attention",
      "cuda_fused_epilogues", "vae_convolutions"};
  for (const auto& entry : options) {
    if (known.count(std::string(entry.key())) == 0) bad(std::string(entry.key()), "unknown option");
  }
  VistaOptions parsed;
  parsed.denoising_steps = self_forcing_steps();
  if (const json::value* steps = options.if_contains("denoising_steps"); steps != nullptr && !steps->is_null()) {
    if (!steps->is_array() || steps->as_array().empty()) bad("denoising_steps", "must be a non-empty list of numbers");
    parsed.denoising_steps.clear();
    for (const json::value& step : steps->as_array()) parsed.denoising_steps.push_back(number(step, "denoising_steps"));
  }
  if (const json::value* shift = options.if_contains("shift"); shift != nullptr && !shift->is_null())
    parsed.shift = number(*shift, "shift");
  warped_timesteps(parsed.denoising_steps, parsed.shift);  // validates both
  parsed.frames_per_chunk = count(options, "frames_per_chunk", 3, 1);
  const std::string dtype = text(options, "kv_cache_dtype", "bf16");
  if (dtype == "bf16") parsed.kv_dtype = runtime::DType::bf16;
  else if (dtype == "f16") parsed.kv_dtype = runtime::DType::f16;
  else if (dtype == "f32") parsed.kv_dtype = runtime::DType::f32;
  else bad("kv_cache_dtype", "'" + dtype + "' is not bf16, f16 or f32");
  parsed.tokens_per_block = count(options, "tokens_per_block", 16, 1);
  parsed.window.window_frames = count(options, "window_frames", 0, 0);
  parsed.window.sink_frames = count(options, "sink_frames", 3, 0);
  if (parsed.window.window_frames > 0 &&
      parsed.window.window_frames < parsed.window.sink_frames + parsed.frames_per_chunk)
    bad("window_frames", std::to_string(parsed.window.window_frames) + " leaves no room for a chunk of " +
                             std::to_string(parsed.frames_per_chunk) + " frames beside " +
                             std::to_string(parsed.window.sink_frames) + " sink frames");
  parsed.video.max_latent_frames = count(options, "max_latent_frames", 21, 1);
  parsed.video.width = count(options, "default_width", 832, 16);
  parsed.video.height = count(options, "default_height", 480, 16);
  parsed.video.frames = count(options, "default_frames", 81, 1);
  parsed.video.max_width = count(options, "max_width", 1920, 16);
  parsed.video.max_height = count(options, "max_height", 1920, 16);
  parsed.text_len = count(options, "text_len", 512, 1);
  parsed.output = text(options, "output", "auto");
  if (parsed.output != "auto" && parsed.output != "latents" && parsed.output != "frames")
    bad("output", "'" + parsed.output + "' is not auto, latents or frames");
  parsed.threads = static_cast<unsigned>(count(options, "threads", 0, 0));
  parsed.max_batch_requests = static_cast<uint32_t>(count(options, "max_batch_requests", 4, 1));
  parsed.max_step_tokens = static_cast<uint32_t>(count(options, "max_step_tokens", 0, 0));
  parsed.cuda_attention = text(options, "cuda_attention", "mma_sync");
  if (parsed.cuda_attention != "mma_sync" && parsed.cuda_attention != "wgmma")
    bad("cuda_attention", "'" + parsed.cuda_attention + "' is not mma_sync or wgmma");
  parsed.cuda_fused_epilogues = flag(options, "cuda_fused_epilogues", false);
  parsed.vae_convolutions = text(options, "vae_convolutions", "im2col");
  if (parsed.vae_convolutions != "im2col" && parsed.vae_convolutions != "cudnn")
    bad("vae_convolutions", "'" + parsed.vae_convolutions + "' is not im2col or cudnn");
  return parsed;
}

}  // namespace citadel::vista
