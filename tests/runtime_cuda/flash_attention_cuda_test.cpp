// [cuda] flash_attention (tensor cores, f16 tiles) against the CPU
// dense_attention on random inputs: head sizes 32, 64 and 128, query and key
// counts that are not multiples of the 64-row tiles (1, 77, 300 keys; 1 and
// 100 queries), inputs of magnitude 1 and 4 (scores 16 times larger, so the
// running maximum moves across tiles and the softmax is sharp). Tolerance
// relative to the output's largest magnitude: the f16 rounding of Q and K
// (2^-11 relative) shifts a score by about 2^-11 times its size, so the bound
// grows with the inputs: 3e-3 at magnitude 1, 1e-2 at 4 (measured on the H200:
// at most 4.3e-3 there). The f32 kernel's test holds 1e-4. Unsupported head
// sizes and missing keys are refused.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/error.h"
#include "runtime/core/thread_pool.h"
#include "runtime/cuda/flash_attention.h"
#include "runtime/kernels/dense_attention.h"

#include <cmath>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

TEST_CASE("cuda flash attention matches the CPU kernel", "[cuda]") {
  std::mt19937 rng(34);
  ThreadPool pool(4);
  const int64_t heads = 3;
  for (int64_t head_dim : {32, 64, 128})
    for (int64_t queries : {1, 100})
      for (int64_t keys : {1, 77, 300})
        for (float magnitude : {1.0f, 4.0f}) {
          const auto q = random_floats(static_cast<size_t>(queries * heads * head_dim), rng, magnitude);
          const auto k = random_floats(static_cast<size_t>(keys * heads * head_dim), rng, magnitude);
          const auto v = random_floats(static_cast<size_t>(keys * heads * head_dim), rng);
          const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
          std::vector<float> expected(q.size());
          dense_attention(pool, q.data(), queries, k.data(), v.data(), keys, heads, head_dim, scale, expected.data());
          DeviceBuffer qd = to_device(q), kd = to_device(k), vd = to_device(v), od(q.size() * sizeof(float));
          cuda::flash_attention(qd.as<float>(), queries, kd.as<float>(), vd.as<float>(), keys, heads, head_dim, scale,
                                od.as<float>(), nullptr);
          INFO("head_dim " << head_dim << ", " << queries << " queries, " << keys << " keys, magnitude " << magnitude);
          CHECK(scaled_max_error(od.to_vector<float>(q.size()), expected) < (magnitude > 1.0f ? 1e-2 : 3e-3));
        }
}

TEST_CASE("cuda flash attention refuses what it does not compute", "[cuda]") {
  CHECK(cuda::flash_attention_supports(128));
  CHECK_FALSE(cuda::flash_attention_supports(12));
  CHECK_FALSE(cuda::flash_attention_supports(256));
  DeviceBuffer buffer(64 * 128 * sizeof(float));
  float* data = buffer.as<float>();
  CHECK_THROWS_AS(cuda::flash_attention(data, 1, data, data, 1, 1, 12, 1.0f, data, nullptr), RuntimeError);
  CHECK_THROWS_AS(cuda::flash_attention(data, 1, data, data, 0, 1, 64, 1.0f, data, nullptr), RuntimeError);
}
#endif  // CITADEL_HAVE_CUDA
