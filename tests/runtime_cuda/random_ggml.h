// Random ggml blocks for the [cuda] tests and bench/cuda_kernels: random
// bytes with every fp16 scale field overwritten by a sane value (the scheme
// of tools/gguf_blocks.py), so that every code occurs and the dequantized
// values are about +-1. Only compiled with CUDA.
#pragma once

#include "runtime/core/half.h"
#include "runtime/kernels/ggml_blocks.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace citadel::runtime::cuda::test {

// The block formats the CUDA kernels read, in ggml_blocks.h's order.
inline const std::vector<GgmlType>& ggml_block_types() {
  static const std::vector<GgmlType> types = {GgmlType::q4_0, GgmlType::q4_1, GgmlType::q5_0, GgmlType::q5_1,
                                              GgmlType::q8_0, GgmlType::q4_k, GgmlType::q5_k, GgmlType::q6_k};
  return types;
}

// rows x cols values of `type` (cols whole blocks), stored row after row.
inline std::vector<uint8_t> random_ggml_blocks(GgmlType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(type));
  const int64_t blocks = rows * (cols / traits.block_size);
  std::vector<uint8_t> data(static_cast<size_t>(blocks * traits.type_size));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& b : data) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> jitter(0.5f, 1.5f);
  auto put = [&](uint8_t* block, int offset, float value) {
    const uint16_t bits = float_to_half(value);
    std::memcpy(block + offset, &bits, 2);
  };
  for (int64_t i = 0; i < blocks; ++i) {
    uint8_t* block = data.data() + i * traits.type_size;
    const float j = jitter(rng);
    switch (type) {
      case GgmlType::q4_0: put(block, 0, j / 8); break;
      case GgmlType::q5_0: put(block, 0, j / 16); break;
      case GgmlType::q8_0: put(block, 0, j / 127); break;
      case GgmlType::q4_1: put(block, 0, j / 15); put(block, 2, -j / 2); break;
      case GgmlType::q5_1: put(block, 0, j / 31); put(block, 2, -j / 2); break;
      case GgmlType::q4_k: put(block, 0, j / (15 * 63)); put(block, 2, j / (2 * 63)); break;
      case GgmlType::q5_k: put(block, 0, j / (31 * 63)); put(block, 2, j / (2 * 63)); break;
      case GgmlType::q6_k:
        put(block, 208, j / (32 * 127));
        for (int s = 0; s < 16; ++s) block[192 + s] = static_cast<uint8_t>(1 + byte(rng) % 63);
        break;
      default: break;
    }
  }
  return data;
}

}  // namespace citadel::runtime::cuda::test
