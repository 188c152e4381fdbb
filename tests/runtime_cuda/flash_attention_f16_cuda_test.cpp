// [cuda] flash_attention_f16 against the CPU f32 dense_attention on random
// inputs, through both its kernels (mma.sync, and wgmma where the device is
// sm_90a: head sizes 64 and 128): head sizes 32, 64 and 128; query counts
// that are not multiples of the 128-query blocks (1, 100, 257) and key counts
// that are not multiples of the 64-key tiles (1, 77, 300, 1029: one partial
// tile, several, and a long run through the double buffer); inputs of
// magnitude 1 and 4 (scores 16 times larger: the running maximum moves across
// tiles, the softmax is sharp). The inputs reach the kernel as f16 (converted
// on the device, as vista does); P is rounded to f16 for P.V. Tolerance
// relative to the output's largest magnitude, as flash_attention's test:
// 3e-3 at magnitude 1, 1e-2 at 4. Also: results do not depend on the tile
// split (a query block alone equals it inside a longer run), and unsupported
// head sizes, missing keys and misaligned operands are refused.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/error.h"
#include "runtime/core/thread_pool.h"
#include "runtime/cuda/flash_attention_f16.h"
#include "runtime/cuda/flash_attention_wgmma.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/kernels/dense_attention.h"

#include <cuda_runtime.h>

#include <cmath>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

namespace {

DeviceBuffer half_on_device(const std::vector<float>& values) {
  DeviceBuffer f32 = to_device(values), f16(values.size() * 2 + 16);
  cuda::float_to_half(f32.as<float>(), f16.as<uint16_t>(), static_cast<int64_t>(values.size()), nullptr);
  return f16;
}

std::vector<float> run_f16(const std::vector<float>& q, int64_t queries, const std::vector<float>& k,
                           const std::vector<float>& v, int64_t keys, int64_t heads, int64_t head_dim, float scale,
                           cuda::FlashF16Path path = cuda::FlashF16Path::mma_sync) {
  DeviceBuffer qd = half_on_device(q), kd = half_on_device(k), vd = half_on_device(v), od(q.size() * sizeof(float));
  cuda::flash_attention_f16(qd.as<uint16_t>(), queries, kd.as<uint16_t>(), vd.as<uint16_t>(), keys, heads, head_dim,
                            scale, od.as<float>(), nullptr, path);
  return od.to_vector<float>(q.size());
}

// The kernels to check at a head size: mma.sync always, wgmma where it runs.
std::vector<cuda::FlashF16Path> paths_for(int64_t head_dim) {
  std::vector<cuda::FlashF16Path> paths{cuda::FlashF16Path::mma_sync};
  if (cuda::flash_attention_wgmma_supports(head_dim) && cuda::flash_attention_wgmma_available())
    paths.push_back(cuda::FlashF16Path::wgmma);
  return paths;
}

const char* path_name(cuda::FlashF16Path path) { return path == cuda::FlashF16Path::wgmma ? "wgmma" : "mma.sync"; }

bool is_hopper() {
  int device = 0, major = 0, minor = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
  return major == 9 && minor == 0;
}

}  // namespace

TEST_CASE("cuda flash attention f16 matches the CPU kernel", "[cuda]") {
  std::mt19937 rng(35);
  ThreadPool pool(4);
  const int64_t heads = 3;
  for (int64_t head_dim : {32, 64, 128})
    for (int64_t queries : {1, 100, 257})
      for (int64_t keys : {1, 77, 300, 1029})
        for (float magnitude : {1.0f, 4.0f}) {
          const auto q = random_floats(static_cast<size_t>(queries * heads * head_dim), rng, magnitude);
          const auto k = random_floats(static_cast<size_t>(keys * heads * head_dim), rng, magnitude);
          const auto v = random_floats(static_cast<size_t>(keys * heads * head_dim), rng);
          const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
          std::vector<float> expected(q.size());
          dense_attention(pool, q.data(), queries, k.data(), v.data(), keys, heads, head_dim, scale, expected.data());
          for (cuda::FlashF16Path path : paths_for(head_dim)) {
            const std::vector<float> got = run_f16(q, queries, k, v, keys, heads, head_dim, scale, path);
            INFO(path_name(path) << ", head_dim " << head_dim << ", " << queries << " queries, " << keys
                                 << " keys, magnitude " << magnitude);
            CHECK(scaled_max_error(got, expected) < (magnitude > 1.0f ? 1e-2 : 3e-3));
          }
        }
}

