// OpenAI request/response translation as pure functions: bodies in, native
// plugin input out; events in, response objects and stream chunks out.
#include "host/http/api_error.h"
#include "host/http/logprob_render.h"
#include "host/http/openai_translate.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <limits>

namespace json = boost::json;
using namespace citadel;
using namespace citadel::http;

namespace {

const TranslateLimits kLimits{100, 16};

// The ApiError a body raises (status 0 when it parses).
ApiError error_of(const std::string& body, CompletionApi api = CompletionApi::completions) {
  try {
    if (api == CompletionApi::chat)
      parse_chat_request(body, kLimits);
    else
      parse_completion_request(body, kLimits);
  } catch (const ApiError& error) {
    return error;
  }
  return ApiError(0, "", "");
}

}  // namespace

TEST_CASE("a completion request becomes the native text input with every sampling option",
          "[http]") {
  const CompletionRequest request = parse_completion_request(
      R"({"model":"m","prompt":"Hello","max_tokens":7,"temperature":0.5,"top_p":0.9,
          "top_k":40,"seed":11,"stop":["\n","END"],"repetition_penalty":1.1,"n":2,
          "priority":5})",
      kLimits);
  CHECK(request.model == "m");
  CHECK(request.priority == 5);
  CHECK(request.choice_count() == 2);
  const json::object first = json::parse(native_input(request, 0)).as_object();
  CHECK(first.at("prompt").as_string() == "Hello");
  CHECK(first.at("max_tokens").to_number<int>() == 7);
  CHECK(first.at("temperature").to_number<double>() == Approx(0.5));
  CHECK(first.at("top_p").to_number<double>() == Approx(0.9));
  CHECK(first.at("top_k").to_number<int>() == 40);
  CHECK(first.at("seed").to_number<int>() == 11);
  CHECK(first.at("stop").as_array().size() == 2);
  CHECK(first.at("repetition_penalty").to_number<double>() == Approx(1.1));
  const json::object second = json::parse(native_input(request, 1)).as_object();
  CHECK(second.at("seed").to_number<int>() == 12);  // seed + i for choice i
}

TEST_CASE("absent options stay out of the native input and max_tokens defaults per API", "[http]") {
  const CompletionRequest completion = parse_completion_request(R"({"model":"m","prompt":"x"})", kLimits);
  const json::object input = json::parse(native_input(completion, 0)).as_object();
  CHECK(input.size() == 2);  // prompt, max_tokens
  CHECK(input.at("max_tokens").to_number<int>() == 16);
  const CompletionRequest chat = parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", kLimits);
  CHECK(chat.max_tokens == kLimits.max_tokens_limit);
  const json::object chat_input = json::parse(native_input(chat, 0)).as_object();
  CHECK(chat_input.at("messages").as_array().size() == 1);
  CHECK_FALSE(chat_input.contains("prompt"));
}

TEST_CASE("a batch of prompts gives n choices per prompt in prompt order", "[http]") {
  const CompletionRequest request =
      parse_completion_request(R"({"model":"m","prompt":["a","b"],"n":2})", kLimits);
  REQUIRE(request.choice_count() == 4);
  CHECK(json::parse(native_input(request, 1)).at("prompt").as_string() == "a");
  CHECK(json::parse(native_input(request, 2)).at("prompt").as_string() == "b");
}

TEST_CASE("chat message content parts are joined into one string", "[http]") {
  const CompletionRequest request = parse_chat_request(
      R"({"model":"m","messages":[{"role":"system","content":"be brief"},
          {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]})",
      kLimits);
  REQUIRE(request.messages.size() == 2);
  CHECK(request.messages[1].at("content").as_string() == "ab");
  CHECK(request.messages[1].at("role").as_string() == "user");
}

