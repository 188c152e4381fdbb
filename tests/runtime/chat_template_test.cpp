// Tests of runtime/text/chat_template and tokenizer_config: exact prompt
// strings in both styles, detection and errors.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/text/chat_template.h"
#include "runtime/text/stop_strings.h"
#include "support/test_support.hpp"

using namespace citadel::runtime;
using Catch::Matchers::Contains;

namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "You are terse."}, {"user", "Hi!"}, {"assistant", "Hello."}, {"user", "2+2?"}};

}  // namespace

TEST_CASE("llama3 template renders headers, BOS, trimmed content and the generation prompt", "[runtime]") {
  ChatTemplate chat(ChatStyle::llama3, "<|begin_of_text|>");
  std::vector<ChatMessage> messages = kConversation;
  messages[1].content = "  Hi!\n";
  CHECK(chat.render(messages, true) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  CHECK(chat.render(std::vector<ChatMessage>{{"user", "x"}}, false) ==
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>");
}

TEST_CASE("chatml template renders im_start blocks, a default system prompt and the generation prompt", "[runtime]") {
  ChatTemplate chat(ChatStyle::chatml);
  CHECK(chat.render(kConversation, true) ==
        "<|im_start|>system\nYou are terse.<|im_end|>\n"
        "<|im_start|>user\nHi!<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n"
        "<|im_start|>user\n2+2?<|im_end|>\n"
        "<|im_start|>assistant\n");
  chat.set_default_system_prompt("Be helpful.");
  CHECK(chat.render(std::vector<ChatMessage>{{"user", "Hi"}}, false) ==
        "<|im_start|>system\nBe helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
  // An explicit system message replaces the default one.
  CHECK(chat.render(std::vector<ChatMessage>{{"system", "S"}}, false) == "<|im_start|>system\nS<|im_end|>\n");
}

TEST_CASE("the chat style is detected from tokenizer_config.json or chosen by name", "[runtime]") {
  citadel::test::TempDir dir;
  const auto llama = dir.write("llama/tokenizer_config.json", R"({
    "bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|eot_id|>", "special": true},
    "chat_template": "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}{% endfor %}"})");
  const TokenizerConfig config = TokenizerConfig::load(llama);
  CHECK(config.bos_token == "<|begin_of_text|>");
  CHECK(config.eos_token == "<|eot_id|>");
  CHECK_FALSE(config.pad_token.has_value());
  ChatTemplate detected = ChatTemplate::select("", config, llama.string());
  CHECK(detected.style() == ChatStyle::llama3);
  CHECK(detected.render(std::vector<ChatMessage>{{"user", "a"}}, false).starts_with("<|begin_of_text|>"));
  CHECK(ChatTemplate::select("chatml", config, llama.string()).style() == ChatStyle::chatml);

  const TokenizerConfig qwen = TokenizerConfig::parse(
      R"({"eos_token": "<|im_end|>", "bos_token": null, "chat_template": "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"})",
      "qwen/tokenizer_config.json");
  CHECK(ChatTemplate::select("", qwen, "qwen").style() == ChatStyle::chatml);
  CHECK_FALSE(qwen.bos_token.has_value());
}

TEST_CASE("a template that fits neither style is an error naming the file", "[runtime]") {
  const TokenizerConfig config = TokenizerConfig::parse(R"({"chat_template": "{{ '[INST] ' + content }}"})", "x");
  CHECK_THROWS_WITH(ChatTemplate::select("", config, "models/m/tokenizer_config.json"),
                    Contains("models/m/tokenizer_config.json") && Contains("[INST]") && Contains("neither"));
  CHECK_THROWS_WITH(ChatTemplate::select("", TokenizerConfig{}, "cfg.json"), Contains("cfg.json") && Contains("no chat_template"));
  CHECK_THROWS_WITH(chat_style_from_name("mistral"), Contains("mistral"));
  CHECK_THROWS_AS(TokenizerConfig::parse(R"({"bos_token": 3})", "bad.json"), RuntimeError);
}

TEST_CASE("StopStringMatcher holds back possible stop prefixes and cuts at the stop", "[runtime]") {
  StopStringMatcher matcher({"###", "\nUser:"});
  CHECK(matcher.push("Hello #") == "Hello ");
  CHECK(matcher.push("# world") == "## world");
  CHECK(matcher.push("\nUs") == "");
  CHECK(matcher.push("er: more") == "");
  CHECK(matcher.stopped());
  CHECK(matcher.matched() == "\nUser:");
  CHECK(matcher.push("ignored") == "");

  StopStringMatcher tail({"END"});
  CHECK(tail.push("the EN") == "the ");
  CHECK(tail.flush() == "EN");
  CHECK_FALSE(tail.stopped());
}
