// citadelctl's logic: command-line arguments to one admin request, and the
// run that sends it and prints the reply (tables, key: value lines, streamed
// text, or raw JSON lines with --json).
//
// Called by host/citadelctl/main.cpp; tested in tests/admin/ against a real
// AdminServer.
#pragma once

#include <chrono>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>

namespace citadel::admin {

// Exit statuses of citadelctl.
enum CliExit : int { cli_ok = 0, cli_error_reply = 1, cli_usage_error = 2, cli_cannot_connect = 3 };

class CliUsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CliInvocation {
  std::string socket;                 // --socket, else $CITADEL_SOCKET, else the default
  bool json = false;                  // --json: print the raw reply lines
  std::chrono::milliseconds timeout{0};  // --timeout S; 0: none (the default for infer)
  bool show_help = false;             // --help
  boost::json::object request;        // what to send
};

inline constexpr const char* kDefaultAdminSocket = "/run/citadel/citadel.sock";

// `arguments` excludes the program name; `socket_from_environment` is
// $CITADEL_SOCKET or nullptr. Throws CliUsageError.
CliInvocation parse_cli_arguments(const std::vector<std::string>& arguments,
                                  const char* socket_from_environment);

std::string cli_usage();

// Connects, sends invocation.request, prints the reply; returns a CliExit.
int run_cli(const CliInvocation& invocation, std::ostream& out, std::ostream& err);

}  // namespace citadel::admin
