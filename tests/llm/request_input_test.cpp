// Request input parsing: prompt text, token-id prompts and chat messages,
// sampling fields and stop strings; bad fields are errors naming the field.
#include "request_input.h"

#include <catch2/catch.hpp>

using namespace citadel::llm;
using Catch::Matchers::Contains;

TEST_CASE("a completion request's fields are all read", "[llm]") {
  const RequestInput input = parse_request_input(R"({"prompt": "Hello", "max_tokens": 12,
      "temperature": 0.7, "top_p": 0.9, "top_k": 40, "seed": 1234, "repetition_penalty": 1.1,
      "stop": ["\n\n", "END", ""], "ignore_eos": true})");
  CHECK(input.prompt_text == "Hello");
  CHECK_FALSE(input.is_chat());
  CHECK(input.max_tokens == 12u);
  CHECK(input.sampling.temperature == Approx(0.7f));
  CHECK(input.sampling.top_p == Approx(0.9f));
  CHECK(input.sampling.top_k == 40);
  CHECK(input.sampling.seed == 1234u);
  CHECK(input.sampling.repetition_penalty == Approx(1.1f));
  CHECK(input.stop == std::vector<std::string>{"\n\n", "END"});
  CHECK(input.ignore_eos);
}

TEST_CASE("chat messages with string or text-part content are read in order", "[llm]") {
  const RequestInput input = parse_request_input(R"({"messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]}],
      "stop": "###"})");
  REQUIRE(input.is_chat());
  REQUIRE(input.messages.size() == 2);
  CHECK(input.messages[0].role == "system");
  CHECK(input.messages[1].content == "Hi there");
  CHECK(input.stop == std::vector<std::string>{"###"});
  CHECK_FALSE(input.max_tokens.has_value());
  CHECK(input.sampling.temperature == 1.0f);
}

TEST_CASE("a prompt may be given as token ids", "[llm]") {
  const RequestInput input = parse_request_input(R"({"prompt": [1, 22, 333], "temperature": 0})");
  CHECK(input.prompt_token_ids == std::vector<int32_t>{1, 22, 333});
  CHECK(input.sampling.temperature == 0.0f);
}

TEST_CASE("bad request fields are errors naming the field", "[llm]") {
  auto error_of = [](const char* json) -> std::string {
    try {
      parse_request_input(json);
    } catch (const std::exception& error) {
      return error.what();
    }
    return "no error";
  };
  CHECK_THAT(error_of(R"({"max_tokens": 3})"), Contains("'prompt'"));
  CHECK_THAT(error_of(R"({"prompt": "a", "messages": [{"role": "user", "content": "b"}]})"), Contains("exactly one"));
  CHECK_THAT(error_of(R"({"prompt": "a", "temperature": -1})"), Contains("'temperature'"));
  CHECK_THAT(error_of(R"({"prompt": "a", "top_p": 0})"), Contains("'top_p'"));
  CHECK_THAT(error_of(R"({"prompt": "a", "top_k": 1.5})"), Contains("'top_k'"));
  CHECK_THAT(error_of(R"({"prompt": "a", "max_tokens": 0})"), Contains("'max_tokens'"));
  CHECK_THAT(error_of(R"({"prompt": "a", "stop": 5})"), Contains("'stop'"));
  CHECK_THAT(error_of(R"({"prompt": [1, -2]})"), Contains("'prompt'"));
  CHECK_THAT(error_of(R"({"messages": [{"content": "x"}]})"), Contains("messages[0].role"));
  CHECK_THAT(error_of(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})"),
             Contains("messages[0].content"));
  CHECK_THAT(error_of("not json"), Contains("not a JSON object"));
}

TEST_CASE("integer fields outside the 64-bit range are refused, not converted", "[llm]") {
  CHECK_THROWS_WITH(parse_request_input(R"({"prompt":"x","max_tokens":1e300})"),
                    Contains("'max_tokens'") && Contains("out of range"));
  CHECK_THROWS_WITH(parse_request_input(R"({"prompt":"x","seed":18446744073709551615})"),
                    Contains("'seed'") && Contains("out of range"));
  CHECK_THROWS_WITH(parse_request_input(R"({"prompt":"x","top_k":-1e19})"), Contains("'top_k'"));
  CHECK(parse_request_input(R"({"prompt":"x","seed":-9223372036854775808})").sampling.seed ==
        static_cast<uint64_t>(INT64_MIN));
}
