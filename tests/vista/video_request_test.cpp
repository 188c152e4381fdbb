// A video request driven the way the host drives it (grants of cache
// positions under a step budget, a token appended only when the last known
// one was processed, at most max_new_tokens of them): the layout's numbers,
// the items it hands out, the window mode's decode-step chunks, and a
// recompute after preemption (fresh blocks, positions from 0) that replays
// the committed chunks and yields the very same video.
#include "vista_reference.hpp"

#include "flow_schedule.h"
#include "video_request.h"

#include <catch2/catch.hpp>

using namespace citadel;

namespace {

struct Run {
  std::vector<std::string> items;  // the latents' bytes
  int64_t steps = 0, appended = 0;
};

// Drives the request to the end; `restart_at_step` >= 0: at that step the
// host recomputes (new zeroed blocks, computed back to 0).
Run drive(const vista::VideoLayout& layout, int64_t budget, int64_t restart_at_step, int64_t tokens_per_block = 8) {
  const vista::WanTransformer model = test::load_tiny_transformer();
  runtime::ThreadPool pool(2);
  const std::vector<float> embeds = test::vista_reference("text.embeds");
  vista::VideoRequest request("fox", layout, std::make_unique<vista::LatentOutput>(), 42);
  const std::unique_ptr<vista::ChunkForward> forward = vista::make_cpu_chunk_forward(model, pool);
  request.set_text(forward->prepare_text(embeds.data(), 512));
  const std::vector<float> timesteps = vista::warped_timesteps({1000, 500}, 5.0);
  const vista::GenerationContext context{*forward, timesteps, {2, 2, 12, tokens_per_block, runtime::DType::f32}};
  const int64_t block_bytes = tokens_per_block * 2 * 2 * 24 * 4;
  auto fresh_blocks = [&] {
    const int64_t positions = layout.prompt_tokens + layout.max_new_tokens;
    return std::vector<std::vector<uint8_t>>((positions + tokens_per_block - 1) / tokens_per_block,
                                             std::vector<uint8_t>(static_cast<size_t>(block_bytes), 0));
  };
  std::vector<std::vector<uint8_t>> storage = fresh_blocks();
  Run run;
  int64_t computed = 0, known = layout.prompt_tokens;
  for (;; ++run.steps) {
    REQUIRE(run.steps < 1000);
    if (run.steps == restart_at_step) {
      storage = fresh_blocks();
      computed = 0;
    }
    std::vector<void*> blocks;
    for (auto& block : storage) blocks.push_back(block.data());
    const int64_t grant = std::min(known - computed, budget);
    const vista::VideoRequest::Progress progress =
        request.advance(context, computed, grant, blocks.data(), static_cast<int64_t>(blocks.size()));
    if (progress.item != nullptr)
      run.items.emplace_back(progress.item->data.begin(), progress.item->data.end());
    computed += grant;
    if (progress.finished) break;
    if (progress.append) {
      REQUIRE(computed == known);
      ++known;
      ++run.appended;
    } else {
      REQUIRE(computed < known);  // the host would call this a stalled request
    }
  }
  CHECK(run.appended <= layout.max_new_tokens);
  return run;
}

}  // namespace

TEST_CASE("vista video layout plans cache tokens, due positions and new tokens", "[vista]") {
  const vista::VideoLayout full = vista::plan_video_layout(9, 8, 8, 16, 3, {}, 3);
  CHECK(full.prompt_tokens == 144);
  CHECK(full.num_chunks == 3);
  CHECK(full.prefill_chunks == 3);
  CHECK(full.max_new_tokens == 4);
  CHECK(full.chunks_due(47) == 0);
  CHECK(full.chunks_due(48) == 1);
  CHECK(full.chunks_due(144) == 3);
  const vista::VideoLayout rolling = vista::plan_video_layout(28, 8, 8, 16, 3, {9, 3}, 10);
  CHECK(rolling.ring_frames == 9);
  CHECK(rolling.prompt_tokens == 144);
  CHECK(rolling.prefill_chunks == 3);
  CHECK(rolling.num_chunks == 10);
  CHECK(rolling.chunk(9).shape.frames == 1);
  CHECK(rolling.due(3) == 145);
  CHECK(rolling.max_new_tokens == 10 + 7 + 1);
  // A window the video fits in changes nothing.
  CHECK(vista::plan_video_layout(9, 8, 8, 16, 3, {21, 3}, 3).window.window_frames == 0);
}

TEST_CASE("vista request hands out every chunk once, whatever the grants", "[vista]") {
  const vista::VideoLayout layout = vista::plan_video_layout(9, 8, 8, 16, 3, {}, 3);
  const Run whole = drive(layout, 1000, -1);
  CHECK(whole.items.size() == 3);
  const Run small = drive(layout, 20, -1);  // chunks complete across several steps
  CHECK(small.items == whole.items);
  CHECK(small.steps > whole.steps);
}

TEST_CASE("vista request recomputed after preemption replays its chunks into new blocks", "[vista]") {
  const vista::VideoLayout layout = vista::plan_video_layout(9, 8, 8, 16, 3, {}, 3);
  const Run plain = drive(layout, 48, -1);
  // Step 2 has generated chunks 0 and 1; the restart loses their K/V, chunk 2
  // must see them again through the replay.
  const Run restarted = drive(layout, 48, 2);
  CHECK(restarted.items == plain.items);
}

TEST_CASE("vista rolling window generates the chunks beyond the ring in decode steps", "[vista]") {
  const vista::VideoLayout layout = vista::plan_video_layout(15, 8, 8, 16, 3, {9, 3}, 5);
  const Run run = drive(layout, 64, -1);
  CHECK(run.items.size() == 5);
  CHECK(run.appended >= 2);
  const Run restarted = drive(layout, 64, 4);
  CHECK(restarted.items == run.items);
}
