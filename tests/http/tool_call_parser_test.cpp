// Tool calls parsed out of generated text (Hermes blocks, Llama 3.1 JSON),
// whole and streamed, and the response_format / tools request checks.
#include "host/http/api_error.h"
#include "host/http/openai_translate.h"
#include "host/http/tool_call_parser.h"

#include <catch2/catch.hpp>

namespace json = boost::json;
using namespace citadel::http;

TEST_CASE("Hermes blocks and Llama JSON replies become tool calls", "[http]") {
  const std::vector<std::string> names = {"get_weather", "search"};
  AssistantOutput hermes = parse_tool_calls(
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"x\"}}\n</tool_call>",
      names);
  REQUIRE(hermes.calls.size() == 2);
  CHECK(hermes.content == "Let me check.");
  CHECK(hermes.calls[0].name == "get_weather");
  CHECK(json::parse(hermes.calls[0].arguments) == json::parse(R"({"city": "Oslo"})"));
  CHECK(hermes.calls[0].id.starts_with("call_"));
  CHECK(hermes.calls[0].id.size() == 29);
  CHECK(hermes.calls[0].id != hermes.calls[1].id);

  AssistantOutput llama = parse_tool_calls(R"( {"name": "search", "parameters": {"query": "q"}})", names);
  REQUIRE(llama.calls.size() == 1);
  CHECK(llama.content.empty());
  CHECK(json::parse(llama.calls[0].arguments) == json::parse(R"({"query": "q"})"));

  // Unknown functions and broken JSON stay content.
  CHECK(parse_tool_calls(R"({"name": "other", "parameters": {}})", names).calls.empty());
  const AssistantOutput broken = parse_tool_calls("a <tool_call>{\"name\": </tool_call> b", names);
  CHECK(broken.calls.empty());
  CHECK(broken.content == "a <tool_call>{\"name\": </tool_call> b");
}

TEST_CASE("A tool-call stream sends plain content at once and holds possible calls", "[http]") {
  ToolCallStream stream({"f"});
  CHECK(stream.push("Hello ") == "Hello ");
  CHECK(stream.push("wor") == "wor");
  CHECK(stream.push("ld <tool") == "ld ");  // "<tool" may open a call
  CHECK(stream.push("_call>\n{\"name\": \"f\", ") == "");
  CHECK(stream.push("\"arguments\": {}}\n</tool_call>") == "");
  const AssistantOutput rest = stream.finish();
  REQUIRE(rest.calls.size() == 1);
  CHECK(rest.calls[0].arguments == "{}");
  CHECK(rest.content.empty());

  ToolCallStream not_a_call({"f"});
  CHECK(not_a_call.push("a <to") == "a ");
  CHECK(not_a_call.push("ol> b") == "<tool> b");
  CHECK(not_a_call.finish().content.empty());

  ToolCallStream json_reply({"f"});
  CHECK(json_reply.push("{\"x\": 1") == "");
  CHECK(json_reply.push("}") == "");
  const AssistantOutput held = json_reply.finish();
  CHECK(held.calls.empty());
  CHECK(held.content == "{\"x\": 1}");
}

TEST_CASE("response_format and tools become the native constraint fields", "[http]") {
  const TranslateLimits limits;
  const CompletionRequest request = parse_chat_request(R"({"model": "m", "messages": [
      {"role": "user", "content": "hi"},
      {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                            "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "ok"}],
      "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}},
      "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
      "tool_choice": {"type": "function", "function": {"name": "f"}}, "parallel_tool_calls": false})",
                                                       limits);
  const json::object input = json::parse(native_input(request, 0)).as_object();
  CHECK(input.at("constraint") == json::parse(R"({"type": "json_schema", "schema": {"type": "object"}})"));
  CHECK(input.at("tools").as_array().size() == 1);
  CHECK(input.at("tool_choice").at("function").at("name") == "f");
  CHECK(input.at("parallel_tool_calls") == false);
  CHECK(input.at("messages").at(1).at("tool_calls").at(0).at("function").at("name") == "f");
  CHECK(input.at("messages").at(1).at("content") == "");
  CHECK(input.at("messages").at(2).at("tool_call_id") == "call_1");

  const CompletionRequest completion = parse_completion_request(
      R"({"model": "m", "prompt": "p", "response_format": {"type": "json_object"}})", limits);
  CHECK(json::parse(native_input(completion, 0)).at("constraint") == json::parse(R"({"type": "json_object"})"));

  auto param_of = [&](const std::string& body) -> std::string {
    try {
      parse_chat_request(body, limits);
    } catch (const ApiError& error) {
      return error.param();
    }
    return "(accepted)";
  };
  const std::string base = R"({"model": "m", "messages": [{"role": "user", "content": "x"}], )";
  CHECK(param_of(base + R"("response_format": {"type": "xml"}})") == "response_format.type");
  CHECK(param_of(base + R"("response_format": {"type": "json_schema", "json_schema": {"schema": {}}}})") ==
        "response_format.json_schema.name");
  CHECK(param_of(base + R"("tools": [{"type": "function", "function": {}}]})") == "tools[0].function.name");
  CHECK(param_of(base + R"("tools": [], "tool_choice": "required"})") == "tool_choice");
  CHECK(param_of(base + R"("tool_choice": {"type": "function", "function": {"name": "g"}},
                          "tools": [{"type": "function", "function": {"name": "f"}}]})") == "tool_choice");
  CHECK(param_of(base + R"("response_format": {"type": "text"}})") == "(accepted)");
}
