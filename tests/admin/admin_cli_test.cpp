#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

#include "admin/admin_test_server.hpp"
#include "host/admin/admin_cli.h"

using namespace citadel::admin;
using citadel::test::AdminTestServer;
namespace json = boost::json;

namespace {

CliInvocation parse(std::vector<std::string> arguments, const char* environment = nullptr) {
  return parse_cli_arguments(arguments, environment);
}

struct CliRun {
  int status = -1;
  std::string out;
  std::string err;
};

CliRun run(const std::string& socket, std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), {"--socket", socket});
  std::ostringstream out;
  std::ostringstream err;
  CliRun result;
  result.status = run_cli(parse(arguments), out, err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

}  // namespace

TEST_CASE("citadelctl takes the socket from --socket, else CITADEL_SOCKET, else the default", "[admin]") {
  CHECK(parse({"status"}).socket == "/run/citadel/citadel.sock");
  CHECK(parse({"status"}, "/tmp/env.sock").socket == "/tmp/env.sock");
  CHECK(parse({"--socket", "/tmp/a.sock", "status"}, "/tmp/env.sock").socket == "/tmp/a.sock");
  CHECK(parse({"--socket=/tmp/b.sock", "status"}).socket == "/tmp/b.sock");
}

TEST_CASE("citadelctl turns commands and arguments into requests", "[admin]") {
  CHECK(parse({"models"}).request == json::object{{"cmd", "models"}});
  CHECK(parse({"model", "chat"}).request == json::object{{"cmd", "model"}, {"name", "chat"}});
  CHECK(parse({"unload", "chat"}).request == json::object{{"cmd", "unload"}, {"name", "chat"}});
  CHECK(parse({"drain", "chat", "timeout_s=5"}).request ==
        json::object{{"cmd", "drain"}, {"name", "chat"}, {"timeout_s", "5"}});
  CHECK(parse({"load", "chat"}).request == json::object{{"cmd", "load"}, {"name", "chat"}});
  CHECK(parse({"load", "/etc/citadel/models.d/chat.yaml"}).request ==
        json::object{{"cmd", "load"}, {"file", "/etc/citadel/models.d/chat.yaml"}});
  const CliInvocation infer = parse({"--json", "infer", "chat", R"({"prompt": "a=b"})", "--stream"});
  CHECK(infer.json);
  CHECK(infer.timeout.count() == 0);
  CHECK(infer.request == json::object{{"cmd", "infer"},
                                      {"model", "chat"},
                                      {"input", json::object{{"prompt", "a=b"}}},
                                      {"stream", true}});
  CHECK(parse({"--timeout", "2.5", "status"}).timeout == std::chrono::milliseconds(2500));
  CHECK(parse({"status"}).timeout == std::chrono::seconds(60));
}

TEST_CASE("citadelctl rejects bad usage", "[admin]") {
  CHECK_THROWS_AS(parse({}), CliUsageError);
  CHECK_THROWS_AS(parse({"model"}), CliUsageError);
  CHECK_THROWS_AS(parse({"status", "extra"}), CliUsageError);
  CHECK_THROWS_AS(parse({"--frobnicate", "status"}), CliUsageError);
  CHECK_THROWS_AS(parse({"--timeout", "soon", "status"}), CliUsageError);
  CHECK_THROWS_WITH(parse({"infer", "chat", "not json"}), Catch::Contains("JSON object"));
  CHECK(parse({"--help"}).show_help);
}

TEST_CASE("citadelctl prints a table reply readably and exits 0", "[admin]") {
  AdminTestServer test;
  test.server->add_command("models", "list", [](const json::object&, auto reply) {
    reply->finish(json::parse(R"({"models": [{"name": "chat", "state": "ready"},
                                             {"name": "ocr", "state": "loading"}]})").as_object());
  });
  test.server->start();
  const CliRun result = run(test.socket(), {"models"});
  CHECK(result.status == 0);
  CHECK(result.out == "NAME  STATE\nchat  ready\nocr   loading\n");
  CHECK(result.err.empty());
}

TEST_CASE("citadelctl --json prints the raw reply line", "[admin]") {
  AdminTestServer test;
  test.server->start();
  const CliRun result = run(test.socket(), {"--json", "echo", "x=1"});
  CHECK(result.status == 0);
  CHECK(json::parse(result.out) == json::parse(R"({"ok": true, "echo": {"cmd": "echo", "x": "1"}})"));
}

TEST_CASE("citadelctl reports an error reply on stderr and exits 1", "[admin]") {
  AdminTestServer test;
  test.server->start();
  const CliRun result = run(test.socket(), {"model", "nope"});
  CHECK(result.status == 1);
  CHECK(result.err == "error: unknown_command: unknown command \"model\" (\"help\" lists the commands)\n");
}

TEST_CASE("citadelctl exits 3 naming the socket when it cannot connect", "[admin]") {
  citadel::test::TempDir dir;
  const std::string socket = (dir.path() / "absent.sock").string();
  const CliRun result = run(socket, {"status"});
  CHECK(result.status == 3);
  CHECK_THAT(result.err, Catch::Contains(socket) && Catch::Contains("CITADEL_SOCKET"));
}

TEST_CASE("citadelctl prints streamed infer text as it arrives", "[admin]") {
  AdminTestServer test;
  test.server->add_command("infer", "stream words", [](const json::object& request, auto reply) {
    CHECK(request.at("stream") == true);
    std::thread([reply] {
      for (const char* piece : {"Hello", ", ", "world"}) reply->send(json::object{{"text", piece}});
      reply->finish(json::object{{"text", "Hello, world"}, {"finish_reason", "stop"}});
    }).detach();
  });
  test.server->start();
  const CliRun result = run(test.socket(), {"infer", "chat", R"({"prompt": "hi"})", "--stream"});
  CHECK(result.status == 0);
  CHECK(result.out == "Hello, world\nfinish_reason: stop\n");
}
