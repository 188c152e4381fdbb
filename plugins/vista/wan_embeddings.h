// The data-layout steps around the Wan transformer: the sinusoidal timestep
// features (diffusers Timesteps with flip_sin_to_cos, shift 0: [cos, sin],
// computed in f32), patchify (latents [C, F, H, W] -> tokens [F*H/p*W/p,
// C*p*p] in (f, h, w) order, features (c, ph, pw) as the Conv3d weight) and
// unpatchify (rows ((ph*p)+pw)*C + c, channel innermost, back to [C, F, H, W]).
// Used by WanTransformer.
#pragma once

#include <cstdint>
#include <vector>

namespace citadel::vista {

// [dim] features of timestep t (dim even).
std::vector<float> timestep_features(float t, int64_t dim);

std::vector<float> patchify(const float* latents, int64_t channels, int64_t frames, int64_t height, int64_t width,
                            int64_t patch);
std::vector<float> unpatchify(const float* rows, int64_t channels, int64_t frames, int64_t height, int64_t width,
                              int64_t patch);

}  // namespace citadel::vista
