// The kernels of video transformers against direct formulas on random
// inputs: 3-D RoPE (t/h/w parts, interleaved pairs, angles in double) and
// unmasked multi-head attention (two-pass softmax in double); bf16 K/V in
// cache blocks read back.
#include "runtime/kernels/attention.h"
#include "runtime/kernels/dense_attention.h"
#include "runtime/kernels/rope_3d.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

using namespace citadel::runtime;

namespace {

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal;
  std::vector<float> out(n);
  for (float& v : out) v = normal(generator);
  return out;
}

}  // namespace

TEST_CASE("3-D RoPE rotates each pair by its axis' position and frequency", "[runtime][kernels]") {
  const int64_t head_dim = 18, heads = 2, tokens = 4;  // parts t/h/w = 6/6/6
  const Rope3dTable table = make_rope_3d_table(head_dim, 16, 10000.0);
  CHECK(table.part[0] == 6);
  CHECK(table.part[1] == 6);
  const std::vector<float> input = random_values(static_cast<size_t>(tokens * heads * head_dim), 1);
  std::vector<float> x = input;
  const std::vector<int32_t> frames = {0, 3, 7, 15}, rows = {1, 0, 5, 2}, columns = {9, 4, 0, 1};
  apply_rope_3d(table, x.data(), tokens, heads, frames.data(), rows.data(), columns.data());
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < head_dim / 2; ++i) {
        const int axis = static_cast<int>(i / 3);
        const int64_t local = i % 3;
        const int32_t position = axis == 0 ? frames[t] : axis == 1 ? rows[t] : columns[t];
        const double angle = position * std::pow(10000.0, -2.0 * local / 6.0);
        const float* in = input.data() + (t * heads + h) * head_dim + 2 * i;
        const float* out = x.data() + (t * heads + h) * head_dim + 2 * i;
        CHECK(out[0] == Approx(in[0] * std::cos(angle) - in[1] * std::sin(angle)).margin(1e-5));
        CHECK(out[1] == Approx(in[0] * std::sin(angle) + in[1] * std::cos(angle)).margin(1e-5));
      }
  const int32_t too_far = 16, zero = 0;
  CHECK_THROWS_WITH(apply_rope_3d(table, x.data(), 1, heads, &too_far, &zero, &zero), Catch::Contains("outside"));
  CHECK_THROWS(make_rope_3d_table(4, 16));
}

TEST_CASE("dense attention equals a two-pass softmax over all keys", "[runtime][kernels]") {
  const int64_t queries = 5, keys = 37, heads = 3, head_dim = 8;
  const std::vector<float> q = random_values(static_cast<size_t>(queries * heads * head_dim), 2);
  const std::vector<float> k = random_values(static_cast<size_t>(keys * heads * head_dim), 3);
  const std::vector<float> v = random_values(static_cast<size_t>(keys * heads * head_dim), 4);
  std::vector<float> out(q.size());
  ThreadPool pool(2);
  const float scale = 0.35f;
  dense_attention(pool, q.data(), queries, k.data(), v.data(), keys, heads, head_dim, scale, out.data());
  for (int64_t t = 0; t < queries; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<double> scores(static_cast<size_t>(keys));
      double max_score = -1e300, total = 0.0;
      for (int64_t j = 0; j < keys; ++j) {
        double dot = 0.0;
        for (int64_t d = 0; d < head_dim; ++d)
          dot += double(q[(t * heads + h) * head_dim + d]) * k[(j * heads + h) * head_dim + d];
        scores[j] = scale * dot;
        max_score = std::max(max_score, scores[j]);
      }
      for (double& s : scores) total += (s = std::exp(s - max_score));
      for (int64_t d = 0; d < head_dim; ++d) {
        double expected = 0.0;
        for (int64_t j = 0; j < keys; ++j) expected += scores[j] / total * v[(j * heads + h) * head_dim + d];
        CHECK(out[(t * heads + h) * head_dim + d] == Approx(expected).margin(1e-5));
      }
    }
}

TEST_CASE("KV cache writes and reads back bf16 entries across blocks", "[runtime][kernels]") {
  const int64_t tokens_per_block = 4, heads = 2, head_dim = 6, layers = 2;
  std::vector<std::vector<uint8_t>> storage(3, std::vector<uint8_t>(tokens_per_block * layers * 2 * heads * head_dim * 2));
  std::vector<void*> blocks;
  for (auto& block : storage) blocks.push_back(block.data());
  const KvBlockView view = kv_block_view_for_layer(blocks.data(), 3, tokens_per_block, 1, heads, head_dim, DType::bf16);
  CHECK(kv_bytes_per_token_per_layer(heads, head_dim, DType::bf16) == 48);
  const std::vector<float> k = random_values(7 * heads * head_dim, 5), v = random_values(7 * heads * head_dim, 6);
  kv_cache_write(view, 3, 7, k.data(), v.data());  // positions 3..9 span all three blocks
  std::vector<float> k_back(k.size()), v_back(v.size());
  kv_cache_read(view, 3, 7, k_back.data(), v_back.data());
  for (size_t i = 0; i < k.size(); ++i) {
    CHECK(k_back[i] == Approx(k[i]).epsilon(1.0 / 128));
    CHECK(v_back[i] == Approx(v[i]).epsilon(1.0 / 128));
  }
  CHECK_THROWS_WITH(kv_cache_read(view, 10, 3, k_back.data(), v_back.data()), Catch::Contains("blocks"));
}
