// Tests of runtime/core: fp16/bf16 conversion, Tensor, ThreadPool.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/core/tensor.h"
#include "runtime/core/thread_pool.h"

#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

using namespace citadel::runtime;

namespace {

// Independent bf16 reference: pick the nearer of the two bf16 neighbours in
// double arithmetic, ties to the even one.
uint16_t reference_bfloat16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t down = static_cast<uint16_t>(bits >> 16);
  const uint16_t up = static_cast<uint16_t>(down + 1);
  const double d_down = std::abs(static_cast<double>(bfloat16_to_float(down)) - value);
  const double d_up = std::abs(static_cast<double>(bfloat16_to_float(up)) - value);
  if ((bits & 0xffff) == 0) return down;
  if (d_down < d_up) return down;
  if (d_up < d_down) return up;
  return (down & 1) == 0 ? down : up;
}

}  // namespace

TEST_CASE("half_to_float matches the compiler's _Float16 for all 65536 bit patterns", "[runtime]") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const float ours = half_to_float(bits);
    const float reference = static_cast<float>(std::bit_cast<_Float16>(bits));
    if (std::isnan(reference)) {
      REQUIRE(std::isnan(ours));
    } else {
      REQUIRE(std::bit_cast<uint32_t>(ours) == std::bit_cast<uint32_t>(reference));
    }
  }
}

TEST_CASE("float_to_half rounds to nearest even exactly like _Float16", "[runtime]") {
  std::mt19937 rng(7);
  std::vector<float> values = {0.0f, -0.0f, 1.0f, 65504.0f, 65519.99f, 65520.0f, 1e-8f,
                               std::ldexp(1.0f, -24), std::ldexp(1.0f, -25), std::ldexp(1.5f, -25),
                               1.0f + std::ldexp(1.0f, -11), 1.0f + 3 * std::ldexp(1.0f, -11),
                               INFINITY, -INFINITY, 1e30f};
  for (int i = 0; i < 200000; ++i) values.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng())));
  for (int i = 0; i < 200000; ++i) {  // dense around the half range incl. subnormals
    values.push_back(std::ldexp(static_cast<float>(rng() % 1000000) / 1e6f, static_cast<int>(rng() % 44) - 28));
  }
  for (float v : values) {
    const uint16_t ours = float_to_half(v);
    const auto reference = std::bit_cast<uint16_t>(static_cast<_Float16>(v));
    if (std::isnan(v)) {
      REQUIRE((ours & 0x7c00) == 0x7c00);
      REQUIRE((ours & 0x3ff) != 0);
    } else {
      INFO("value " << v);
      REQUIRE(ours == reference);
    }
  }
  CHECK(float_to_half(1.0f) == 0x3c00);
  CHECK(float_to_half(65520.0f) == 0x7c00);  // the tie above the maximum rounds to infinity
  CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);
}

TEST_CASE("bfloat16 conversion is exact one way and rounds to nearest even the other", "[runtime]") {
  std::mt19937 rng(11);
  for (int i = 0; i < 300000; ++i) {
    const float v = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    if (std::isnan(v)) {
      REQUIRE(std::isnan(bfloat16_to_float(float_to_bfloat16(v))));
      continue;
    }
    const uint16_t b = float_to_bfloat16(v);
    if (std::isinf(bfloat16_to_float(b)) && !std::isinf(v)) continue;  // overflow case checked below
    INFO("value " << v);
    REQUIRE(b == reference_bfloat16(v));
  }
  CHECK(float_to_bfloat16(1.0f) == 0x3f80);
  CHECK(bfloat16_to_float(0x3f80) == 1.0f);
  CHECK(float_to_bfloat16(std::bit_cast<float>(0x3f808000u)) == 0x3f80);  // tie -> even
  CHECK(float_to_bfloat16(std::bit_cast<float>(0x3f818000u)) == 0x3f82);  // tie -> even
  CHECK(float_to_bfloat16(std::bit_cast<float>(0x7f7fffffu)) == 0x7f80);  // max float -> inf
}

