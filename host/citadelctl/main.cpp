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
  if (invocation.show_help) {
    std::cout << cli_usage();
    return cli_ok;
  }
  return run_cli(invocation, std::cout, std::cerr);
}
