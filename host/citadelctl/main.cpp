// citadelctl: the admin CLI. Argument parsing and wiring only; the logic is
// in host/admin/admin_cli.* (client in admin_client.*, tables in
// admin_table_format.*).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "host/admin/admin_cli.h"

int main(int argc, char** argv) {
  using namespace citadel::admin;
  const std::vector<std::string> arguments(argv + 1, argv + argc);
  CliInvocation invocation;
  try {
    invocation = parse_cli_arguments(arguments, std::getenv("CITADEL_SOCKET"));
  } catch (const CliUsageError& error) {
    std::cerr << "citadelctl: " << error.what() << "\n\n" << cli_usage();
    return cli_usage_error;
  }
  // On a host with http.api_keys, `benchmark` sends its requests with this
  // key (from the environment, so that it shows in no process listing).
  const char* api_key = std::getenv("CITADEL_API_KEY");
  if (api_key != nullptr && *api_key != '\0' && invocation.request.contains("cmd") &&
      invocation.request.at("cmd") == "benchmark" && !invocation.request.contains("api_key"))
    invocation.request["api_key"] = api_key;
  if (invocation.show_help) {
    std::cout << cli_usage();
    return cli_ok;
  }
  return run_cli(invocation, std::cout, std::cerr);
}
