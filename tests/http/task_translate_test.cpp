// Translation of /v1/videos and /inference bodies and responses,
// base64, and the route table's 404 / 405 decisions.
#include "host/http/api_error.h"
#include "host/http/base64.h"
#include "host/http/route_table.h"
#include "host/http/task_translate.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

namespace json = boost::json;
using namespace citadel;
using namespace citadel::http;

namespace {

template <typename Function>
ApiError error_of(Function function) {
  try {
    function();
  } catch (const ApiError& error) {
    return error;
  }
  return ApiError(0, "", "");
}

}  // namespace

TEST_CASE("base64 round-trips every length and rejects bad characters", "[http]") {
  for (size_t length = 0; length < 20; ++length) {
    std::vector<uint8_t> bytes(length);
    for (size_t index = 0; index < length; ++index) bytes[index] = static_cast<uint8_t>(index * 37 + 1);
    const std::string text = base64_encode(bytes);
    CHECK(text.size() % 4 == 0);
    CHECK(base64_decode(text) == bytes);
  }
  CHECK(base64_encode(std::vector<uint8_t>{'M', 'a', 'n'}) == "TWFu");
  CHECK_FALSE(base64_decode("TW*u").has_value());
  CHECK_FALSE(base64_decode("TWFu=A").has_value());
}

TEST_CASE("a video body passes its options through without model and stream", "[http]") {
  const TaskRequest request =
      parse_video_request(R"({"model":"v","prompt":"a cat","num_frames":8,"stream":true})");
  CHECK(request.stream);
  const json::object input = json::parse(request.input_json).as_object();
  CHECK(input.at("prompt").as_string() == "a cat");
  CHECK(input.at("num_frames").to_number<int>() == 8);
  CHECK_FALSE(input.contains("model"));
  CHECK(error_of([] { parse_video_request(R"({"model":"v"})"); }).param() == "prompt");
}

TEST_CASE("an inference body hands its input object to the model unchanged", "[http]") {
  const TaskRequest request =
      parse_inference_request(R"({"model":"m","input":{"prompt":"x","custom":[1,2]},"priority":3})");
  CHECK(request.model == std::optional<std::string>("m"));
  CHECK(request.priority == 3);
  CHECK(json::parse(request.input_json) == json::parse(R"({"prompt":"x","custom":[1,2]})"));
  CHECK(error_of([] { parse_inference_request(R"({"model":"m"})"); }).param() == "input");
  CHECK(error_of([] { parse_inference_request(R"({"model":"m","input":"x"})"); }).param() == "input");
  CHECK(error_of([] { parse_inference_request(R"({"input":{}})"); }).param() == "model");
}

TEST_CASE("collected events become video and inference responses", "[http]") {
  CollectedOutput output;
  sched::InferenceEvent first;
  first.text = "he";
  first.token_id = 5;
  first.data = {1, 2, 3};
  first.data_type = "image/png";
  accumulate(output, first);
  sched::InferenceEvent last;
  last.text = "llo";
  last.final = true;
  last.finish_reason = sched::FinishReason::stop;
  last.usage = {2, 2, 0};
  accumulate(output, last);
  CHECK(output.text == "hello");
  CHECK(output.finish_reason == sched::FinishReason::stop);
  const json::object video = video_response("video-1", 7, "v", output);
  CHECK(video.at("frames").at(0).at("b64_json").as_string() == "AQID");
  CHECK(video.at("frames").at(0).at("type").as_string() == "image/png");
  const json::object inference = inference_response("inference-1", 7, "m", output);
  CHECK(inference.at("output").at("token_ids").as_array().size() == 1);
  const json::object chunk = event_chunk("inference-1", "inference", "m", last);
  CHECK(chunk.at("object").as_string() == "inference.chunk");
  CHECK(chunk.at("final").as_bool());
  CHECK(chunk.at("finish_reason").as_string() == "stop");
}

TEST_CASE("the route table answers 404 for unknown paths and 405 with Allow for wrong methods",
          "[http]") {
  using boost::beast::http::verb;
  RouteTable routes;
  routes.add(verb::get, "/health", nullptr);
  routes.add(verb::get, "/v1/models/*", nullptr);
  CHECK(routes.find(verb::get, "/health?x=1").route == "/health");
  CHECK(routes.find(verb::get, "/v1/models/abc").route == "/v1/models/*");
  CHECK(error_of([&] { routes.find(verb::get, "/nope"); }).status() == 404);
  const ApiError wrong_method = error_of([&] { routes.find(verb::post, "/health"); });
  CHECK(wrong_method.status() == 405);
  REQUIRE(wrong_method.headers().size() == 1);
  CHECK(wrong_method.headers()[0].second == "GET");
  CHECK(routes.route_label("/nope") == "unmatched");
}
