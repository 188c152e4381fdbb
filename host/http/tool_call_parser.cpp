// parse_tool_calls / ToolCallStream: Hermes blocks and Llama 3.1 JSON calls.
#include "host/http/tool_call_parser.h"

#include <algorithm>
#include <random>

namespace citadel::http {

namespace json = boost::json;

namespace {

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

std::string_view trim(std::string_view text) {
  const char* space = " \t\n\r";
  const size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(space) - begin + 1);
}

std::string new_call_id() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static const char* alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += alphabet[random() % 62];
  return id;
}

// {"name": <a tool>, "arguments" | "parameters": object or JSON string}.
bool read_call(std::string_view text, const std::vector<std::string>& tool_names, ToolCall& call) {
  boost::system::error_code error;
  const json::value parsed = json::parse(trim(text), error);
  if (error || !parsed.is_object()) return false;
  const json::object& object = parsed.as_object();
  const json::value* name = object.if_contains("name");
  if (name == nullptr || !name->is_string()) return false;
  if (std::find(tool_names.begin(), tool_names.end(), std::string(name->as_string())) == tool_names.end())
    return false;
  const json::value* arguments = object.if_contains("arguments");
  if (arguments == nullptr) arguments = object.if_contains("parameters");
  call.name = std::string(name->as_string());
  if (arguments == nullptr || arguments->is_null()) call.arguments = "{}";
  else if (arguments->is_string()) call.arguments = std::string(arguments->as_string());
  else call.arguments = json::serialize(*arguments);
  call.id = new_call_id();
  return true;
}

// Length of the longest suffix of `text` that is a proper prefix of `tag`.
size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  for (size_t length = std::min(text.size(), tag.size() - 1); length > 0; --length)
    if (text.substr(text.size() - length) == tag.substr(0, length)) return length;
  return 0;
}

}  // namespace

AssistantOutput parse_tool_calls(std::string_view text, const std::vector<std::string>& tool_names) {
  AssistantOutput output;
  // Llama 3.1: the whole reply is one JSON call.
  const std::string_view whole = trim(text);
  if (!whole.empty() && whole.front() == '{') {
    ToolCall call;
    if (read_call(whole, tool_names, call)) {
      output.calls.push_back(std::move(call));
      return output;
    }
  }
  // Hermes: <tool_call> blocks anywhere in the reply.
  size_t at = 0;
  while (at < text.size()) {
    const size_t open = text.find(kOpen, at);
    if (open == std::string_view::npos) break;
    const size_t body = open + kOpen.size();
    const size_t close = text.find(kClose, body);
    const size_t body_end = close == std::string_view::npos ? text.size() : close;
    const size_t next = close == std::string_view::npos ? text.size() : close + kClose.size();
    ToolCall call;
    output.content += text.substr(at, open - at);
    if (read_call(text.substr(body, body_end - body), tool_names, call)) {
      output.calls.push_back(std::move(call));
    } else {
      output.content += text.substr(open, next - open);
    }
    at = next;
  }
  if (at < text.size()) output.content += text.substr(at);
  if (!output.calls.empty()) output.content = std::string(trim(output.content));
  return output;
}

json::object tool_call_json(const ToolCall& call, int index) {
  json::object entry;
  if (index >= 0) entry["index"] = index;
  entry["id"] = call.id;
  entry["type"] = "function";
  entry["function"] = json::object{{"name", call.name}, {"arguments", call.arguments}};
  return entry;
}

ToolCallStream::ToolCallStream(std::vector<std::string> tool_names) : tool_names_(std::move(tool_names)) {}

std::string ToolCallStream::push(std::string_view text) {
  held_ += text;
  if (holding_all_) return {};
  // A reply opening with '{' may be a Llama 3.1 call: hold it to the end.
  if (trim(sent_).empty()) {
    const std::string_view start = trim(held_);
    if (start.empty()) return {};
    if (start.front() == '{') {
      holding_all_ = true;
      return {};
    }
  }
  const size_t open = held_.find(kOpen);
  size_t send = held_.size();
  if (open != std::string::npos) {
    send = open;
    holding_all_ = true;
  } else {
    send -= partial_tag_suffix(held_, kOpen);
  }
  std::string out = held_.substr(0, send);
  held_.erase(0, send);
  sent_ += out;
  return out;
}

AssistantOutput ToolCallStream::finish() {
  AssistantOutput output = parse_tool_calls(held_, tool_names_);
  // Content before the calls was already sent; only the rest is new.
  if (!output.calls.empty() && !trim(sent_).empty()) output.content = std::string(trim(output.content));
  if (output.calls.empty()) output.content = held_;
  held_.clear();
  return output;
}

}  // namespace citadel::http
