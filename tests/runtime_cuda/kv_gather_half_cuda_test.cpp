// [cuda] kv_gather_half against kv_gather + float_to_half: for bf16, f16 and
// f32 cache entries, positions scattered across blocks, the f16 rows equal
// the f32 gather rounded to f16 bit for bit; a row that is not a multiple of
// 8 elements is refused.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/error.h"
#include "runtime/cuda/kv_gather_half.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/kernels/attention.h"

#include <algorithm>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::to_device;

TEST_CASE("cuda kv_gather_half equals kv_gather rounded to f16", "[cuda]") {
  std::mt19937 rng(37);
  for (DType dtype : {DType::bf16, DType::f16, DType::f32}) {
    const int64_t tokens_per_block = 16, layers = 3, heads = 2, head_dim = 32, num_blocks = 5, layer = 2;
    const int64_t row = heads * head_dim;
    const size_t block_bytes = tokens_per_block * layers * 2 * row * dtype_size(dtype);
    std::vector<DeviceBuffer> device_blocks;
    std::vector<void*> addresses;
    for (int64_t b = 0; b < num_blocks; ++b) {
      device_blocks.emplace_back(block_bytes);
      device_blocks.back().zero();
      addresses.push_back(device_blocks.back().data());
    }
    DeviceBuffer table = DeviceBuffer::from_vector(addresses);
    const KvBlockView view =
        kv_block_view_for_layer(addresses.data(), num_blocks, tokens_per_block, layer, heads, head_dim, dtype);
    const cuda::KvBlocksDevice kv{static_cast<void* const*>(table.data()), tokens_per_block, heads, head_dim, dtype,
                                  view.k_offset, view.v_offset};
    const int64_t tokens = 29;
    std::vector<int32_t> positions(tokens);
    for (int64_t t = 0; t < tokens; ++t) positions[t] = static_cast<int32_t>((7 + 37 * t) % (tokens_per_block * num_blocks));
    const auto k = random_floats(tokens * row, rng, 3.0f), v = random_floats(tokens * row, rng);
    DeviceBuffer pd = to_device(positions), kd = to_device(k), vd = to_device(v);
    cuda::kv_scatter(kv, pd.as<int32_t>(), tokens, kd.as<float>(), vd.as<float>(), nullptr);

    DeviceBuffer kf(k.size() * sizeof(float)), vf(v.size() * sizeof(float));
    cuda::kv_gather(kv, pd.as<int32_t>(), tokens, kf.as<float>(), vf.as<float>(), nullptr);
    DeviceBuffer k_expected(k.size() * 2), v_expected(v.size() * 2), k_half(k.size() * 2), v_half(v.size() * 2);
    cuda::float_to_half(kf.as<float>(), k_expected.as<uint16_t>(), tokens * row, nullptr);
    cuda::float_to_half(vf.as<float>(), v_expected.as<uint16_t>(), tokens * row, nullptr);
    cuda::kv_gather_half(kv, pd.as<int32_t>(), tokens, k_half.as<uint16_t>(), v_half.as<uint16_t>(), nullptr);
    INFO("dtype " << dtype_name(dtype));
    const auto expected_k = k_expected.to_vector<uint16_t>(k.size());
    CHECK(k_half.to_vector<uint16_t>(k.size()) == expected_k);
    CHECK(v_half.to_vector<uint16_t>(v.size()) == v_expected.to_vector<uint16_t>(v.size()));
    // Not all zero: the gather read what the scatter wrote.
    CHECK(std::count(expected_k.begin(), expected_k.end(), uint16_t{0}) < static_cast<long>(expected_k.size() / 10));
  }
  const cuda::KvBlocksDevice odd{nullptr, 16, 1, 12, DType::bf16, 0, 0};
  DeviceBuffer buffer(1024);
  CHECK_THROWS_AS(cuda::kv_gather_half(odd, buffer.as<int32_t>(), 1, buffer.as<uint16_t>(), buffer.as<uint16_t>(), nullptr),
                  RuntimeError);
}
#endif  // CITADEL_HAVE_CUDA
