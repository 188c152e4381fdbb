#include "host/core/systemd_notifier.h"

#include <spdlog/spdlog.h>

#include <ctime>

#ifdef CITADEL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace citadel::core {

SystemdNotifier::SystemdNotifier() {
#ifdef CITADEL_HAVE_SYSTEMD
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_interval_ = std::chrono::microseconds(usec);
#endif
}

void SystemdNotifier::notify(const std::string& state) {
#ifdef CITADEL_HAVE_SYSTEMD
  const int result = sd_notify(0, state.c_str());
  if (result < 0) spdlog::warn("sd_notify({}) failed: error {}", state, -result);
#else
  (void)state;
#endif
}

void SystemdNotifier::ready(const std::string& status) { notify("READY=1\nSTATUS=" + status); }

void SystemdNotifier::reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const uint64_t usec = uint64_t(now.tv_sec) * 1000000u + uint64_t(now.tv_nsec) / 1000u;
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::stopping() { notify("STOPPING=1"); }

void SystemdNotifier::watchdog() { notify("WATCHDOG=1"); }

}  // namespace citadel::core
