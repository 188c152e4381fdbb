// citadel: the host executable. Argument parsing and wiring only.
//   citadel --config FILE [--log-level LEVEL] [--version]
#include "host/config/config_error.h"
#include "host/core/host.h"

#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include <citadel/plugin.h>

#include <cstdio>
#include <iostream>

namespace po = boost::program_options;

int main(int argc, char** argv) {
  po::options_description options("citadel: GPU model host\n\nOptions");
  options.add_options()
      ("config,c", po::value<std::string>(), "citadel.yaml to serve")
      ("log-level,l", po::value<std::string>(), "trace, debug, info, warn, error (overrides log_level)")
      ("version", "print the version and exit")
      ("help,h", "print this help and exit");
  po::variables_map arguments;
  try {
    po::store(po::parse_command_line(argc, argv, options), arguments);
    po::notify(arguments);
  } catch (const po::error& e) {
    std::cerr << "citadel: " << e.what() << "\n" << options << "\n";
    return 2;
  }
  if (arguments.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  if (arguments.count("version")) {
    std::cout << "citadel " << CITADEL_VERSION << " (plugin ABI " << CITADEL_ABI_VERSION_MAJOR
              << "." << CITADEL_ABI_VERSION_MINOR << ")\n";
    return 0;
  }
  if (!arguments.count("config")) {
    std::cerr << "citadel: --config FILE is required\n" << options << "\n";
    return 2;
  }
  citadel::core::HostOptions host_options;
  host_options.config_path = arguments["config"].as<std::string>();
  if (arguments.count("log-level")) {
    host_options.log_level = arguments["log-level"].as<std::string>();
    if (spdlog::level::from_str(host_options.log_level) == spdlog::level::off &&
        host_options.log_level != "off") {
      std::cerr << "citadel: --log-level " << host_options.log_level
                << ": expected trace, debug, info, warn, error or off\n";
      return 2;
    }
  }
  try {
    citadel::core::Host host(host_options);
    host.start();
    return host.run();
  } catch (const citadel::config::ConfigError& e) {
    for (const auto& problem : e.problems()) spdlog::error("{}", problem.to_string());
    spdlog::error("citadel: {} has {} problem(s); not starting", host_options.config_path,
                  e.problems().size());
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("citadel: {}", e.what());
    return 1;
  }
}
