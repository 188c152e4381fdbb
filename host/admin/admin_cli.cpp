#include "host/admin/admin_cli.h"

#include <filesystem>
#include <set>

#include "host/admin/admin_client.h"
#include "host/admin/admin_protocol.h"
#include "host/admin/admin_table_format.h"

namespace citadel::admin {
namespace {

constexpr std::chrono::milliseconds kDefaultTimeout{60000};

const std::set<std::string> kNoArgumentCommands = {"models", "status", "pool", "version", "help", "reload"};
const std::set<std::string> kNameCommands = {"model", "unload", "drain"};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::chrono::milliseconds parse_timeout(const std::string& text) {
  try {
    std::size_t used = 0;
    const double seconds = std::stod(text, &used);
    if (used == text.size() && seconds >= 0) return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  } catch (const std::exception&) {
  }
  throw CliUsageError("--timeout needs a number of seconds (got \"" + text + "\")");
}

// Positional arguments of one command into request fields.
void add_command_arguments(const std::string& command, const std::vector<std::string>& positional,
                           bool stream, boost::json::object& request) {
  auto expect = [&](std::size_t count, const char* what) {
    if (positional.size() != count) {
      throw CliUsageError("usage: citadelctl " + command + (count ? std::string(" ") + what : "") +
                          " (got " + std::to_string(positional.size()) + " argument(s))");
    }
  };
  if (kNoArgumentCommands.count(command)) {
    expect(0, "");
  } else if (kNameCommands.count(command)) {
    expect(1, "NAME");
    request["name"] = positional[0];
  } else if (command == "load") {
    expect(1, "FILE|NAME");
    const std::string& target = positional[0];
    if (target.find('/') != std::string::npos || ends_with(target, ".yaml") || ends_with(target, ".yml")) {
      request["file"] = std::filesystem::absolute(target).lexically_normal().string();
    } else {
      request["name"] = target;
    }
  } else if (command == "infer") {
    expect(2, "MODEL JSON [--stream]");
    request["model"] = positional[0];
    boost::system::error_code error;
    boost::json::value input = boost::json::parse(positional[1], error);
    if (error || !input.is_object()) {
      throw CliUsageError("infer: the input must be a JSON object, like '{\"prompt\": \"Hi\"}' (got " +
                          positional[1] + ")");
    }
    request["input"] = std::move(input);
    if (stream) request["stream"] = true;
  } else if (!positional.empty()) {
    throw CliUsageError("citadelctl " + command + ": unexpected argument \"" + positional[0] +
                        "\" (pass extra fields as key=value)");
  }
  if (stream && command != "infer") throw CliUsageError("--stream only applies to infer");
}

}  // namespace

std::string cli_usage() {
  return "usage: citadelctl [--socket PATH] [--json] [--timeout S] COMMAND [ARGS] [key=value ...]\n"
         "\n"
         "commands:\n"
         "  status | models | pool | version | help | reload\n"
         "  model NAME | unload NAME | drain NAME\n"
         "  load FILE|NAME            a models.d file (path or *.yaml) or a model name\n"
         "  infer MODEL JSON [--stream]\n"
         "\n"
         "options:\n"
         "  --socket PATH   admin socket (default: $CITADEL_SOCKET, else " +
         std::string(kDefaultAdminSocket) +
         ")\n"
         "  --json          print the raw JSON reply lines\n"
         "  --timeout S     give up after S seconds (default 60; none for infer)\n"
         "\n"
         "exit status: 0 ok, 1 error reply, 2 usage error, 3 cannot connect\n";
}

CliInvocation parse_cli_arguments(const std::vector<std::string>& arguments,
                                  const char* socket_from_environment) {
  CliInvocation invocation;
  invocation.socket = socket_from_environment && *socket_from_environment ? socket_from_environment
                                                                           : kDefaultAdminSocket;
  bool timeout_given = false;
  bool stream = false;
  std::string command;
  std::vector<std::string> positional;
  boost::json::object fields;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    auto option_value = [&](const std::string& name) -> std::string {
      if (argument.size() > name.size() && argument[name.size()] == '=') return argument.substr(name.size() + 1);
      if (i + 1 >= arguments.size()) throw CliUsageError(name + " needs a value");
      return arguments[++i];
    };
    if (argument == "--help" || argument == "-h") {
      invocation.show_help = true;
    } else if (argument == "--json") {
      invocation.json = true;
    } else if (argument == "--stream") {
      stream = true;
    } else if (argument.rfind("--socket", 0) == 0) {
      invocation.socket = option_value("--socket");
    } else if (argument.rfind("--timeout", 0) == 0) {
      invocation.timeout = parse_timeout(option_value("--timeout"));
      timeout_given = true;
    } else if (argument.rfind("--", 0) == 0) {
      throw CliUsageError("unknown option " + argument);
    } else if (command.empty()) {
      command = argument;
    } else if ((command != "infer" || positional.size() >= 2) &&
               argument.find('=') != std::string::npos && argument.front() != '=') {
      const std::size_t equals = argument.find('=');
      fields[argument.substr(0, equals)] = argument.substr(equals + 1);
    } else {
      positional.push_back(argument);
    }
  }
  if (invocation.show_help) return invocation;
  if (command.empty()) throw CliUsageError("no command given");
  if (invocation.socket.empty()) throw CliUsageError("--socket needs a path");
  invocation.request["cmd"] = command;
  add_command_arguments(command, positional, stream, invocation.request);
  for (auto& field : fields) invocation.request[field.key()] = std::move(field.value());
  if (!timeout_given) invocation.timeout = command == "infer" ? std::chrono::milliseconds(0) : kDefaultTimeout;
  return invocation;
}

int run_cli(const CliInvocation& invocation, std::ostream& out, std::ostream& err) {
  AdminClient client(invocation.socket, invocation.timeout);
  try {
    client.connect();
  } catch (const AdminConnectError& error) {
    err << "citadelctl: " << error.what()
        << " (is citadel running? pass --socket PATH or set CITADEL_SOCKET)\n";
    return cli_cannot_connect;
  }
  bool streamed_text = false;
  boost::json::object last;
  try {
    last = client.call(invocation.request, [&](const std::string& raw, const boost::json::object& line) {
      if (invocation.json) {
        out << raw << '\n' << std::flush;
        return;
      }
      if (!is_intermediate_line(line)) return;
      const boost::json::value* text = line.if_contains("text");
      if (text != nullptr && text->is_string()) {
        out << std::string_view(text->as_string()) << std::flush;
        streamed_text = true;
      } else {
        out << format_reply(line) << std::flush;
      }
    });
  } catch (const std::exception& error) {
    err << "citadelctl: " << error.what() << '\n';
    return cli_error_reply;
  }
  if (!is_ok_line(last)) {
    const boost::json::value* error = last.if_contains("error");
    std::string code = "failed";
    std::string message = "the host replied with an error";
    if (error != nullptr && error->is_object()) {
      if (const auto* c = error->as_object().if_contains("code"); c && c->is_string()) code = c->as_string();
      if (const auto* m = error->as_object().if_contains("message"); m && m->is_string()) message = m->as_string();
    }
    if (streamed_text && !invocation.json) out << '\n';
    err << "error: " << code << ": " << message << '\n';
    return cli_error_reply;
  }
  if (invocation.json) return cli_ok;
  if (streamed_text) {
    out << '\n';
    last.erase("text");
  }
  const std::string text = format_reply(last);
  out << (text.empty() && !streamed_text ? "ok\n" : text);
  return cli_ok;
}

}  // namespace citadel::admin
