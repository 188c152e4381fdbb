// Fills device memory with reproducible pseudo-random values on the GPU (a
// counter-based hash, no host round trip), so that benchmarks can make
// hundreds of MB of random weights quickly. Used by bench/cuda_kernels and
// bench/vista; not for anything that needs statistical quality.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

// data[i] = uniformly random 32-bit words.
void fill_random_words(uint32_t* data, int64_t count, uint64_t seed, void* stream);
// data[i] = f16 bits of a value uniform in [low, high).
void fill_uniform_f16(uint16_t* data, int64_t count, float low, float high, uint64_t seed, void* stream);
// data[i] = bf16 bits of a value uniform in [low, high).
void fill_uniform_bf16(uint16_t* data, int64_t count, float low, float high, uint64_t seed, void* stream);
// data[i] = f32 uniform in [low, high).
void fill_uniform_f32(float* data, int64_t count, float low, float high, uint64_t seed, void* stream);

}  // namespace citadel::runtime::cuda
