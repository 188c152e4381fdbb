// Tests of runtime/kernels/dense_attention: bidirectional multi-head attention
// over several sequences with strided (fused qkv) inputs, with and without the
// decomposed 2-D relative-position bias, against a float64 loop.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/kernels/dense_attention.h"
#include "tests/runtime/random_inputs.h"

#include <cmath>

using namespace citadel::runtime;

namespace {

// qkv rows [seq * tokens, 3 * heads * hd]; returns [seq * tokens, heads * hd].
std::vector<double> reference_attention(const std::vector<float>& qkv, int64_t seqs, int64_t tokens, int64_t heads,
                                        int64_t hd, double scale, const RelativePosition2d* rel) {
  const int64_t c = heads * hd;
  std::vector<double> out(static_cast<size_t>(seqs * tokens * c));
  auto at = [&](int64_t s, int64_t t, int64_t part, int64_t h, int64_t d) {
    return static_cast<double>(qkv[static_cast<size_t>((s * tokens + t) * 3 * c + part * c + h * hd + d)]);
  };
  for (int64_t s = 0; s < seqs; ++s) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t t = 0; t < tokens; ++t) {
        std::vector<double> logits(static_cast<size_t>(tokens));
        double top = -INFINITY;
        for (int64_t j = 0; j < tokens; ++j) {
          double l = 0.0;
          for (int64_t d = 0; d < hd; ++d) l += at(s, t, 0, h, d) * at(s, j, 1, h, d);
          l *= scale;
          if (rel != nullptr) {
            const int64_t gw = rel->grid_w, gh = rel->grid_h;
            const int64_t dy = t / gw - j / gw + gh - 1, dx = t % gw - j % gw + gw - 1;
            for (int64_t d = 0; d < hd; ++d) {
              l += at(s, t, 0, h, d) * (rel->table_h[dy * hd + d] + rel->table_w[dx * hd + d]);
            }
          }
          logits[static_cast<size_t>(j)] = l;
          top = std::max(top, l);
        }
        double total = 0.0;
        for (double& l : logits) total += (l = std::exp(l - top));
        for (int64_t d = 0; d < hd; ++d) {
          double acc = 0.0;
          for (int64_t j = 0; j < tokens; ++j) acc += logits[static_cast<size_t>(j)] / total * at(s, j, 2, h, d);
          out[static_cast<size_t>((s * tokens + t) * c + h * hd + d)] = acc;
        }
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("dense_attention matches float64 with and without 2-D relative positions", "[runtime]") {
  std::mt19937 rng(11);
  ThreadPool pool(2);
  const int64_t seqs = 3, gh = 4, gw = 5, tokens = gh * gw, heads = 2, hd = 8, c = heads * hd;
  const auto qkv = test::random_floats(static_cast<size_t>(seqs * tokens * 3 * c), rng);
  const auto table_h = test::random_floats(static_cast<size_t>((2 * gh - 1) * hd), rng, 0.5f);
  const auto table_w = test::random_floats(static_cast<size_t>((2 * gw - 1) * hd), rng, 0.5f);
  const RelativePosition2d rel{table_h.data(), table_w.data(), gh, gw};
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (const RelativePosition2d* r : {static_cast<const RelativePosition2d*>(nullptr), &rel}) {
    INFO((r != nullptr ? "with" : "without") << " relative positions");
    const auto expected = reference_attention(qkv, seqs, tokens, heads, hd, scale, r);
    std::vector<float> out(expected.size());
    dense_attention(pool, qkv.data(), qkv.data() + c, qkv.data() + 2 * c, 3 * c, seqs, tokens, heads, hd, scale,
                    out.data(), r);
    for (size_t i = 0; i < out.size(); ++i) REQUIRE(std::abs(out[i] - expected[i]) < 1e-5);
  }
  const RelativePosition2d wrong{table_h.data(), table_w.data(), gh, gw + 1};
  std::vector<float> out(static_cast<size_t>(seqs * tokens * c));
  CHECK_THROWS_AS(dense_attention(pool, qkv.data(), qkv.data() + c, qkv.data() + 2 * c, 3 * c, seqs, tokens, heads,
                                  hd, scale, out.data(), &wrong),
                  RuntimeError);
}
