// The process-wide switch of dependent_launch.h.
#include "runtime/cuda/dependent_launch.h"

#include <atomic>

namespace citadel::runtime::cuda {
namespace {
std::atomic<bool> enabled{true};
}  // namespace

bool dependent_launch_enabled() { return enabled.load(std::memory_order_relaxed); }
void set_dependent_launch(bool value) { enabled.store(value, std::memory_order_relaxed); }

}  // namespace citadel::runtime::cuda
