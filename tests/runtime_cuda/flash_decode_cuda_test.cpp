// [cuda] flash decoding (flash_decode.h) vs the CPU paged attention, one
// query per sequence over scattered f16 blocks whose unwritten positions
// hold NaN: GQA groups 1/4/8, head_dim 32/64/128/256 (and 80, which falls
// back), blocks of 16 or 5 tokens, lengths from 1 to past 1,000 so that the
// positions split (the second reduction pass runs), empty splits included.
// Both kernels: the CUDA-core one within 2e-4 of the output's scale, as
// paged_attention_decode; the tensor-core one (head_dim up to 128) within
// 2e-5, which only its hi + lo split of q and P reaches (plain f16 q is
// about 1e-3 off the scores).
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/flash_decode.h"
#include "runtime/kernels/attention.h"

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

namespace {

struct Case {
  int64_t kv_heads, heads, head_dim;
  std::vector<int32_t> lengths;
  int64_t max_blocks;   // table stride; max_context = max_blocks * 16
  int64_t splits;       // 0: flash_decode_splits' choice
  int64_t tokens = 16;  // per block
};

double run_case(const Case& c, std::mt19937& rng) {
  ThreadPool pool(2);
  const int64_t kTokens = c.tokens;
  const auto sequences = static_cast<int64_t>(c.lengths.size());
  const size_t block_bytes = kv_bytes_per_token_per_layer(c.kv_heads, c.head_dim, DType::f16) * kTokens;
  const int64_t num_blocks = sequences * c.max_blocks;
  std::vector<uint8_t> host(static_cast<size_t>(num_blocks) * block_bytes, 0xff);  // f16 NaN past every length
  std::vector<int64_t> order(static_cast<size_t>(num_blocks));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<void*> host_table;
  for (int64_t i = 0; i < num_blocks; ++i) host_table.push_back(host.data() + order[i] * block_bytes);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const auto q = random_floats(static_cast<size_t>(sequences * c.heads * c.head_dim), rng);
  std::vector<float> expected(q.size());
  for (int64_t s = 0; s < sequences; ++s) {
    const KvBlockView view = kv_block_view_for_layer(host_table.data() + s * c.max_blocks, c.max_blocks, kTokens, 0,
                                                     c.kv_heads, c.head_dim, DType::f16);
    const int64_t length = c.lengths[static_cast<size_t>(s)];
    const auto k = random_floats(static_cast<size_t>(length * c.kv_heads * c.head_dim), rng);
    const auto v = random_floats(k.size(), rng);
    kv_cache_write(view, 0, length, k.data(), v.data());
    paged_attention(pool, q.data() + s * c.heads * c.head_dim, 1, c.heads, length - 1, view, scale,
                    expected.data() + s * c.heads * c.head_dim);
  }
  DeviceBuffer device = DeviceBuffer::from_vector(host);
  std::vector<void*> tables;
  for (int64_t i = 0; i < num_blocks; ++i) tables.push_back(device.as<char>() + order[static_cast<size_t>(i)] * block_bytes);
  DeviceBuffer table_device = to_device(tables), length_device = to_device(c.lengths), qd = to_device(q);
  DeviceBuffer od(q.size() * sizeof(float));
  std::vector<float> poison(q.size(), NAN);
  od.upload(poison.data(), poison.size() * sizeof(float));
  const int64_t max_context = c.max_blocks * kTokens;
  const int64_t splits = c.splits > 0 ? c.splits : cuda::flash_decode_splits(sequences, c.kv_heads, c.head_dim, max_context);
  DeviceBuffer scratch(std::max<size_t>(16, sizeof(float) * cuda::flash_decode_scratch_floats(
                                                 sequences, c.heads, c.head_dim, splits)));
  const KvBlockView layout = kv_block_view_for_layer(nullptr, 0, kTokens, 0, c.kv_heads, c.head_dim, DType::f16);
  cuda::flash_decode(qd.as<float>(), sequences, c.heads, layout, table_device.as<void*>(), c.max_blocks,
                     length_device.as<int32_t>(), max_context, splits, scale, scratch.as<float>(), od.as<float>(),
                     nullptr);
  const std::vector<float> got = od.to_vector<float>(q.size());
  for (float value : got) {
    if (!std::isfinite(value)) return INFINITY;  // an element left unwritten (NaN poison)
  }
  return scaled_max_error(got, expected);
}

}  // namespace

TEST_CASE("cuda flash decoding matches the CPU paged attention for GQA groups, head sizes and split counts",
          "[cuda]") {
  std::mt19937 rng(41);
  const std::vector<Case> cases = {
      {8, 32, 128, {1, 17, 300, 1030}, 66, 0},   // Llama-3-8B heads, GQA 4:1
      {4, 32, 64, {5, 700, 64, 1}, 64, 0},       // TinyLlama heads, GQA 8:1
      {2, 2, 128, {33, 250}, 16, 7},             // MHA, forced 7 splits (the last ones empty for row 0)
      {2, 8, 64, {1000}, 64, 1},                 // one split: no second pass
      {1, 4, 256, {129, 40}, 16, 3},             // head_dim 256
      {2, 6, 32, {90, 3}, 8, 2},                 // group 3 (a group of 4 with one head unused)
      {2, 14, 80, {45, 12}, 4, 0},               // head_dim 80: the fallback kernel
      {8, 32, 128, {77, 3, 161}, 40, 3, 5},      // blocks of 5 tokens: a chunk of 16 spans 4 blocks
      {2, 16, 32, {1, 31, 200}, 50, 0, 5},       // head_dim 32, GQA 8:1, blocks of 5
  };
  for (const bool tensor_cores : {false, true}) {
    cuda::set_flash_decode_tensor_cores(tensor_cores);
    for (const Case& c : cases) {
      INFO("tensor cores " << tensor_cores << ", kv_heads " << c.kv_heads << ", heads " << c.heads << ", head_dim "
                           << c.head_dim << ", splits " << c.splits << ", tokens per block " << c.tokens);
      const double error = run_case(c, rng);
      INFO("scaled error " << error);
      const bool mma_kernel = tensor_cores && (c.head_dim == 32 || c.head_dim == 64 || c.head_dim == 128);
      CHECK(error < (mma_kernel ? 2e-5 : 2e-4));
    }
  }
  cuda::set_flash_decode_tensor_cores(true);
}
#endif  // CITADEL_HAVE_CUDA
