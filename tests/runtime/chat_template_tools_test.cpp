// Chat templates with tools: the exact prompts of the Qwen2.5 / Hermes
// ChatML convention and of Meta's Llama 3.1 JSON tool calling, and
// python_json_dumps against Python's json.dumps layout.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/text/chat_template.h"
#include "runtime/text/python_json.h"

#include <boost/json.hpp>

using namespace citadel::runtime;
namespace json = boost::json;

namespace {

std::vector<json::value> tools() {
  return {json::parse(R"({"type": "function", "function": {"name": "get_weather", "description": "Weather",
                          "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}}})")};
}

std::vector<ChatMessage> conversation() {
  ChatMessage call{"assistant", "", {{"call_1", "get_weather", R"({"city":"Oslo"})"}}, {}};
  ChatMessage result{"tool", "{\"temp\": 3}", {}, "call_1"};
  return {{"user", "Weather in Oslo?", {}, {}}, call, result};
}

}  // namespace

TEST_CASE("python_json_dumps writes what Python's json.dumps writes", "[runtime]") {
  const json::value value = json::parse(R"({"a": [1, 2.5, 1e20, 0.0001, -0.0], "b": {"c": "\u00e9\n\"q\"\u0001"}, "d": {}, "e": []})");
  CHECK(python_json_dumps(value) ==
        "{\"a\": [1, 2.5, 1e+20, 0.0001, -0.0], \"b\": {\"c\": \"\xC3\xA9\\n\\\"q\\\"\\u0001\"}, \"d\": {}, \"e\": []}");
  CHECK(python_json_dumps(json::parse(R"({"a": [1, {"b": null}]})"), 4) ==
        "{\n    \"a\": [\n        1,\n        {\n            \"b\": null\n        }\n    ]\n}");
}

TEST_CASE("chatml with tools renders the Qwen2.5 tool prompt, calls and tool responses", "[runtime]") {
  ChatTemplate chat(ChatStyle::chatml);
  CHECK(chat.render(conversation(), tools(), true) ==
        "<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather\", "
        "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, "
        "\"required\": [\"city\"]}}}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
        "<args-json-object>}\n</tool_call><|im_end|>\n"
        "<|im_start|>user\nWeather in Oslo?<|im_end|>\n"
        "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n"
        "</tool_call><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\n{\"temp\": 3}\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n");
  // A system message leads the tools block; without tools nothing changes.
  std::vector<ChatMessage> with_system = {{"system", "Be brief.", {}, {}}, {"user", "Hi", {}, {}}};
  CHECK(chat.render(with_system, tools(), false).starts_with("<|im_start|>system\nBe brief.\n\n# Tools\n"));
  CHECK(chat.render(with_system, {}, true) == chat.render(with_system, true));
}

TEST_CASE("llama3 with tools renders Meta's Llama 3.1 JSON tool-calling prompt", "[runtime]") {
  ChatTemplate chat(ChatStyle::llama3, "<|begin_of_text|>");
  CHECK(chat.render(conversation(), tools(), true) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n"
        "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON for a "
        "function call with its proper arguments that best answers the given prompt.\n\nRespond in the format "
        "{\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n"
        "{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n"
        "        \"description\": \"Weather\",\n        \"parameters\": {\n            \"type\": \"object\",\n"
        "            \"properties\": {\n                \"city\": {\n                    \"type\": \"string\"\n"
        "                }\n            },\n            \"required\": [\n                \"city\"\n            ]\n"
        "        }\n    }\n}\n\nWeather in Oslo?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}"
        "<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n\"{\\\"temp\\\": 3}\"<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  std::vector<ChatMessage> two_calls = {{"user", "x", {}, {}},
                                        {"assistant", "", {{"a", "f", "{}"}, {"b", "g", "{}"}}, {}}};
  CHECK_THROWS_AS(chat.render(two_calls, {}, false), RuntimeError);
}