TEST_CASE("Tensor owns zeroed memory, views foreign memory and converts dtypes", "[runtime]") {
  Tensor t = Tensor::zeros(DType::f16, {2, 3});
  CHECK(t.numel() == 6);
  CHECK(t.nbytes() == 12);
  CHECK(t.dim(-1) == 3);
  CHECK(t.description() == "f16[2, 3]");
  CHECK(t.data_as<uint16_t>()[5] == 0);
  CHECK_THROWS_AS(t.data_as<float>(), RuntimeError);
  CHECK_THROWS_AS(t.dim(2), RuntimeError);
  t.data_as<uint16_t>()[4] = float_to_half(2.5f);
  Tensor f = t.to_f32();
  CHECK(f.dtype() == DType::f32);
  CHECK(f.data_as<float>()[4] == 2.5f);
  CHECK(f.converted(DType::bf16).data_as<uint16_t>()[4] == float_to_bfloat16(2.5f));

  std::vector<float> external = {1, 2, 3, 4};
  auto keep = std::make_shared<int>(1);
  {
    Tensor v = Tensor::view(DType::f32, {4}, external.data(), keep);
    CHECK(keep.use_count() == 2);
    Tensor r = v.reshaped({2, 2});
    CHECK(r.data() == external.data());
    CHECK_THROWS_AS(v.reshaped({3}), RuntimeError);
    Tensor c = v.clone();
    external[0] = 9;
    CHECK(c.data_as<float>()[0] == 1.0f);
    CHECK(r.data_as<float>()[0] == 9.0f);
  }
  CHECK(keep.use_count() == 1);
}

TEST_CASE("ThreadPool::parallel_for visits every index exactly once", "[runtime][thread_pool]") {
  ThreadPool pool(4);
  CHECK(pool.size() == 4);
  for (int64_t n : {0, 1, 7, 1000, 100003}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    pool.parallel_for(0, n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
    }, 16);
    for (auto& h : hits) REQUIRE(h.load() == 1);
  }
}

TEST_CASE("ThreadPool rethrows a chunk's exception and stays usable; nested calls run inline", "[runtime][thread_pool]") {
  citadel_device_info device{};
  device.cpu_threads = 3;
  ThreadPool pool(device);
  CHECK(pool.size() == 3);
  CHECK_THROWS_WITH(pool.parallel_for(0, 100, [](int64_t b, int64_t e) {
    if (b <= 50 && 50 < e) throw std::runtime_error("chunk 50 failed");
  }), "chunk 50 failed");
  // Failed jobs end while some workers have not woken yet; those late workers
  // must not run chunks of a job that is gone.
  for (int round = 0; round < 300; ++round) {
    CHECK_THROWS(pool.parallel_for(0, 64, [](int64_t b, int64_t) {
      if (b == 0) throw std::runtime_error("first chunk failed");
    }));
    std::atomic<int64_t> covered{0};
    pool.parallel_for(0, 64, [&](int64_t b, int64_t e) { covered += e - b; });
    REQUIRE(covered.load() == 64);
  }
  std::atomic<int64_t> total{0};
  pool.parallel_for(0, 10, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      pool.parallel_for(0, 10, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
    }
  });
  CHECK(total.load() == 100);
}

TEST_CASE("ThreadPool hands jobs to workers that went to sleep, and to two callers at once", "[runtime][thread_pool]") {
  ThreadPool pool(3);
  // Past the spin budget the workers sleep; every job must still be done whole.
  for (int round = 0; round < 20; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(round % 2 == 0 ? 2 : 0));
    std::vector<std::atomic<int>> hits(257);
    pool.parallel_for(0, 257, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
    });
    for (auto& h : hits) REQUIRE(h.load() == 1);
  }
  // Two threads share the pool: one of them runs its jobs inline.
  std::atomic<int64_t> sums[2] = {0, 0};
  auto caller = [&](int which) {
    for (int round = 0; round < 200; ++round) {
      pool.parallel_for(0, 100, [&](int64_t b, int64_t e) { sums[which] += e - b; });
    }
  };
  std::thread first(caller, 0), second(caller, 1);
  first.join();
  second.join();
  CHECK(sums[0].load() == 200 * 100);
  CHECK(sums[1].load() == 200 * 100);
}
