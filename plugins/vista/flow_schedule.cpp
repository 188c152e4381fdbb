// Warped Self-Forcing timesteps (see flow_schedule.h).
#include "flow_schedule.h"

#include "runtime/core/error.h"

#include <string>

namespace citadel::vista {

std::vector<float> warped_timesteps(const std::vector<double>& steps, double shift) {
  if (steps.empty()) runtime::throw_invalid("denoising_steps: the list is empty");
  if (!(shift > 0.0)) runtime::throw_invalid("shift: must be positive, got " + std::to_string(shift));
  std::vector<float> out;
  for (double step : steps) {
    if (!(step > 0.0 && step <= 1000.0))
      runtime::throw_invalid("denoising_steps: " + std::to_string(step) + " is outside (0, 1000]");
    const double s = step / 1000.0;
    out.push_back(static_cast<float>(1000.0 * shift * s / (1.0 + (shift - 1.0) * s)));
  }
  return out;
}

}  // namespace citadel::vista
