// Tests of paged attention over KvBlockView against a float64 reference on
// contiguous K/V. Blocks are allocated separately and listed out of address
// order so that only the block table connects them. Tolerance: 1e-4
// absolute (f32 cache) and 3e-3 (f16 cache, reference on f16-rounded K/V
// gives 1e-4) on unit-scale inputs.
#include <catch2/catch.hpp>

#include "random_inputs.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/kernels/attention.h"
#include "runtime/kernels/tile_matmul.h"

#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::test::random_floats;

namespace {

float round_to(DType dtype, float v) { return dtype == DType::f16 ? half_to_float(float_to_half(v)) : v; }

// Causal GQA attention of queries at positions first..first+n-1 in double.
std::vector<double> reference_attention(const std::vector<float>& q, int64_t n, int64_t heads,
                                        const std::vector<float>& k, const std::vector<float>& v,
                                        int64_t kv_heads, int64_t dim, int64_t first, double scale) {
  std::vector<double> out(static_cast<size_t>(n * heads * dim), 0.0);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t kh = h / (heads / kv_heads);
      const int64_t length = first + t + 1;
      std::vector<double> s(static_cast<size_t>(length));
      double max = -1e300;
      for (int64_t p = 0; p < length; ++p) {
        double dot = 0;
        for (int64_t d = 0; d < dim; ++d) {
          dot += static_cast<double>(q[static_cast<size_t>((t * heads + h) * dim + d)]) *
                 k[static_cast<size_t>((p * kv_heads + kh) * dim + d)];
        }
        s[static_cast<size_t>(p)] = dot * scale;
        max = std::max(max, dot * scale);
      }
      double sum = 0;
      for (double& x : s) sum += (x = std::exp(x - max));
      for (int64_t p = 0; p < length; ++p) {
        for (int64_t d = 0; d < dim; ++d) {
          out[static_cast<size_t>((t * heads + h) * dim + d)] +=
              s[static_cast<size_t>(p)] / sum * v[static_cast<size_t>((p * kv_heads + kh) * dim + d)];
        }
      }
    }
  }
  return out;
}

struct Blocks {
  std::vector<std::unique_ptr<uint8_t[]>> storage;
  std::vector<void*> table;
  Blocks(int64_t count, size_t bytes, std::mt19937& rng) {
    for (int64_t i = 0; i < count; ++i) storage.emplace_back(new uint8_t[bytes]);
    for (auto& b : storage) table.push_back(b.get());
    std::shuffle(table.begin(), table.end(), rng);
  }
};

}  // namespace

TEST_CASE("paged attention with GQA matches float64 for prefill chunks and decode", "[runtime]") {
  std::mt19937 rng(8);
  ThreadPool pool(3);
  // Two shapes: 4-token blocks and groups of 4 query heads; 32-token blocks
  // (the AVX-512 loop reduces runs of 16 positions, then the rest one at a
  // time) and one KV head for 15 query heads (its V sums held in registers
  // for up to 16, 6 or 2 heads at once at head_dim 16, 64 and 128).
  const int shape = GENERATE(0, 1);
  const int64_t layers = 3, layer = 1;
  const int64_t heads = shape == 0 ? 8 : 15, kv_heads = shape == 0 ? 2 : 1, tpb = shape == 0 ? 4 : 32;
  const int64_t num_blocks = shape == 0 ? 6 : 3;
  const std::vector<int64_t> chunks = shape == 0 ? std::vector<int64_t>{10, 9, 1, 1, 1, 1}
                                                 : std::vector<int64_t>{40, 10, 9, 1, 1, 1, 1};
  int64_t total = 0;
  for (int64_t chunk : chunks) total += chunk;
  // 16, 64 and 128 take the AVX-512 loop on an f16 cache where the CPU has
  // it (attention_avx512.h), 24 the portable one; the second pass forces
  // the portable loop for every size.
  const int64_t dim = GENERATE(16, 24, 64, 128);
  const bool portable = GENERATE(false, true);
  detail::force_avx2_cpu_kernels(portable);
  INFO("shape " << shape << ", head_dim " << dim << (portable ? ", AVX-512 off" : ""));
  for (DType dtype : {DType::f32, DType::f16}) {
    INFO("cache dtype " << dtype_name(dtype));
    const size_t block_bytes = static_cast<size_t>(tpb * layers) * kv_bytes_per_token_per_layer(kv_heads, dim, dtype);
    Blocks blocks(num_blocks, block_bytes, rng);
    const KvBlockView kv = kv_block_view_for_layer(blocks.table.data(), num_blocks, tpb, layer, kv_heads, dim, dtype);
    CHECK(kv.capacity_tokens() == num_blocks * tpb);
    CHECK(kv.v_offset - kv.k_offset == static_cast<size_t>(tpb * kv_heads * dim) * dtype_size(dtype));

    const auto k = random_floats(static_cast<size_t>(total * kv_heads * dim), rng);
    const auto v = random_floats(static_cast<size_t>(total * kv_heads * dim), rng);
    std::vector<float> k_ref(k.size()), v_ref(v.size());
    for (size_t i = 0; i < k.size(); ++i) {
      k_ref[i] = round_to(dtype, k[i]);
      v_ref[i] = round_to(dtype, v[i]);
    }
    const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
    // Prefill in chunks, then decode 4 single tokens.
    int64_t position = 0;
    for (int64_t chunk : chunks) {
      const size_t offset = static_cast<size_t>(position * kv_heads * dim);
      kv_cache_write(kv, position, chunk, k.data() + offset, v.data() + offset);
      const auto q = random_floats(static_cast<size_t>(chunk * heads * dim), rng);
      std::vector<float> out(q.size());
      paged_attention(pool, q.data(), chunk, heads, position, kv, static_cast<float>(scale), out.data());
      const auto expected = reference_attention(q, chunk, heads, k_ref, v_ref, kv_heads, dim, position, scale);
      for (size_t i = 0; i < out.size(); ++i) {
        INFO("chunk at " << position << " element " << i);
        REQUIRE(std::abs(out[i] - expected[i]) < 1e-4);
      }
      position += chunk;
    }
    CHECK(position == total);
  }
  detail::force_avx2_cpu_kernels(false);
}

