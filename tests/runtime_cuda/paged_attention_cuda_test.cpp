// [cuda] KV-cache writes and paged attention vs the CPU kernels over the same
// scattered block layout: the blocks of one device allocation are listed in
// shuffled order so that only the block table connects them, and a host
// mirror with the same offsets runs the CPU kernels. KV writes must be
// bit-identical; attention within 2e-4 of the output's scale (f32 math,
// different summation order; the f16 cache holds identical values on both).
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/paged_attention.h"
#include "runtime/kernels/attention.h"

#include <numeric>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

namespace {

// num_blocks blocks of block_bytes in one device buffer and one host buffer;
// logical block i is physical block order[i] on both sides.
struct ScatteredCache {
  ScatteredCache(int64_t num_blocks, size_t block_bytes, std::mt19937& rng)
      : device(num_blocks * block_bytes), host(num_blocks * block_bytes), order(num_blocks) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    device.zero();
    for (int64_t i = 0; i < num_blocks; ++i) {
      host_table.push_back(host.data() + order[i] * block_bytes);
      device_pointers.push_back(device.as<char>() + order[i] * block_bytes);
    }
    device_table = to_device(device_pointers);
  }
  std::vector<uint8_t> download() const { return device.to_vector<uint8_t>(host.size()); }

  DeviceBuffer device;
  std::vector<uint8_t> host;
  std::vector<int64_t> order;
  std::vector<void*> host_table, device_pointers;
  DeviceBuffer device_table;
};

struct Geometry {
  int64_t tokens_per_block, kv_heads, heads, head_dim, layers, layer;
  DType dtype;
};

void run_prefill_and_decode(const Geometry& g, int64_t first_chunk, int64_t second_chunk, std::mt19937& rng) {
  ThreadPool pool(2);
  const int64_t total = first_chunk + second_chunk;
  const int64_t num_blocks = (total + g.tokens_per_block - 1) / g.tokens_per_block + 1;
  const size_t block_bytes = static_cast<size_t>(g.layers) *
                             kv_bytes_per_token_per_layer(g.kv_heads, g.head_dim, g.dtype) *
                             static_cast<size_t>(g.tokens_per_block);
  ScatteredCache cache(num_blocks, block_bytes, rng);
  const KvBlockView host_view = kv_block_view_for_layer(cache.host_table.data(), num_blocks, g.tokens_per_block,
                                                        g.layer, g.kv_heads, g.head_dim, g.dtype);
  KvBlockView device_view = host_view;
  device_view.blocks = cache.device_table.as<void*>();
  const float scale = 1.0f / std::sqrt(static_cast<float>(g.head_dim));

  int64_t position = 0;
  for (int64_t chunk : {first_chunk, second_chunk}) {
    const size_t kv_elements = static_cast<size_t>(chunk * g.kv_heads * g.head_dim);
    const auto k = random_floats(kv_elements, rng), v = random_floats(kv_elements, rng);
    const auto q = random_floats(static_cast<size_t>(chunk * g.heads * g.head_dim), rng);
    kv_cache_write(host_view, position, chunk, k.data(), v.data());
    DeviceBuffer kd = to_device(k), vd = to_device(v), qd = to_device(q), od(q.size() * sizeof(float));
    cuda::kv_cache_write(device_view, position, chunk, kd.as<float>(), vd.as<float>(), nullptr);
    CHECK(cache.download() == cache.host);

    std::vector<float> expected(q.size());
    paged_attention(pool, q.data(), chunk, g.heads, position, host_view, scale, expected.data());
    cuda::paged_attention(qd.as<float>(), chunk, g.heads, position, device_view, scale, od.as<float>(), nullptr);
    INFO("chunk at " << position << " of " << chunk << " tokens");
    CHECK(scaled_max_error(od.to_vector<float>(q.size()), expected) < 2e-4);
    position += chunk;
  }
}

}  // namespace

TEST_CASE("cuda paged attention matches the CPU for prefill chunks and decode over scattered f16 blocks",
          "[cuda]") {
  std::mt19937 rng(31);
  run_prefill_and_decode(Geometry{16, 4, 32, 64, 3, 1, DType::f16}, 37, 1, rng);     // GQA 8:1, TinyLlama heads
  run_prefill_and_decode(Geometry{8, 8, 8, 128, 2, 1, DType::f16}, 20, 13, rng);     // MHA, head_dim 128
  run_prefill_and_decode(Geometry{16, 2, 14, 80, 1, 0, DType::f16}, 5, 40, rng);     // head_dim not a power of 2
}

TEST_CASE("cuda paged attention matches the CPU over an f32 cache with head_dim 256", "[cuda]") {
  std::mt19937 rng(32);
  run_prefill_and_decode(Geometry{4, 2, 8, 256, 2, 1, DType::f32}, 9, 3, rng);
}

TEST_CASE("cuda batched decode attention matches per-sequence CPU attention", "[cuda]") {
  std::mt19937 rng(33);
  ThreadPool pool(2);
  const int64_t tokens_per_block = 16, kv_heads = 2, heads = 8, head_dim = 64, max_blocks = 4;
  const std::vector<int32_t> lengths = {1, 17, 64, 33};
  const auto sequences = static_cast<int64_t>(lengths.size());
  const size_t block_bytes = kv_bytes_per_token_per_layer(kv_heads, head_dim, DType::f16) * tokens_per_block;
  ScatteredCache cache(sequences * max_blocks, block_bytes, rng);
  const float scale = 0.125f;
  const auto q = random_floats(static_cast<size_t>(sequences * heads * head_dim), rng);
  std::vector<float> expected(q.size());
  for (int64_t s = 0; s < sequences; ++s) {
    const KvBlockView view = kv_block_view_for_layer(cache.host_table.data() + s * max_blocks, max_blocks,
                                                     tokens_per_block, 0, kv_heads, head_dim, DType::f16);
    const int64_t length = lengths[static_cast<size_t>(s)];
    const auto k = random_floats(static_cast<size_t>(length * kv_heads * head_dim), rng);
    const auto v = random_floats(k.size(), rng);
    kv_cache_write(view, 0, length, k.data(), v.data());
    // The CPU kernel: the last token of the sequence is the query.
    paged_attention(pool, q.data() + s * heads * head_dim, 1, heads, length - 1, view, scale,
                    expected.data() + s * heads * head_dim);
  }
  DeviceBuffer upload_of_host_cache = DeviceBuffer::from_vector(cache.host);
  cache.device = std::move(upload_of_host_cache);
  std::vector<void*> tables;
  for (int64_t i = 0; i < sequences * max_blocks; ++i) {
    tables.push_back(cache.device.as<char>() + cache.order[static_cast<size_t>(i)] * block_bytes);
  }
  DeviceBuffer table_device = to_device(tables), length_device = to_device(lengths), qd = to_device(q);
  DeviceBuffer od(q.size() * sizeof(float));
  const KvBlockView layout = kv_block_view_for_layer(nullptr, 0, tokens_per_block, 0, kv_heads, head_dim, DType::f16);
  cuda::paged_attention_decode(qd.as<float>(), sequences, heads, layout, table_device.as<void*>(), max_blocks,
                               length_device.as<int32_t>(), scale, od.as<float>(), nullptr);
  CHECK(scaled_max_error(od.to_vector<float>(q.size()), expected) < 2e-4);
}
#endif  // CITADEL_HAVE_CUDA