TEST_CASE("malformed completion bodies are 400 errors naming the field", "[http]") {
  CHECK(error_of("{not json").code() == "invalid_json");
  CHECK(error_of("[1,2]").code() == "invalid_json");
  // A literal past the double range is read as infinity, which no JSON writer
  // can put back (found by the openai_request fuzz target in an unknown field
  // passed on to a plugin).
  CHECK(error_of(R"({"model":"m","prompt":"x","max_tokns":9E971615})").code() == "invalid_json");
  CHECK(error_of(R"({"model":"m","prompt":"x","extra":[{"a":-1e400}]})").code() == "invalid_json");
  CHECK(error_of(R"({"prompt":"x"})").param() == "model");
  CHECK(error_of(R"({"model":"m"})").param() == "prompt");
  CHECK(error_of(R"({"model":5,"prompt":"x"})").param() == "model");
  CHECK(error_of(R"({"model":"m","prompt":7})").param() == "prompt");
  CHECK(error_of(R"({"model":"m","prompt":"x","max_tokens":"ten"})").param() == "max_tokens");
  CHECK(error_of(R"({"model":"m","prompt":"x","max_tokens":101})").code() == "max_tokens_exceeded");
  CHECK(error_of(R"({"model":"m","prompt":"x","max_tokens":0})").param() == "max_tokens");
  CHECK(error_of(R"({"model":"m","prompt":"x","temperature":3})").param() == "temperature");
  CHECK(error_of(R"({"model":"m","prompt":"x","temperature":"hot"})").param() == "temperature");
  CHECK(error_of(R"({"model":"m","prompt":"x","top_p":0})").param() == "top_p");
  CHECK(error_of(R"({"model":"m","prompt":"x","top_k":1.5})").param() == "top_k");
  CHECK(error_of(R"({"model":"m","prompt":"x","stop":[1]})").param() == "stop");
  CHECK(error_of(R"({"model":"m","prompt":"x","n":0})").param() == "n");
  CHECK(error_of(R"({"model":"m","prompt":"x","n":17})").param() == "n");
  CHECK(error_of(R"({"model":"m","prompt":"x","stream":"yes"})").param() == "stream");
  CHECK(error_of(R"({"model":"m","prompt":"x","stream_options":{"include_usage":true}})").param() ==
        "stream_options");
  CHECK(error_of(R"({"model":"m","prompt":"x"})").status() == 0);
  CHECK(error_of(R"({"prompt":"x"})").status() == 400);
  CHECK(error_of(R"({"prompt":"x"})").type() == "invalid_request_error");
}

TEST_CASE("malformed chat bodies are 400 errors naming the message field", "[http]") {
  const auto chat = CompletionApi::chat;
  CHECK(error_of(R"({"model":"m"})", chat).param() == "messages");
  CHECK(error_of(R"({"model":"m","messages":{}})", chat).param() == "messages");
  CHECK(error_of(R"({"model":"m","messages":[]})", chat).param() == "messages");
  CHECK(error_of(R"({"model":"m","messages":[3]})", chat).param() == "messages[0]");
  CHECK(error_of(R"({"model":"m","messages":[{"content":"x"}]})", chat).param() == "messages[0].role");
  CHECK(error_of(R"({"model":"m","messages":[{"role":"king","content":"x"}]})", chat).param() ==
        "messages[0].role");
  CHECK(error_of(R"({"model":"m","messages":[{"role":"user"}]})", chat).param() ==
        "messages[0].content");
  CHECK(error_of(R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]})", chat)
            .param() == "messages[0].content");
}

TEST_CASE("error bodies have the OpenAI shape with null param and code when unset", "[http]") {
  const json::value body = json::parse(ApiError(500, "server_error", "boom").error_body());
  const json::object& error = body.at("error").as_object();
  CHECK(error.at("message").as_string() == "boom");
  CHECK(error.at("type").as_string() == "server_error");
  CHECK(error.at("param").is_null());
  CHECK(error.at("code").is_null());
}

TEST_CASE("scheduler rejections map to 404, 429 with Retry-After, 400 and 503", "[http]") {
  using sched::RejectReason;
  CHECK(from_rejection({RejectReason::unknown_model, "", 0}, "m").status() == 404);
  const ApiError full = from_rejection({RejectReason::queue_full, "full", 3}, "m");
  CHECK(full.status() == 429);
  CHECK(full.retry_after_s() == 3);
  REQUIRE(full.headers().size() == 1);
  CHECK(full.headers()[0] == std::pair<std::string, std::string>("Retry-After", "3"));
  CHECK(from_rejection({RejectReason::invalid_input, "bad", 0}, "m").status() == 400);
  CHECK(from_rejection({RejectReason::too_large, "long", 0}, "m").code() == "context_length_exceeded");
  CHECK(from_rejection({RejectReason::draining, "", 0}, "m").status() == 503);
}

