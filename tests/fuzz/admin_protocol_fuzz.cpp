// Fuzz target: bytes a client sends to the admin socket. They go through a
// real AdminConnection over a Unix socket pair (line framing, the
// max_line_bytes limit, JSON-lines parsing, "id" echo, one command at a time
// on a worker thread), with commands that echo, stream, fail and throw.
// Every reply line must be a JSON object with a boolean "ok", and each
// request line (non-blank, or too long) must get exactly one final reply.
#include "fuzz_support.hpp"

#include "host/admin/admin_command_table.h"
#include "host/admin/admin_connection.h"
#include "host/admin/admin_protocol.h"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>

namespace {

using namespace citadel;
namespace net = boost::asio;
namespace json = boost::json;
using Socket = net::local::stream_protocol::socket;

constexpr uint32_t kMaxLineBytes = 256;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "admin finding: %s\n", what.c_str());
  std::abort();
}

std::shared_ptr<admin::AdminCommandTable> make_commands() {
  auto table = std::make_shared<admin::AdminCommandTable>();
  table->add("echo", "reply with the request; \"lines\": n intermediate lines first",
             [](const json::object& request, std::shared_ptr<admin::AdminReply> reply) {
               const json::value* lines = request.if_contains("lines");
               const int64_t n = lines && lines->is_int64() ? lines->as_int64() : 0;
               for (int64_t i = 0; i < n && i < 3; ++i) reply->send({{"line", i}});
               reply->finish({{"request", request}});
             });
  table->add("fail", "fail with bad_request", [](const json::object&, std::shared_ptr<admin::AdminReply>) {
    throw admin::AdminCommandError(admin::error_code::bad_request, "asked to fail");
  });
  table->add("throw", "throw a runtime_error", [](const json::object&, std::shared_ptr<admin::AdminReply>) {
    throw std::runtime_error("asked to throw");
  });
  table->add("drop", "drop the reply unfinished", [](const json::object&, std::shared_ptr<admin::AdminReply>) {});
  return table;
}

// Request lines the connection must answer, counted the way the protocol
// defines them (admin_protocol.h, admin.max_line_bytes).
size_t expected_replies(std::string_view input) {
  size_t count = 0;
  while (!input.empty()) {
    const size_t newline = input.find('\n');
    const std::string_view line = input.substr(0, newline);
    if (line.size() > kMaxLineBytes || line.find_first_not_of(" \t\r") != std::string_view::npos) ++count;
    if (newline == std::string_view::npos) break;
    input.remove_prefix(newline + 1);
  }
  return count;
}

void check_replies(std::string_view received, size_t expected) {
  size_t finals = 0;
  while (!received.empty()) {
    const size_t newline = received.find('\n');
    if (newline == std::string_view::npos) finding("reply without a newline");
    boost::system::error_code error;
    const json::value line = json::parse(received.substr(0, newline), error);
    if (error || !line.is_object()) finding("reply line is not a JSON object");
    const json::value* ok = line.as_object().if_contains("ok");
    if (ok == nullptr || !ok->is_bool()) finding("reply line without a boolean \"ok\"");
    if (!admin::is_intermediate_line(line.as_object())) ++finals;
    received.remove_prefix(newline + 1);
  }
  if (finals != expected)
    finding(std::to_string(finals) + " final replies for " + std::to_string(expected) + " requests");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static net::io_context io;
  static net::thread_pool workers(1);
  static const std::shared_ptr<const admin::AdminCommandTable> commands = make_commands();
  static const config::AdminSettings settings = [] {
    config::AdminSettings s;
    s.max_line_bytes = kMaxLineBytes;
    return s;
  }();

  const std::string input(fuzz::as_text(data, size));
  Socket server_end(io), client_end(io);
  net::local::connect_pair(server_end, client_end);
  std::make_shared<admin::AdminConnection>(std::move(server_end), settings, commands, workers)->start();

  // The client sends everything, half-closes, and reads until the server closes.
  net::async_write(client_end, net::buffer(input), [&](const boost::system::error_code&, size_t) {
    boost::system::error_code ignored;
    client_end.shutdown(Socket::shutdown_send, ignored);
  });
  std::string received;
  std::array<char, 4096> chunk;
  std::function<void(const boost::system::error_code&, size_t)> on_read =
      [&](const boost::system::error_code& error, size_t bytes) {
        received.append(chunk.data(), bytes);
        if (!error) client_end.async_read_some(net::buffer(chunk), on_read);
      };
  client_end.async_read_some(net::buffer(chunk), on_read);
  io.restart();
  io.run();
  check_replies(received, expected_replies(input));
  return 0;
}