TEST_CASE("attention rejects too few blocks and head counts that GQA cannot map", "[runtime]") {
  ThreadPool pool(1);
  std::vector<float> storage(1024);
  void* block = storage.data();
  const KvBlockView kv = kv_block_view_for_layer(&block, 1, 4, 0, 2, 8, DType::f32);
  std::vector<float> x(5 * 2 * 8), out(x.size());
  CHECK_THROWS_WITH(kv_cache_write(kv, 2, 3, x.data(), x.data()), Catch::Contains("positions up to 5"));
  CHECK_THROWS_WITH(paged_attention(pool, x.data(), 1, 3, 0, kv, 1.0f, out.data()), Catch::Contains("multiple"));
  CHECK(kv_bytes_per_token_per_layer(8, 128, DType::f16) == 4096);
}

TEST_CASE("K/V written through token slots lands where the block view reads it", "[runtime]") {
  // Two sequences in blocks of 4 tokens, 3 layers; one step writes the
  // token at position 5 of the first and 2 of the second through slots.
  const int64_t tokens_per_block = 4, layers = 3, kv_heads = 2, head_dim = 8, layer = 1;
  for (DType dtype : {DType::f32, DType::f16}) {
    const size_t block_bytes =
        static_cast<size_t>(tokens_per_block * layers) * kv_bytes_per_token_per_layer(kv_heads, head_dim, dtype);
    std::vector<std::vector<std::byte>> storage(3, std::vector<std::byte>(block_bytes));
    void* first[] = {storage[0].data(), storage[1].data()};
    void* second[] = {storage[2].data()};
    std::mt19937 rng(11);
    const std::vector<float> k = random_floats(2 * kv_heads * head_dim, rng);
    const std::vector<float> v = random_floats(2 * kv_heads * head_dim, rng);
    auto stored = [&](float x) { return dtype == DType::f32 ? x : half_to_float(float_to_half(x)); };
    void* slots[] = {kv_token_slot(first, tokens_per_block, 5, kv_heads, head_dim, dtype),
                     kv_token_slot(second, tokens_per_block, 2, kv_heads, head_dim, dtype)};
    const KvBlockView slot_view =
        kv_slot_view_for_layer(slots, 2, tokens_per_block, layer, kv_heads, head_dim, dtype);
    kv_cache_write(slot_view, 0, 2, k.data(), v.data());

    const int64_t row = kv_heads * head_dim;
    std::vector<float> k_read(row), v_read(row);
    kv_cache_read(kv_block_view_for_layer(first, 2, tokens_per_block, layer, kv_heads, head_dim, dtype), 5, 1,
                  k_read.data(), v_read.data());
    for (int64_t i = 0; i < row; ++i) {
      CHECK(k_read[i] == stored(k[i]));
      CHECK(v_read[i] == stored(v[i]));
    }
    kv_cache_read(kv_block_view_for_layer(second, 1, tokens_per_block, layer, kv_heads, head_dim, dtype), 2, 1,
                  k_read.data(), v_read.data());
    for (int64_t i = 0; i < row; ++i) {
      CHECK(k_read[i] == stored(k[row + i]));
      CHECK(v_read[i] == stored(v[row + i]));
    }
  }
}
