// Random Wan2.1 VAE decoder weights at any width: the block structure of
// diffusers' WanDecoder3d for Wan2.1 (z_dim 16, dim_mult [1, 2, 4, 4], 2
// residual blocks per up block plus one, temporal upsampling in the first
// two up blocks, the middle attention), weights drawn N(0, 1/fan_in), biases
// N(0, 0.01), norm gammas 1, latents mean 0 and std 1. base_dim 96 gives the
// released widths. For benchmarks (bench/vista_vae) and tests that need a
// decoder whose norms span enough channels (the committed tiny checkpoint
// normalises over 1 to 3 channels, where an RMS norm is nearly a sign
// function and f16 rounding flips it). Deterministic for a given seed.
#pragma once

#include "wan_vae_weights.h"

#include <cstdint>

namespace citadel::vista {

WanVaeWeights random_wan21_vae_weights(int64_t base_dim, uint32_t seed);

}  // namespace citadel::vista
