// The few-step flow-matching schedule of causal Wan generation (Self-Forcing
// utils/scheduler.py, pipeline/causal_inference.py): denoising steps on the
// 1000-step training grid warped by the shifted table, sigma s = step/1000,
// s' = shift*s / (1 + (shift-1)*s), model timestep 1000*s'. The default
// [1000, 750, 500, 250] with shift 5 gives [1000, 937.5, 833.3, 625].
// Per step the model predicts v = noise - x0: x0 = x - s'*v, then unless last
// x = (1 - s'_next) x0 + s'_next * fresh noise. Used by the chunk denoiser.
#pragma once

#include <vector>

namespace citadel::vista {

inline const std::vector<double>& self_forcing_steps() {
  static const std::vector<double> steps = {1000, 750, 500, 250};
  return steps;
}
inline constexpr double kSelfForcingShift = 5.0;

// Model timesteps (0..1000) of `steps` (each in (0, 1000]) warped by shift
// (> 0; 1 leaves them). Throws RuntimeError (invalid) naming the bad value.
std::vector<float> warped_timesteps(const std::vector<double>& steps, double shift);

}  // namespace citadel::vista
