// Random fills: splitmix64 of (seed, index), grid-stride loops.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/random_fill.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace citadel::runtime::cuda {
namespace {

__device__ __forceinline__ uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

__device__ __forceinline__ float unit(uint64_t seed, int64_t i) {
  return static_cast<float>(splitmix64(seed * 0x100000001b3ull + static_cast<uint64_t>(i)) >> 40) * 0x1p-24f;
}

__global__ void words_kernel(uint32_t* data, int64_t count, uint64_t seed) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    data[i] = static_cast<uint32_t>(splitmix64(seed * 0x100000001b3ull + static_cast<uint64_t>(i)));
  }
}

__global__ void f16_kernel(__half* data, int64_t count, float low, float high, uint64_t seed) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    data[i] = __float2half_rn(low + (high - low) * unit(seed, i));
  }
}

__global__ void bf16_kernel(__nv_bfloat16* data, int64_t count, float low, float high, uint64_t seed) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    data[i] = __float2bfloat16_rn(low + (high - low) * unit(seed, i));
  }
}

__global__ void f32_kernel(float* data, int64_t count, float low, float high, uint64_t seed) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    data[i] = low + (high - low) * unit(seed, i);
  }
}

constexpr unsigned kGrid = 4096;
constexpr unsigned kBlock = 256;

}  // namespace

void fill_random_words(uint32_t* data, int64_t count, uint64_t seed, void* stream) {
  if (count <= 0) return;
  words_kernel<<<kGrid, kBlock, 0, static_cast<cudaStream_t>(stream)>>>(data, count, seed);
  check_launch("fill_random_words");
}

void fill_uniform_f16(uint16_t* data, int64_t count, float low, float high, uint64_t seed, void* stream) {
  if (count <= 0) return;
  f16_kernel<<<kGrid, kBlock, 0, static_cast<cudaStream_t>(stream)>>>(reinterpret_cast<__half*>(data), count, low,
                                                                      high, seed);
  check_launch("fill_uniform_f16");
}

void fill_uniform_bf16(uint16_t* data, int64_t count, float low, float high, uint64_t seed, void* stream) {
  if (count <= 0) return;
  bf16_kernel<<<kGrid, kBlock, 0, static_cast<cudaStream_t>(stream)>>>(reinterpret_cast<__nv_bfloat16*>(data), count,
                                                                       low, high, seed);
  check_launch("fill_uniform_bf16");
}

void fill_uniform_f32(float* data, int64_t count, float low, float high, uint64_t seed, void* stream) {
  if (count <= 0) return;
  f32_kernel<<<kGrid, kBlock, 0, static_cast<cudaStream_t>(stream)>>>(data, count, low, high, seed);
  check_launch("fill_uniform_f32");
}

}  // namespace citadel::runtime::cuda
