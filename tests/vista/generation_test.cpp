// Whole causal generation on the tiny checkpoint against the PyTorch
// reference (tools/vista/causal_wan.py): 3 chunks of 3 latent frames from
// gen.noise / gen.renoise with the warped Self-Forcing steps, K/V kept in
// cache blocks through FrameKv, within 1e-2 relative error (f32 and bf16
// caches). Also the frame window's slots and history, and the schedule.
#include "reference_generation.hpp"

#include "chunk_denoiser.h"
#include "flow_schedule.h"
#include "frame_kv.h"

#include "runtime/core/thread_pool.h"

#include <catch2/catch.hpp>

using namespace citadel;

namespace {

// The generation on the CPU with the cache in heap blocks of `dtype`.
std::vector<float> generate(runtime::DType dtype) {
  const vista::WanTransformer model = test::load_tiny_transformer();
  runtime::ThreadPool pool(2);
  const std::unique_ptr<vista::ChunkForward> forward = vista::make_cpu_chunk_forward(model, pool);
  const int64_t block_bytes = 8 * model.config().num_layers * 2 * model.config().dim() *
                              static_cast<int64_t>(runtime::dtype_size(dtype));
  std::vector<std::vector<uint8_t>> storage(9 * 16 / 8, std::vector<uint8_t>(static_cast<size_t>(block_bytes)));
  std::vector<void*> blocks;
  for (auto& block : storage) blocks.push_back(block.data());
  return test::generate_reference_video(*forward, blocks.data(), static_cast<int64_t>(blocks.size()), dtype);
}

}  // namespace

TEST_CASE("vista warped Self-Forcing timesteps equal the reference's", "[vista]") {
  const std::vector<float> expected = test::vista_reference("gen.timesteps");
  const std::vector<float> actual = vista::warped_timesteps(vista::self_forcing_steps(), vista::kSelfForcingShift);
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) CHECK(actual[i] == Approx(expected[i]).epsilon(1e-6));
  CHECK_THROWS_WITH(vista::warped_timesteps({1200}, 5.0), Catch::Contains("outside (0, 1000]"));
}

TEST_CASE("vista 3-chunk causal generation matches the reference within 1e-2", "[vista]") {
  const std::vector<float> expected = test::vista_reference("gen.out");
  const double f32_error = test::relative_error(generate(runtime::DType::f32), expected);
  INFO("f32 cache relative error " << f32_error);
  CHECK(f32_error < 1e-2);
  const double bf16_error = test::relative_error(generate(runtime::DType::bf16), expected);
  INFO("bf16 cache relative error " << bf16_error);
  CHECK(bf16_error < 5e-2);
}

TEST_CASE("vista frame window pins the sink and rolls the rest", "[vista]") {
  const vista::FrameWindow full{};
  CHECK(full.slot(20) == 20);
  CHECK(full.history(6, 3) == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  const vista::FrameWindow window{9, 3};  // 3 sink frames + 6 rolling slots
  CHECK(window.history(3, 3) == std::vector<int64_t>{0, 1, 2});
  CHECK(window.history(6, 3) == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  CHECK(window.history(9, 3) == std::vector<int64_t>{0, 1, 2, 6, 7, 8});
  CHECK(window.history(12, 3) == std::vector<int64_t>{0, 1, 2, 9, 10, 11});
  // The chunk's slots never collide with its history's.
  for (int64_t first = 3; first < 30; first += 3) {
    std::vector<int64_t> slots;
    for (int64_t f : window.history(first, 3)) slots.push_back(window.slot(f));
    for (int64_t j = 0; j < 3; ++j) slots.push_back(window.slot(first + j));
    std::sort(slots.begin(), slots.end());
    CHECK(std::adjacent_find(slots.begin(), slots.end()) == slots.end());
    CHECK(slots.back() < 9);
  }
}
