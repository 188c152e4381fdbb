// The Wan transformer against diffusers 0.42.1 on the tiny checkpoint: one
// plain forward (dit.*), a chunk attending to a filled cache (chunk.*, the
// cache itself compared too), both within 1e-3 relative error.
#include "vista_reference.hpp"

#include "runtime/core/thread_pool.h"

#include <catch2/catch.hpp>

using namespace citadel;

namespace {

// The cache in memory: every committed chunk appended, all attended.
class MemoryKv : public vista::ChunkKv {
 public:
  MemoryKv(int64_t layers, int64_t row) : row_(row), k_(static_cast<size_t>(layers)), v_(static_cast<size_t>(layers)) {}
  int64_t history_tokens() const override { return static_cast<int64_t>(k_[0].size()) / row_ - pending_; }
  void read_history(int64_t layer, float* k, float* v) const override {
    std::copy(k_[layer].begin(), k_[layer].begin() + history_tokens() * row_, k);
    std::copy(v_[layer].begin(), v_[layer].begin() + history_tokens() * row_, v);
  }
  void write_chunk(int64_t layer, const float* k, const float* v) override {
    // Layer 0's write makes the chunk visible to later layers' history: hold
    // it back until the pass is done (pending_).
    const int64_t tokens = chunk_tokens_;
    k_[layer].insert(k_[layer].end(), k, k + tokens * row_);
    v_[layer].insert(v_[layer].end(), v, v + tokens * row_);
    if (layer == 0) pending_ = tokens;
  }
  void begin_pass(int64_t chunk_tokens) { chunk_tokens_ = chunk_tokens; pending_ = 0; }
  const std::vector<float>& keys(int64_t layer) const { return k_[layer]; }
  const std::vector<float>& values(int64_t layer) const { return v_[layer]; }

 private:
  int64_t row_, chunk_tokens_ = 0, pending_ = 0;
  std::vector<std::vector<float>> k_, v_;
};

std::vector<float> frames_of(const std::vector<float>& latents, int64_t total, int64_t first, int64_t count,
                             int64_t plane) {
  std::vector<float> out;
  for (int64_t c = 0; c < 16; ++c)
    out.insert(out.end(), latents.begin() + (c * total + first) * plane, latents.begin() + (c * total + first + count) * plane);
  return out;
}

}  // namespace

TEST_CASE("vista transformer forward matches diffusers within 1e-3", "[vista]") {
  const vista::WanTransformer model = test::load_tiny_transformer();
  runtime::ThreadPool pool(2);
  const std::vector<float> text = test::vista_reference("text.embeds");
  const vista::TextContext context = model.prepare_text(pool, text.data(), 512);
  const std::vector<float> latents = test::vista_reference("dit.latents");
  const std::vector<float> timesteps = test::vista_reference("dit.frame_timesteps");
  vista::EmptyChunkKv kv;
  const std::vector<float> out = model.forward(pool, latents.data(), {3, 8, 8}, timesteps.data(), 0, context, kv, false);
  const double error = test::relative_error(out, test::vista_reference("dit.out"));
  INFO("relative error " << error);
  CHECK(error < 1e-3);
}

TEST_CASE("vista chunk over a filled cache matches diffusers within 1e-3", "[vista]") {
  const vista::WanTransformer model = test::load_tiny_transformer();
  runtime::ThreadPool pool(2);
  const std::vector<float> text = test::vista_reference("text.embeds");
  const vista::TextContext context = model.prepare_text(pool, text.data(), 512);
  const int64_t dim = model.config().dim(), plane = 64;
  MemoryKv kv(model.config().num_layers, dim);
  const std::vector<float> context_latents = test::vista_reference("chunk.context_latents");
  const std::vector<float> zero(3, 0.0f);
  for (int64_t chunk = 0; chunk < 2; ++chunk) {
    const std::vector<float> part = frames_of(context_latents, 6, chunk * 3, 3, plane);
    kv.begin_pass(3 * 16);
    model.forward(pool, part.data(), {3, 8, 8}, zero.data(), chunk * 3, context, kv, true);
  }
  for (int64_t layer = 0; layer < model.config().num_layers; ++layer) {
    CHECK(test::relative_error(kv.keys(layer), test::vista_reference("chunk.cache_k." + std::to_string(layer))) < 1e-3);
    CHECK(test::relative_error(kv.values(layer), test::vista_reference("chunk.cache_v." + std::to_string(layer))) < 1e-3);
  }
  kv.begin_pass(3 * 16);
  const std::vector<float> latents = test::vista_reference("chunk.latents");
  const std::vector<float> timesteps = test::vista_reference("chunk.frame_timesteps");
  const std::vector<float> out = model.forward(pool, latents.data(), {3, 8, 8}, timesteps.data(), 6, context, kv, false);
  const double error = test::relative_error(out, test::vista_reference("chunk.out"));
  INFO("relative error " << error);
  CHECK(error < 1e-3);
}
