#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "admin/admin_test_server.hpp"
#include "host/admin/admin_protocol.h"
#include "host/admin/admin_socket_file.h"

using citadel::admin::AdminClient;
using citadel::admin::AdminReply;
using citadel::test::AdminTestServer;
namespace json = boost::json;

namespace {

json::object parse_line(const std::string& line) { return json::parse(line).as_object(); }

std::string error_code_of(const json::object& reply) {
  return std::string(reply.at("error").at("code").as_string());
}

bool wait_for(const std::atomic<bool>& flag) {
  for (int i = 0; i < 500 && !flag.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return flag.load();
}

// A socket file nobody listens on, as a crashed host leaves it.
void make_stale_socket(const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  ::close(fd);
}

}  // namespace

TEST_CASE("the admin server runs a command and echoes the request id", "[admin]") {
  AdminTestServer test;
  test.server->start();
  auto client = test.client();
  client->send_line(R"({"cmd": "echo", "id": 42, "value": "x"})");
  const json::object reply = parse_line(client->read_line());
  CHECK(reply.at("ok") == true);
  CHECK(reply.at("id") == 42);
  CHECK(reply.at("echo").at("value") == "x");
}

TEST_CASE("bad requests get error codes and the connection stays usable", "[admin]") {
  AdminTestServer test;
  test.server->start();
  auto client = test.client();
  client->send_line("{not json");
  CHECK(error_code_of(parse_line(client->read_line())) == "bad_json");
  client->send_line("[1, 2]");
  CHECK(error_code_of(parse_line(client->read_line())) == "bad_request");
  client->send_line(R"({"id": "a"})");
  const json::object missing_cmd = parse_line(client->read_line());
  CHECK(error_code_of(missing_cmd) == "bad_request");
  CHECK(missing_cmd.at("id") == "a");
  client->send_line(R"({"cmd": "launch", "id": 7})");
  const json::object unknown = parse_line(client->read_line());
  CHECK(unknown.at("ok") == false);
  CHECK(error_code_of(unknown) == "unknown_command");
  CHECK(unknown.at("id") == 7);
  client->send_line(R"({"cmd": "echo", "n": 1})");
  CHECK(parse_line(client->read_line()).at("echo").at("n") == 1);
}

TEST_CASE("an oversized line gets line_too_long and the next request is served", "[admin]") {
  AdminTestServer test(256);
  test.server->start();
  auto client = test.client();
  client->send_line(R"({"cmd": "echo", "pad": ")" + std::string(100000, 'x') + "\"}");
  CHECK(error_code_of(parse_line(client->read_line())) == "line_too_long");
  client->send_line(R"({"cmd": "echo", "n": 2})");
  CHECK(parse_line(client->read_line()).at("echo").at("n") == 2);
}

TEST_CASE("streamed reply lines arrive in order, the final one last", "[admin]") {
  AdminTestServer test;
  test.server->add_command("count", "stream 1..5", [](const json::object&, std::shared_ptr<AdminReply> reply) {
    std::thread([reply] {
      for (int i = 1; i <= 5; ++i) {
        json::object line;
        line["n"] = i;
        reply->send(std::move(line));
      }
      json::object last;
      last["total"] = 5;
      reply->finish(std::move(last));
    }).detach();
  });
  test.server->start();
  auto client = test.client();
  std::vector<int> seen;
  json::object request{{"cmd", "count"}, {"id", "s1"}};
  const json::object last = client->call(request, [&](const std::string&, const json::object& line) {
    CHECK(line.at("id") == "s1");
    if (citadel::admin::is_intermediate_line(line)) seen.push_back(static_cast<int>(line.at("n").as_int64()));
  });
  CHECK(seen == std::vector<int>{1, 2, 3, 4, 5});
  CHECK(last.at("total") == 5);
  CHECK(last.at("ok") == true);
  CHECK_FALSE(last.contains("more"));
}

TEST_CASE("pipelined requests on one connection run one after another", "[admin]") {
  AdminTestServer test;
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  test.server->add_command("slow", "finish later", [&](const json::object& request, std::shared_ptr<AdminReply> reply) {
    if (running.fetch_add(1) != 0) overlapped = true;
    std::thread([&, reply, tag = request.at("tag")] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      running.fetch_sub(1);
      json::object last;
      last["tag"] = tag;
      reply->finish(std::move(last));
    }).detach();
  });
  test.server->start();
  auto client = test.client();
  client->send_line(R"({"cmd": "slow", "tag": 1})" "\n" R"({"cmd": "slow", "tag": 2})" "\n"
                    R"({"cmd": "echo", "tag": 3})");
  CHECK(parse_line(client->read_line()).at("tag") == 1);
  CHECK(parse_line(client->read_line()).at("tag") == 2);
  CHECK(parse_line(client->read_line()).at("echo").at("tag") == 3);
  CHECK_FALSE(overlapped.load());
}

TEST_CASE("a client that disconnects cancels the running command's reply", "[admin]") {
  AdminTestServer test;
  std::atomic<bool> cancelled{false};
  std::shared_ptr<AdminReply> held;
  std::atomic<bool> started{false};
  test.server->add_command("wait", "never finishes", [&](const json::object&, std::shared_ptr<AdminReply> reply) {
    reply->on_cancel([&] { cancelled = true; });
    held = reply;
    started = true;
  });
  test.server->start();
  {
    auto client = test.client();
    client->send_line(R"({"cmd": "wait"})");
    REQUIRE(wait_for(started));
  }  // disconnects
  CHECK(wait_for(cancelled));
  CHECK(held->cancelled());
  CHECK_FALSE(held->send(json::object{{"late", true}}));
}