TEST_CASE("a failed final event is 400 for bad input and 500 for a plugin failure", "[http]") {
  sched::InferenceEvent event;
  event.final = true;
  event.finish_reason = sched::FinishReason::error;
  event.error_code = "invalid_argument";
  event.error_message = "input: prompt: must be a string";
  CHECK(from_failed_event(event).status() == 400);
  CHECK(std::string(from_failed_event(event).what()) == event.error_message);
  event.error_code = "internal";
  CHECK(from_failed_event(event).status() == 500);
}

TEST_CASE("a whole completion response carries choices, finish reasons and summed usage", "[http]") {
  const CompletionRequest request =
      parse_completion_request(R"({"model":"m","prompt":"p","n":2})", kLimits);
  std::vector<ChoiceOutcome> choices(2);
  choices[0] = {"ab", sched::FinishReason::length, {5, 2, 0}};
  choices[1] = {"c", sched::FinishReason::stop, {5, 1, 0}};
  const json::object response = completion_response(request, {"cmpl-9", 1700000000}, choices);
  CHECK(response.at("id").as_string() == "cmpl-9");
  CHECK(response.at("object").as_string() == "text_completion");
  CHECK(response.at("model").as_string() == "m");
  const json::array& array = response.at("choices").as_array();
  REQUIRE(array.size() == 2);
  CHECK(array[0].at("text").as_string() == "ab");
  CHECK(array[0].at("finish_reason").as_string() == "length");
  CHECK(array[1].at("index").to_number<int>() == 1);
  CHECK(array[1].at("finish_reason").as_string() == "stop");
  const json::object& usage = response.at("usage").as_object();
  CHECK(usage.at("prompt_tokens").to_number<int>() == 5);  // the prompt counted once
  CHECK(usage.at("completion_tokens").to_number<int>() == 3);
  CHECK(usage.at("total_tokens").to_number<int>() == 8);
}

TEST_CASE("a chat response carries an assistant message", "[http]") {
  const CompletionRequest request = parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", kLimits);
  const json::object response = completion_response(
      request, {response_id(CompletionApi::chat, 4), 1}, {{"hello", sched::FinishReason::stop, {3, 1, 0}}});
  CHECK(response.at("id").as_string() == "chatcmpl-4");
  CHECK(response.at("object").as_string() == "chat.completion");
  const json::object& message = response.at("choices").at(0).at("message").as_object();
  CHECK(message.at("role").as_string() == "assistant");
  CHECK(message.at("content").as_string() == "hello");
}

TEST_CASE("chat stream chunks open with the role, carry deltas and end with finish_reason and usage",
          "[http]") {
  const CompletionRequest request = parse_chat_request(
      R"({"model":"m","stream":true,"stream_options":{"include_usage":true},
          "messages":[{"role":"user","content":"hi"}]})",
      kLimits);
  CHECK(request.include_usage);
  const ResponseIdentity identity{"chatcmpl-1", 5};
  const json::object role = stream_role_chunk(request, identity, 0);
  CHECK(role.at("object").as_string() == "chat.completion.chunk");
  CHECK(role.at("choices").at(0).at("delta").at("role").as_string() == "assistant");
  const json::object text = stream_text_chunk(request, identity, 0, "he");
  CHECK(text.at("choices").at(0).at("delta").at("content").as_string() == "he");
  CHECK(text.at("choices").at(0).at("finish_reason").is_null());
  const json::object last = stream_final_chunk(request, identity, 0, sched::FinishReason::stop);
  CHECK(last.at("choices").at(0).at("finish_reason").as_string() == "stop");
  CHECK(last.at("choices").at(0).at("delta").as_object().empty());
  const json::object usage = stream_usage_chunk(request, identity, {4, 2, 0});
  CHECK(usage.at("choices").as_array().empty());
  CHECK(usage.at("usage").at("total_tokens").to_number<int>() == 6);
}

