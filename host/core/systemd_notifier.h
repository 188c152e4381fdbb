// SystemdNotifier: the sd_notify side of Type=notify units — READY=1,
// RELOADING=1 (with MONOTONIC_USEC), STOPPING=1, STATUS= and WATCHDOG=1.
// Without libsystemd at build time, or when not started by systemd
// (NOTIFY_SOCKET unset), every call does nothing.
//
// Used by core::Host around start-up, reloads and shutdown; Host's main loop
// pings the watchdog every watchdog_interval() / 2.
#pragma once

#include <chrono>
#include <string>

namespace citadel::core {

class SystemdNotifier {
 public:
  SystemdNotifier();

  void ready(const std::string& status);
  void reloading();
  void stopping();
  void watchdog();
  // WATCHDOG_USEC as set by systemd for this process; zero when disabled.
  std::chrono::microseconds watchdog_interval() const { return watchdog_interval_; }

 private:
  void notify(const std::string& state);
  std::chrono::microseconds watchdog_interval_{0};
};

}  // namespace citadel::core