TEST_CASE("a client that only shuts down its sending side still gets its reply", "[admin]") {
  AdminTestServer test;
  test.server->start();
  auto client = test.client();
  client->send_line(R"({"cmd": "echo", "n": 9})");
  // The raw descriptor is private; a second plain socket shows the same thing.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, test.socket().c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  const std::string request = "{\"cmd\": \"echo\", \"n\": 10}";  // no newline: the last line
  REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  ::shutdown(fd, SHUT_WR);
  std::string received;
  char chunk[4096];
  for (ssize_t n; (n = ::read(fd, chunk, sizeof(chunk))) > 0;) received.append(chunk, static_cast<std::size_t>(n));
  ::close(fd);
  REQUIRE_FALSE(received.empty());
  CHECK(parse_line(received.substr(0, received.find('\n'))).at("echo").at("n") == 10);
  CHECK(parse_line(client->read_line()).at("echo").at("n") == 9);
}

TEST_CASE("handler exceptions become error replies", "[admin]") {
  AdminTestServer test;
  test.server->add_command("find", "throws not_found", [](const json::object&, auto) {
    throw citadel::admin::AdminCommandError("not_found", "no model named \"x\"");
  });
  test.server->add_command("boom", "throws", [](const json::object&, auto) {
    throw std::runtime_error("it broke");
  });
  test.server->add_command("forget", "drops its reply", [](const json::object&, auto) {});
  test.server->start();
  auto client = test.client();
  const json::object not_found = client->call({{"cmd", "find"}});
  CHECK(error_code_of(not_found) == "not_found");
  CHECK(not_found.at("error").at("message") == "no model named \"x\"");
  const json::object failed = client->call({{"cmd", "boom"}});
  CHECK(error_code_of(failed) == "failed");
  CHECK(failed.at("error").at("message") == "it broke");
  CHECK(error_code_of(client->call({{"cmd", "forget"}})) == "failed");
}

TEST_CASE("help lists the registered commands with their help text", "[admin]") {
  AdminTestServer test;
  test.server->start();
  auto client = test.client();
  const json::object reply = client->call({{"cmd", "help"}});
  const json::array& commands = reply.at("commands").as_array();
  REQUIRE(commands.size() == 2);
  CHECK(commands[0].at("name") == "help");
  CHECK(commands[1].at("name") == "echo");
  CHECK(commands[1].at("help") == "reply with the request");
}

TEST_CASE("the socket file is created with mode 0600 and removed by stop", "[admin]") {
  AdminTestServer test;
  test.server->start();
  struct stat status {};
  REQUIRE(::stat(test.socket().c_str(), &status) == 0);
  CHECK(S_ISSOCK(status.st_mode));
  CHECK((status.st_mode & 0777) == 0600);
  test.server->stop();
  CHECK_FALSE(std::filesystem::exists(test.socket()));
  AdminClient client(test.socket());
  CHECK_THROWS_AS(client.connect(), citadel::admin::AdminConnectError);
}

TEST_CASE("a stale socket file is replaced and a live one is refused", "[admin]") {
  AdminTestServer test;
  make_stale_socket(test.socket());
  REQUIRE(std::filesystem::exists(test.socket()));
  test.server->start();
  CHECK(test.client()->call({{"cmd", "echo"}}).at("ok") == true);

  citadel::config::AdminSettings second;
  second.socket = test.socket();
  citadel::admin::AdminServer rival(second);
  CHECK_THROWS_WITH(rival.start(), Catch::Contains(test.socket()) && Catch::Contains("another process"));
  CHECK(test.client()->call({{"cmd", "echo"}}).at("ok") == true);  // the first one still serves
}

TEST_CASE("a socket path that is a regular file is refused with its name", "[admin]") {
  citadel::test::TempDir dir;
  const auto file = dir.write("not-a-socket", "x");
  citadel::config::AdminSettings settings;
  settings.socket = file.string();
  citadel::admin::AdminServer server(settings);
  CHECK_THROWS_WITH(server.start(), Catch::Contains(file.string()) && Catch::Contains("not a socket"));
}

TEST_CASE("peer credentials: root and own uid always, others only when listed", "[admin]") {
  using citadel::admin::peer_is_allowed;
  citadel::config::AdminSettings settings;
  const uid_t stranger = ::getuid() == 4242 ? 4243 : 4242;
  CHECK(peer_is_allowed({1, 0, 0}, settings));
  CHECK(peer_is_allowed({1, ::getuid(), 999}, settings));
  CHECK_FALSE(peer_is_allowed({1, stranger, 999}, settings));
  settings.allowed_uids = {static_cast<uint32_t>(stranger)};
  CHECK(peer_is_allowed({1, stranger, 999}, settings));
  settings.allowed_uids.clear();
  settings.allowed_gids = {999};
  CHECK(peer_is_allowed({1, stranger, 999}, settings));
  CHECK_FALSE(peer_is_allowed({1, stranger, 998}, settings));
}

TEST_CASE("peer_credentials reports the process at the other end", "[admin]") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  const auto peer = citadel::admin::peer_credentials(fds[0]);
  ::close(fds[0]);
  ::close(fds[1]);
  CHECK(peer.uid == ::getuid());
  CHECK(peer.gid == ::getgid());
  CHECK(peer.pid == ::getpid());
}
