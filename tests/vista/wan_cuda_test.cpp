// [cuda] The vista transformer on CUDA against the diffusers reference and the
// CPU path: one forward (dit.*) and a chunk over a cache filled by two
// committing passes in device blocks (chunk.*), and the whole 3-chunk
// generation through the plugin's CUDA backend (gen.*); f16 GEMMs, so
// within 1e-2 (2e-2 for the generation).
#ifdef CITADEL_HAVE_CUDA
#include "reference_generation.hpp"

#include "wan_transformer_cuda.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/device_buffer.h"

#include <catch2/catch.hpp>

using namespace citadel;
using runtime::cuda::DeviceBuffer;

TEST_CASE("vista CUDA transformer matches diffusers on a forward and a cached chunk", "[cuda][vista]") {
  const vista::WanTransformer model = test::load_tiny_transformer();
  runtime::ThreadPool pool(2);
  vista::CudaWanTransformer cuda(model, nullptr);
  const std::vector<float> embeds = test::vista_reference("text.embeds");
  const vista::CudaWanTransformer::Text text = cuda.prepare_text(pool, embeds.data(), 512);

  const vista::KvGeometry geometry{2, 2, 12, 16, runtime::DType::f32};
  const size_t block_bytes = 16 * 2 * 2 * 24 * sizeof(float);
  std::vector<DeviceBuffer> blocks;
  std::vector<void*> addresses;
  for (int i = 0; i < 9; ++i) {
    blocks.emplace_back(block_bytes);
    blocks.back().zero();
    addresses.push_back(blocks.back().data());
  }
  const DeviceBuffer table = DeviceBuffer::from_vector(addresses);
  auto chunk_kv = [&](int64_t first_frame) {
    return vista::device_chunk_kv(geometry, static_cast<void* const*>(table.data()), 16, {}, first_frame, 3);
  };

  const std::vector<float> latents = test::vista_reference("dit.latents");
  const std::vector<float> timesteps = test::vista_reference("dit.frame_timesteps");
  const std::vector<float> out = cuda.forward(pool, latents.data(), {3, 8, 8}, timesteps.data(), 0, text, chunk_kv(0), false);
  const double forward_error = test::relative_error(out, test::vista_reference("dit.out"));
  INFO("forward relative error " << forward_error);
  CHECK(forward_error < 1e-2);

  const std::vector<float> context = test::vista_reference("chunk.context_latents");
  const std::vector<float> zero(3, 0.0f);
  for (int64_t chunk = 0; chunk < 2; ++chunk) {
    std::vector<float> part;
    for (int64_t c = 0; c < 16; ++c)
      part.insert(part.end(), context.begin() + (c * 6 + chunk * 3) * 64, context.begin() + (c * 6 + chunk * 3 + 3) * 64);
    cuda.forward(pool, part.data(), {3, 8, 8}, zero.data(), chunk * 3, text, chunk_kv(chunk * 3), true);
  }
  const std::vector<float> chunk_latents = test::vista_reference("chunk.latents");
  const std::vector<float> chunk_timesteps = test::vista_reference("chunk.frame_timesteps");
  const std::vector<float> chunk_out =
      cuda.forward(pool, chunk_latents.data(), {3, 8, 8}, chunk_timesteps.data(), 6, text, chunk_kv(6), false);
  const double chunk_error = test::relative_error(chunk_out, test::vista_reference("chunk.out"));
  INFO("chunk relative error " << chunk_error);
  CHECK(chunk_error < 1e-2);
}

TEST_CASE("vista 3-chunk generation through the CUDA backend matches the reference", "[cuda][vista]") {
  const vista::WanTransformer model = test::load_tiny_transformer();
  runtime::ThreadPool pool(2);
  const std::unique_ptr<vista::ChunkForward> forward = vista::make_cuda_chunk_forward(model, pool, nullptr);
  const size_t block_bytes = 8 * 2 * 2 * 24 * 2;  // bf16
  std::vector<DeviceBuffer> blocks;
  std::vector<void*> addresses;
  for (int i = 0; i < 18; ++i) {
    blocks.emplace_back(block_bytes);
    blocks.back().zero();
    addresses.push_back(blocks.back().data());
  }
  const std::vector<float> video =
      test::generate_reference_video(*forward, addresses.data(), 18, runtime::DType::bf16);
  const double error = test::relative_error(video, test::vista_reference("gen.out"));
  INFO("generation relative error " << error);
  CHECK(error < 2e-2);
}
#endif
