// Random GPTQ layers for the [cuda] GPTQ tests (gptq_cuda_test.cpp,
// gptq_fused_cuda_test.cpp): random packed weights, zeros (or the symmetric
// zero 8), f16 scales and, for act-order, a g_idx of a shuffled input order
// (or the one given, so that fused parts can share it). Only with CUDA.
#pragma once

#include "runtime/core/half.h"
#include "runtime/kernels/gptq.h"

#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace citadel::runtime::cuda::test {

struct RandomGptq {
  std::vector<int32_t> qweight, qzeros, g_idx;
  std::vector<uint16_t> scales;
  GptqTensors tensors;
};

inline RandomGptq make_gptq_layer(int bits, int64_t in, int64_t out, int64_t group_size, bool act_order,
                                  GptqZeroFormat format, std::mt19937& rng, bool symmetric = false,
                                  const std::vector<int32_t>* shared_g_idx = nullptr) {
  RandomGptq layer;
  const int64_t per_word = 32 / bits;
  const int64_t groups = gptq_num_groups(in, group_size);
  std::uniform_int_distribution<uint32_t> word(0, 0xffffffffu);
  std::uniform_real_distribution<float> scale(0.002f, 0.02f);
  layer.qweight.resize(static_cast<size_t>(in / per_word * out));
  for (auto& w : layer.qweight) w = static_cast<int32_t>(word(rng));
  layer.qzeros.resize(static_cast<size_t>(groups * out / per_word));
  if (symmetric) {
    // Zero point 2^(bits-1), stored minus one in the v1 format.
    const uint32_t zero = (1u << (bits - 1)) - (format == GptqZeroFormat::v1 ? 1u : 0u);
    uint32_t packed = 0;
    for (int64_t j = 0; j < per_word; ++j) packed |= zero << (j * bits);
    for (auto& z : layer.qzeros) z = static_cast<int32_t>(packed);
  } else {
    for (auto& z : layer.qzeros) z = static_cast<int32_t>(word(rng));
  }
  layer.scales.resize(static_cast<size_t>(groups * out));
  for (auto& s : layer.scales) s = float_to_half(scale(rng));
  if (shared_g_idx != nullptr) {
    layer.g_idx = *shared_g_idx;
  } else if (act_order) {
    std::vector<int32_t> order(static_cast<size_t>(in));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    layer.g_idx.resize(order.size());
    const int64_t size = group_size > 0 ? group_size : in;
    for (size_t i = 0; i < order.size(); ++i) layer.g_idx[i] = static_cast<int32_t>(order[i] / size);
  }
  GptqTensors& t = layer.tensors;
  t.bits = bits;
  t.in_features = in;
  t.out_features = out;
  t.group_size = group_size;
  t.qweight = layer.qweight.data();
  t.qzeros = layer.qzeros.data();
  t.scales = layer.scales.data();
  t.g_idx = layer.g_idx.empty() ? nullptr : layer.g_idx.data();
  t.zero_format = format;
  return layer;
}

}  // namespace citadel::runtime::cuda::test
