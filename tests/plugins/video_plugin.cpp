// The video test plugin: a text-to-video "model" (CITADEL_TASK_TEXT_TO_VIDEO)
// that follows the frame contract of docs/plugin-authoring.md: its input is
// {"prompt", "frames", "width", "height", "fps"?, "seed"?}, and every step
// after the prompt emits one deterministic RGB frame (video_frame_pattern.hpp)
// as the step output's data, typed
// "image/x-raw-rgb;width=W;height=H;chunk=K" (frames_per_chunk frames per
// chunk), finishing with the last frame. Options: step_delay_ms (time per
// frame), max_frames (more is refused naming "frames"), frames_per_chunk,
// bad_frame_at (frame index sent with a wrong size; -1 none).
#include "test_model_parts.hpp"
#include "video_frame_pattern.hpp"

#include <citadel/sdk.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <thread>

namespace citadel::test::video {
namespace {

struct VideoOptions {
  uint32_t step_delay_ms = 0;
  uint32_t max_frames = 64;
  uint32_t frames_per_chunk = 4;
  int64_t bad_frame_at = -1;
};

int64_t integer_of(const boost::json::value& value, const std::string& what) {
  if (!value.is_int64() && !value.is_uint64())
    throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, what + ": must be an integer");
  return value.to_number<int64_t>();
}

VideoOptions parse_options(const boost::json::object& options) {
  VideoOptions result;
  for (const auto& [key, value] : options) {
    const std::string name(key);
    const int64_t number = integer_of(value, "option " + name);
    if (name == "step_delay_ms") result.step_delay_ms = static_cast<uint32_t>(number);
    else if (name == "max_frames") result.max_frames = static_cast<uint32_t>(number);
    else if (name == "frames_per_chunk") result.frames_per_chunk = static_cast<uint32_t>(std::max<int64_t>(1, number));
    else if (name == "bad_frame_at") result.bad_frame_at = number;
    else throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "unknown option " + name);
  }
  return result;
}

struct VideoRequest {
  uint32_t width = 0, height = 0, frames = 0;
  int64_t seed = 0;
  uint32_t emitted = 0;
  std::vector<uint8_t> frame;  // this step's frame (pointed to by the output)
  std::string type;
  std::string error;
};

class VideoModel : public sdk::Model {
 public:
  VideoModel(const sdk::Host& host, const sdk::ModelConfig& config)
      : host_(host), options_(parse_options(config.options)) {}

  citadel_model_info describe() override {
    return one_layer_model_info({.task = CITADEL_TASK_TEXT_TO_VIDEO,
                                 .bytes_per_token_per_layer = 64,
                                 .max_context_tokens = options_.max_frames + 16,
                                 .max_batch_requests = 8,
                                 .max_step_tokens = 256,
                                 .model_version = "video-test 1.0.0"});
  }

  sdk::RequestPlan open_request(uint64_t request_id, std::string_view input_json,
                                std::span<const uint8_t>) override {
    boost::system::error_code parse_error;
    const boost::json::value input = boost::json::parse(input_json, parse_error);
    if (parse_error || !input.is_object()) throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "input: not an object");
    const boost::json::object& fields = input.as_object();
    auto field = [&](const char* name) -> int64_t {
      const boost::json::value* value = fields.if_contains(name);
      if (value == nullptr) throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, std::string(name) + ": required");
      return integer_of(*value, name);
    };
    if (!fields.contains("prompt") || !fields.at("prompt").is_string())
      throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "prompt: required string");
    VideoRequest request;
    const int64_t frames = field("frames");
    if (frames < 1 || frames > options_.max_frames)
      throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "frames: " + std::to_string(frames) +
                                                               " is more than this model's " +
                                                               std::to_string(options_.max_frames));
    request.frames = static_cast<uint32_t>(frames);
    request.width = static_cast<uint32_t>(field("width"));
    request.height = static_cast<uint32_t>(field("height"));
    if (request.width % 16 != 0 || request.height % 16 != 0 || request.width == 0 || request.height == 0)
      throw sdk::PluginError(CITADEL_ERR_INVALID_ARGUMENT, "width: sizes must be multiples of 16");
    if (fields.contains("seed")) request.seed = field("seed");
    requests_[request_id] = std::move(request);
    sdk::RequestPlan plan;
    plan.prompt_tokens = 1;
    plan.max_new_tokens = static_cast<uint32_t>(frames);
    return plan;
  }

  void step(const citadel_step_batch& batch, citadel_step_output* outputs) override {
    if (options_.step_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(options_.step_delay_ms));
    for (uint32_t i = 0; i < batch.num_items; ++i) step_one(batch.items[i], outputs[i]);
  }

  void close_request(uint64_t request_id) override { requests_.erase(request_id); }

 private:
  void step_one(const citadel_step_item& item, citadel_step_output& output) {
    VideoRequest* found = find_step_request(requests_, item, output, "video: unknown request");
    if (found == nullptr) return;
    VideoRequest& request = *found;
    output.state = CITADEL_REQUEST_RUNNING;
    // The frame index is the position being sampled: position 0 is the prompt.
    const uint32_t frame = item.num_computed_tokens + item.num_new_tokens - 1;
    request.frame = frame_pattern(request.width, request.height, frame, request.seed);
    if (static_cast<int64_t>(frame) == options_.bad_frame_at) request.frame.resize(request.frame.size() / 2);
    request.type = "image/x-raw-rgb;width=" + std::to_string(request.width) + ";height=" +
                   std::to_string(request.height) + ";chunk=" + std::to_string(frame / options_.frames_per_chunk);
    output.data = request.frame.data();
    output.data_len = request.frame.size();
    output.data_type = request.type.c_str();
    output.appended_tokens = 1;
    output.token_id = static_cast<int32_t>(frame);  // the host wants a token id >= 0 with each append
    request.emitted = frame + 1;
    if (request.emitted >= request.frames) {
      output.state = CITADEL_REQUEST_FINISHED;
      output.finish_reason = CITADEL_FINISH_LENGTH;
    }
  }

  sdk::Host host_;
  VideoOptions options_;
  std::map<uint64_t, VideoRequest> requests_;
};

}  // namespace
}  // namespace citadel::test::video

CITADEL_REGISTER_PLUGIN(::citadel::test::video::VideoModel, "video", "1.0.0")