TEST_CASE("completion stream chunks are text_completion objects with text", "[http]") {
  const CompletionRequest request =
      parse_completion_request(R"({"model":"m","prompt":"p","stream":true})", kLimits);
  const json::object chunk = stream_text_chunk(request, {"cmpl-2", 1}, 0, "xy");
  CHECK(chunk.at("object").as_string() == "text_completion");
  CHECK(chunk.at("choices").at(0).at("text").as_string() == "xy");
}

TEST_CASE("the model list has the OpenAI shape and hides an instance draining behind its successor",
          "[http]") {
  std::vector<sched::ModelListing> models(3);
  models[0] = {"a", "echo", "1.0.0", "text_generation", "draining", "", 1, 128};
  models[1] = {"a", "echo", "2.0.0", "text_generation", "serving", "", 2, 128};
  models[2] = {"b", "echo", "1.0.0", "text_generation", "serving", "", 1, 64};
  const json::object list = model_list(models, 1700000000);
  CHECK(list.at("object").as_string() == "list");
  const json::array& data = list.at("data").as_array();
  REQUIRE(data.size() == 2);
  CHECK(data[0].at("id").as_string() == "a");
  CHECK(data[0].at("object").as_string() == "model");
  CHECK(data[0].at("owned_by").as_string() == "citadel");
  CHECK(data[0].at("created").to_number<int64_t>() == 1700000000);
  CHECK(data[0].at("plugin_version").as_string() == "2.0.0");
  CHECK(data[1].at("max_model_len").to_number<int>() == 64);
}

// --- Logprobs -------------------------------------------------------------------

namespace {

sched::PositionLogprobs scored(uint32_t position, std::string bytes, float logprob,
                               std::vector<std::pair<std::string, float>> top = {}) {
  sched::PositionLogprobs entry;
  entry.position = position;
  entry.token = {static_cast<int32_t>(position), logprob, std::move(bytes)};
  for (auto& [text, value] : top) entry.top.push_back({0, value, text});
  return entry;
}

}  // namespace

