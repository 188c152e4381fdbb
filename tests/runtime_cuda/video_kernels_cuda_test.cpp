// [cuda] The video transformer kernels vs their CPU counterparts on random
// inputs: modulated LayerNorm (plain and affine), gated add, GELU(tanh),
// 3-D RoPE, unmasked attention (head dims 12, 64, 128), and K/V gathered from
// / scattered into cache blocks in bf16 and f32. Tolerances relative to the
// output's largest magnitude: 1e-5 elementwise, 1e-4 for the reductions.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/video_kernels.h"
#include "runtime/kernels/attention.h"
#include "runtime/kernels/dense_attention.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/rope_3d.h"

#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

TEST_CASE("cuda modulated LayerNorm and gated add match the CPU formulas", "[cuda]") {
  std::mt19937 rng(31);
  const int64_t frames = 3, per_frame = 5, rows = frames * per_frame, dim = 1536, stride = 6 * dim;
  const auto x = random_floats(rows * dim, rng, 2.0f), modulation = random_floats(frames * stride, rng, 0.5f);
  const auto weight = random_floats(dim, rng), bias = random_floats(dim, rng);
  std::vector<float> expected(x.size()), affine(x.size());
  layer_norm(x.data(), rows, dim, nullptr, nullptr, 1e-6f, expected.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < dim; ++i) {
      const float* m = modulation.data() + (r / per_frame) * stride;
      expected[r * dim + i] = expected[r * dim + i] * (1.0f + m[dim + i]) + m[i];
    }
  layer_norm(x.data(), rows, dim, weight.data(), bias.data(), 1e-6f, affine.data());
  DeviceBuffer xd = to_device(x), md = to_device(modulation), wd = to_device(weight), bd = to_device(bias);
  DeviceBuffer yd(x.size() * sizeof(float));
  cuda::layer_norm_modulate(xd.as<float>(), rows, dim, nullptr, nullptr, md.as<float>(), md.as<float>() + dim, stride,
                            per_frame, 1e-6f, yd.as<float>(), nullptr);
  CHECK(scaled_max_error(yd.to_vector<float>(x.size()), expected) < 1e-4);
  cuda::layer_norm_modulate(xd.as<float>(), rows, dim, wd.as<float>(), bd.as<float>(), nullptr, nullptr, 0, 1, 1e-6f,
                            yd.as<float>(), nullptr);
  CHECK(scaled_max_error(yd.to_vector<float>(x.size()), affine) < 1e-4);

  const auto delta = random_floats(rows * dim, rng);
  std::vector<float> summed = x;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < dim; ++i) summed[r * dim + i] += delta[r * dim + i] * modulation[(r / per_frame) * stride + 2 * dim + i];
  DeviceBuffer dd = to_device(delta);
  cuda::gated_add(xd.as<float>(), dd.as<float>(), rows, dim, md.as<float>() + 2 * dim, stride, per_frame, nullptr);
  CHECK(scaled_max_error(xd.to_vector<float>(x.size()), summed) < 1e-5);

  std::vector<float> gelu_expected(x.size());
  gelu_tanh(x.data(), rows * dim, gelu_expected.data());
  DeviceBuffer gd = to_device(x);
  cuda::gelu_tanh(gd.as<float>(), rows * dim, gd.as<float>(), nullptr);
  CHECK(scaled_max_error(gd.to_vector<float>(x.size()), gelu_expected) < 1e-5);
}

TEST_CASE("cuda 3-D RoPE matches the CPU kernel", "[cuda]") {
  std::mt19937 rng(32);
  const int64_t tokens = 40, heads = 12, head_dim = 128;
  const Rope3dTable table = make_rope_3d_table(head_dim, 1024);
  std::vector<int32_t> frames(tokens), rows(tokens), columns(tokens);
  for (int64_t t = 0; t < tokens; ++t) {
    frames[t] = static_cast<int32_t>(t / 8 + 1000);
    rows[t] = static_cast<int32_t>((t / 4) % 2 + 50);
    columns[t] = static_cast<int32_t>(t % 4 + 100);
  }
  auto x = random_floats(tokens * heads * head_dim, rng);
  DeviceBuffer xd = to_device(x), cd = to_device(table.cos), sd = to_device(table.sin);
  DeviceBuffer fd = to_device(frames), rd = to_device(rows), qd = to_device(columns);
  apply_rope_3d(table, x.data(), tokens, heads, frames.data(), rows.data(), columns.data());
  cuda::apply_rope_3d(xd.as<float>(), tokens, heads, head_dim, cd.as<float>(), sd.as<float>(), table.max_positions,
                      table.part[0], table.part[1], fd.as<int32_t>(), rd.as<int32_t>(), qd.as<int32_t>(), nullptr);
  CHECK(scaled_max_error(xd.to_vector<float>(x.size()), x) < 1e-5);
}

