// [cuda] the fused RoPE + KV write (rope_kv_write.h) against the two CUDA
// kernels it replaces (apply_rope on q and k, then kv_cache_write), for f16
// and f32 caches, full and partial rotary dims, GQA heads, slots scattered
// over the blocks: the same arithmetic, so q within 1e-6 and the cache within
// one f16 rounding (the compiler may contract a*c - b*s differently).
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/half.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/cuda/paged_attention.h"
#include "runtime/cuda/rope_kv_write.h"
#include "runtime/kernels/attention.h"
#include "runtime/kernels/rope.h"

#include <numeric>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

namespace {

// The cache buffer's elements as floats.
std::vector<float> cache_values(const DeviceBuffer& cache, DType dtype) {
  if (dtype == DType::f32) return cache.to_vector<float>(cache.size() / 4);
  const auto bits = cache.to_vector<uint16_t>(cache.size() / 2);
  std::vector<float> values(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) values[i] = half_to_float(bits[i]);
  return values;
}

}  // namespace

TEST_CASE("cuda fused RoPE + KV write equals apply_rope then kv_cache_write", "[cuda]") {
  std::mt19937 rng(61);
  for (DType dtype : {DType::f16, DType::f32}) {
    for (int64_t rotary_dim : {64, 32}) {
      const int64_t tokens = 7, heads = 8, kv_heads = 2, head_dim = 64, layers = 2, layer = 1;
      const auto inv_freq = rope_inv_freq(rotary_dim, 10000.0, RopeScaling{});
      const std::vector<int32_t> positions = {0, 5, 16, 17, 300, 301, 4000};
      const auto q = random_floats(static_cast<size_t>(tokens * heads * head_dim), rng);
      const auto k = random_floats(static_cast<size_t>(tokens * kv_heads * head_dim), rng);
      const auto v = random_floats(k.size(), rng);
      // Each token's slot: a row of its own block, blocks in shuffled order.
      const size_t row_bytes = static_cast<size_t>(kv_heads * head_dim) * dtype_size(dtype);
      const size_t block_bytes = row_bytes * 16 * 2 * layers;
      DeviceBuffer a(tokens * block_bytes), b(tokens * block_bytes);
      a.zero();
      b.zero();
      std::vector<int64_t> order(static_cast<size_t>(tokens));
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);
      std::vector<void*> slots_a, slots_b;
      for (int64_t t = 0; t < tokens; ++t) {
        const size_t offset = static_cast<size_t>(order[t]) * block_bytes + static_cast<size_t>(t % 16) * row_bytes;
        slots_a.push_back(a.as<char>() + offset);
        slots_b.push_back(b.as<char>() + offset);
      }
      DeviceBuffer table_a = to_device(slots_a), table_b = to_device(slots_b);
      KvBlockView view_a = kv_block_view_for_layer(table_a.as<void*>(), tokens, 16, layer, kv_heads, head_dim, dtype);
      view_a.tokens_per_block = 1;
      KvBlockView view_b = view_a;
      view_b.blocks = table_b.as<void*>();
      DeviceBuffer pd = to_device(positions), fd = to_device(inv_freq);
      const auto half = static_cast<int64_t>(inv_freq.size());
      // Reference: the two kernels.
      DeviceBuffer q_ref = to_device(q), k_ref = to_device(k), v_ref = to_device(v);
      cuda::apply_rope(q_ref.as<float>(), tokens, heads, head_dim, pd.as<int32_t>(), fd.as<float>(), half, nullptr);
      cuda::apply_rope(k_ref.as<float>(), tokens, kv_heads, head_dim, pd.as<int32_t>(), fd.as<float>(), half, nullptr);
      cuda::kv_cache_write(view_a, 0, tokens, k_ref.as<float>(), v_ref.as<float>(), nullptr);
      // Fused.
      DeviceBuffer q_fused = to_device(q), k_fused = to_device(k), v_fused = to_device(v);
      cuda::rope_kv_write(q_fused.as<float>(), k_fused.as<float>(), v_fused.as<float>(), tokens, heads,
                          pd.as<int32_t>(), fd.as<float>(), half, view_b, nullptr);
      INFO("dtype " << (dtype == DType::f16 ? "f16" : "f32") << ", rotary_dim " << rotary_dim);
      CHECK(scaled_max_error(q_fused.to_vector<float>(q.size()), q_ref.to_vector<float>(q.size())) < 1e-6);
      CHECK(scaled_max_error(cache_values(b, dtype), cache_values(a, dtype)) < 1e-3);
      CHECK(k_fused.to_vector<float>(k.size()) == k);  // k itself is left as it was
    }
  }
}
#endif  // CITADEL_HAVE_CUDA