// On an H200 (sm_90) the wgmma kernel must be there: a missing sm_90a image
// would otherwise pass every check above through mma.sync alone.
TEST_CASE("cuda flash attention f16 runs on warpgroup tensor cores on Hopper", "[cuda]") {
  if (!is_hopper()) return;
  REQUIRE(cuda::flash_attention_wgmma_available());
  // Both kernels agree closely on a vista-like shape (128-dim heads, several
  // query blocks, a key count past many tiles, one partial).
  std::mt19937 rng(37);
  const int64_t heads = 2, head_dim = 128, queries = 390, keys = 1170;
  const auto q = random_floats(static_cast<size_t>(queries * heads * head_dim), rng, 2.0f);
  const auto k = random_floats(static_cast<size_t>(keys * heads * head_dim), rng, 2.0f);
  const auto v = random_floats(static_cast<size_t>(keys * heads * head_dim), rng);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const std::vector<float> sync = run_f16(q, queries, k, v, keys, heads, head_dim, scale, cuda::FlashF16Path::mma_sync);
  const std::vector<float> wgmma = run_f16(q, queries, k, v, keys, heads, head_dim, scale, cuda::FlashF16Path::wgmma);
  const std::vector<float> chosen =
      run_f16(q, queries, k, v, keys, heads, head_dim, scale, cuda::FlashF16Path::automatic);
  CHECK(scaled_max_error(wgmma, sync) < 3e-3);  // summation order and P roundings differ; a wrong tap is O(1)
  CHECK(chosen == wgmma);
}

TEST_CASE("cuda flash attention f16 rows do not depend on their block", "[cuda]") {
  std::mt19937 rng(36);
  const int64_t heads = 2, head_dim = 64, queries = 300, keys = 200;
  const auto q = random_floats(static_cast<size_t>(queries * heads * head_dim), rng, 2.0f);
  const auto k = random_floats(static_cast<size_t>(keys * heads * head_dim), rng, 2.0f);
  const auto v = random_floats(static_cast<size_t>(keys * heads * head_dim), rng);
  for (cuda::FlashF16Path path : paths_for(head_dim)) {
    INFO(path_name(path));
    const std::vector<float> all = run_f16(q, queries, k, v, keys, heads, head_dim, 0.125f, path);
    // The last 44 queries alone (a partial block) give the same rows.
    const int64_t first = 256, count = queries - first;
    const std::vector<float> tail_q(q.begin() + first * heads * head_dim, q.end());
    const std::vector<float> tail = run_f16(tail_q, count, k, v, keys, heads, head_dim, 0.125f, path);
    CHECK(std::vector<float>(all.begin() + first * heads * head_dim, all.end()) == tail);
  }
}

TEST_CASE("cuda flash attention f16 refuses what it does not compute", "[cuda]") {
  CHECK(cuda::flash_attention_f16_supports(128));
  CHECK_FALSE(cuda::flash_attention_f16_supports(12));
  CHECK_FALSE(cuda::flash_attention_f16_supports(256));
  DeviceBuffer buffer(64 * 128 * sizeof(float));
  const auto* half = buffer.as<uint16_t>();
  float* out = buffer.as<float>();
  CHECK_THROWS_AS(cuda::flash_attention_f16(half, 1, half, half, 1, 1, 12, 1.0f, out, nullptr), RuntimeError);
  CHECK_THROWS_AS(cuda::flash_attention_f16(half, 1, half, half, 0, 1, 64, 1.0f, out, nullptr), RuntimeError);
  CHECK_THROWS_AS(cuda::flash_attention_f16(half + 1, 1, half, half, 1, 1, 64, 1.0f, out, nullptr), RuntimeError);
  // wgmma asked for where it does not run: head size 32 has no wgmma kernel.
  CHECK_THROWS_AS(
      cuda::flash_attention_f16(half, 1, half, half, 1, 1, 32, 1.0f, out, nullptr, cuda::FlashF16Path::wgmma),
      RuntimeError);
}
#endif  // CITADEL_HAVE_CUDA