TEST_CASE("cuda dense attention matches the CPU kernel", "[cuda]") {
  std::mt19937 rng(33);
  ThreadPool pool(4);
  for (int64_t head_dim : {12, 64, 128}) {
    const int64_t queries = 48, keys = 300, heads = 3;
    const auto q = random_floats(queries * heads * head_dim, rng), k = random_floats(keys * heads * head_dim, rng);
    const auto v = random_floats(keys * heads * head_dim, rng);
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    std::vector<float> expected(q.size());
    dense_attention(pool, q.data(), queries, k.data(), v.data(), keys, heads, head_dim, scale, expected.data());
    DeviceBuffer qd = to_device(q), kd = to_device(k), vd = to_device(v), od(q.size() * sizeof(float));
    cuda::dense_attention(qd.as<float>(), queries, kd.as<float>(), vd.as<float>(), keys, heads, head_dim, scale,
                          od.as<float>(), nullptr);
    INFO("head_dim " << head_dim);
    CHECK(scaled_max_error(od.to_vector<float>(q.size()), expected) < 1e-4);
  }
}

TEST_CASE("cuda K/V gather and scatter use the runtime's block layout", "[cuda]") {
  std::mt19937 rng(34);
  for (DType dtype : {DType::bf16, DType::f32}) {
    const int64_t tokens_per_block = 16, layers = 2, heads = 2, head_dim = 12, num_blocks = 4, layer = 1;
    const size_t block_bytes = tokens_per_block * layers * 2 * heads * head_dim * dtype_size(dtype);
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
    cuda::KvBlocksDevice kv{static_cast<void* const*>(table.data()), tokens_per_block, heads, head_dim, dtype,
                            view.k_offset, view.v_offset};
    const int64_t tokens = 20;
    std::vector<int32_t> positions(tokens);
    for (int64_t t = 0; t < tokens; ++t) positions[t] = static_cast<int32_t>(10 + 2 * t);  // across blocks
    const auto k = random_floats(tokens * heads * head_dim, rng), v = random_floats(tokens * heads * head_dim, rng);
    DeviceBuffer pd = to_device(positions), kd = to_device(k), vd = to_device(v);
    cuda::kv_scatter(kv, pd.as<int32_t>(), tokens, kd.as<float>(), vd.as<float>(), nullptr);
    // Read back on the host through the CPU reader, block by block.
    std::vector<std::vector<uint8_t>> host(num_blocks, std::vector<uint8_t>(block_bytes));
    std::vector<void*> host_addresses;
    for (int64_t b = 0; b < num_blocks; ++b) {
      device_blocks[b].download(host[b].data(), block_bytes);
      host_addresses.push_back(host[b].data());
    }
    const KvBlockView host_view =
        kv_block_view_for_layer(host_addresses.data(), num_blocks, tokens_per_block, layer, heads, head_dim, dtype);
    std::vector<float> k_back(heads * head_dim), v_back(heads * head_dim);
    const double tolerance = dtype == DType::f32 ? 0.0 : 1.0 / 128;
    for (int64_t t = 0; t < tokens; ++t) {
      kv_cache_read(host_view, positions[t], 1, k_back.data(), v_back.data());
      for (int64_t i = 0; i < heads * head_dim; ++i) {
        CHECK(k_back[i] == Approx(k[t * heads * head_dim + i]).epsilon(tolerance).margin(1e-30));
        CHECK(v_back[i] == Approx(v[t * heads * head_dim + i]).epsilon(tolerance).margin(1e-30));
      }
    }
    DeviceBuffer kg(k.size() * sizeof(float)), vg(v.size() * sizeof(float));
    cuda::kv_gather(kv, pd.as<int32_t>(), tokens, kg.as<float>(), vg.as<float>(), nullptr);
    std::vector<float> k_round(k.size()), v_round(v.size());
    for (int64_t t = 0; t < tokens; ++t)
      kv_cache_read(host_view, positions[t], 1, k_round.data() + t * heads * head_dim, v_round.data() + t * heads * head_dim);
    CHECK(kg.to_vector<float>(k.size()) == k_round);
    CHECK(vg.to_vector<float>(v.size()) == v_round);
  }
}
#endif