TEST_CASE("token bytes become UTF-8 with U+FFFD for each invalid byte", "[http]") {
  CHECK(http::lossy_utf8("h\xC3\xA9llo") == "h\xC3\xA9llo");
  CHECK(http::lossy_utf8("a\xE2\x82") == "a\xEF\xBF\xBD\xEF\xBF\xBD");  // a cut 3-byte sequence
  CHECK(http::lossy_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");      // overlong
  CHECK(http::lossy_utf8("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
}

TEST_CASE("completions logprobs with echo list the prompt, a null first entry and char offsets", "[http]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<sched::PositionLogprobs> entries = {
      scored(0, "<s>", nan), scored(1, "h\xC3\xA9", -1.5f, {{"h\xC3\xA9", -1.5f}, {"x", -2.0f}}),
      scored(2, "!", -0.25f, {{"!", -0.25f}}), scored(3, "\xE2", -std::numeric_limits<float>::infinity())};
  http::CompletionLogprobs echoed;
  echoed.append(entries, /*prompt_tokens=*/3, /*echo=*/true);
  const json::object lists = echoed.to_json();
  CHECK(json::serialize(lists.at("tokens")) == "[\"<s>\",\"h\xC3\xA9\",\"!\",\"\xEF\xBF\xBD\"]");
  CHECK(lists.at("token_logprobs").as_array()[0].is_null());
  CHECK(lists.at("token_logprobs").as_array()[1].as_double() == -1.5);
  CHECK(lists.at("token_logprobs").as_array()[3].as_double() == -9999.0);  // -inf
  CHECK(lists.at("top_logprobs").as_array()[0].is_null());
  CHECK(lists.at("top_logprobs").as_array()[1].as_object().size() == 2);
  CHECK(json::serialize(lists.at("text_offset")) == "[0,3,5,6]");  // characters, not bytes

  http::CompletionLogprobs generated_only;
  generated_only.append(entries, 3, /*echo=*/false);
  CHECK(generated_only.to_json().at("tokens").as_array().size() == 1);
  CHECK(generated_only.take_new().as_object().at("tokens").as_array().size() == 1);
  CHECK(generated_only.take_new().is_null());  // nothing new since
}

TEST_CASE("chat logprobs list generated tokens only, with bytes and top lists", "[http]") {
  const std::vector<sched::PositionLogprobs> entries = {scored(4, "a", -0.5f),
                                                        scored(5, "b", -0.1f, {{"b", -0.1f}})};
  const json::array content = http::chat_logprob_content(entries, /*prompt_tokens=*/5);
  REQUIRE(content.size() == 1);
  CHECK(json::serialize(content[0]) ==
        R"({"token":"b","logprob":-1.0000000149011612E-1,"bytes":[98],"top_logprobs":[{"token":"b","logprob":-1.0000000149011612E-1,"bytes":[98]}]})");
  CHECK(http::chat_logprob_chunk(entries, 6).is_null());
}

TEST_CASE("logprob options are validated and passed to the plugin", "[http]") {
  const http::TranslateLimits limits;
  const http::CompletionRequest chat = http::parse_chat_request(
      R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 4})", limits);
  const json::value chat_input = json::parse(http::native_input(chat, 0));
  CHECK(chat_input.at("logprobs").as_bool());
  CHECK(chat_input.at("top_logprobs").to_number<int64_t>() == 4);
  CHECK_FALSE(chat_input.as_object().contains("prompt_logprobs"));
  CHECK_THROWS_WITH(http::parse_chat_request(
                        R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", limits),
                    Catch::Contains("'top_logprobs' needs 'logprobs'"));

  const http::CompletionRequest scoring = http::parse_completion_request(
      R"({"model": "m", "prompt": "x", "echo": true, "logprobs": 1, "max_tokens": 0})", limits);
  const json::value scoring_input = json::parse(http::native_input(scoring, 0));
  CHECK(scoring_input.at("prompt_logprobs").as_bool());
  CHECK(scoring_input.at("max_tokens").to_number<int64_t>() == 0);
  CHECK_THROWS_WITH(http::parse_completion_request(R"({"model": "m", "prompt": "x", "max_tokens": 0})", limits),
                    Catch::Contains("'echo'"));
  CHECK_THROWS_WITH(http::parse_completion_request(R"({"model": "m", "prompt": "x", "logprobs": 6})", limits),
                    Catch::Contains("logprobs"));
}

TEST_CASE("completion prompts may be token ids, alone or in a batch", "[http]") {
  const http::TranslateLimits limits;
  const http::CompletionRequest single =
      http::parse_completion_request(R"({"model": "m", "prompt": [5, 6, 7]})", limits);
  REQUIRE(single.prompts.size() == 1);
  CHECK(json::serialize(json::parse(http::native_input(single, 0)).at("prompt")) == "[5,6,7]");
  const http::CompletionRequest batch =
      http::parse_completion_request(R"({"model": "m", "prompt": [[1, 2], "text", [3]], "n": 2})", limits);
  CHECK(batch.choice_count() == 6);
  CHECK(json::serialize(json::parse(http::native_input(batch, 5)).at("prompt")) == "[3]");
  CHECK(json::parse(http::native_input(batch, 2)).at("prompt").as_string() == "text");
  // Ids past int32 and past int64 (Boost.JSON keeps those as uint64; this one threw from the fuzz target).
  for (const char* bad : {R"([[]])", R"([1, "a"])", R"([-1])", R"([[1], 2])", "[]", R"([2147483648])",
                          R"([[15555555555555555553]])", R"([18446744073709551615])"}) {
    INFO(bad);
    CHECK_THROWS_WITH(http::parse_completion_request(std::string(R"({"model": "m", "prompt": )") + bad + "}", limits),
                      Catch::Contains("prompt"));
  }
}

TEST_CASE("404 and 405 errors show a path with non-ASCII bytes percent-encoded, as valid JSON", "[http]") {
  const ApiError missing = route_not_found("/v1/\xff\x01 x");
  CHECK(std::string(missing.what()) == "No route for /v1/%FF%01%20x");
  CHECK(json::parse(missing.error_body()).at("error").at("message") == "No route for /v1/%FF%01%20x");
  const ApiError method = method_not_allowed("PUT", "/v1/caf\xe9", "GET");
  CHECK(json::parse(method.error_body()).at("error").at("message") ==
        "Method PUT is not allowed for /v1/caf%E9 (allowed: GET)");
}
