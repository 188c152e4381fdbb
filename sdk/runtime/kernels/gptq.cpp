// GptqLinear: unpack GPTQ tiles to f32 and multiply.
#include "runtime/kernels/gptq.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/kernels/tile_matmul.h"

#include <algorithm>

namespace citadel::runtime {

namespace {

// One input row of a full tile: row[c] = q * s - z * s for kTileColumns columns.
void unpack_tile_row(const uint32_t* __restrict q, int shift, uint32_t mask, const float* __restrict s,
                     const float* __restrict zs, float* __restrict row) {
  for (int64_t c = 0; c < detail::kTileColumns; ++c) {
    row[c] = static_cast<float>(static_cast<int32_t>((q[c] >> shift) & mask)) * s[c] - zs[c];
  }
}

}  // namespace

int64_t gptq_num_groups(int64_t in_features, int64_t group_size) {
  if (group_size <= 0) return 1;
  return (in_features + group_size - 1) / group_size;
}

GptqLinear::GptqLinear(const GptqTensors& t, std::string name)
    : name_(std::move(name)), bits_(t.bits), in_(t.in_features), out_(t.out_features),
      qweight_(t.qweight) {
  if (bits_ != 4 && bits_ != 8) {
    throw_unsupported(name_ + ": " + std::to_string(bits_) + "-bit GPTQ is not supported (4 or 8)");
  }
  const int64_t per_word = 32 / bits_;
  if (in_ <= 0 || out_ <= 0 || in_ % per_word != 0 || out_ % per_word != 0) {
    throw_invalid(name_ + ": in_features " + std::to_string(in_) + " and out_features " +
                  std::to_string(out_) + " must be positive multiples of " + std::to_string(per_word));
  }
  if (t.group_size == 0 || t.group_size < -1) {
    throw_invalid(name_ + ": invalid group_size " + std::to_string(t.group_size));
  }
  if (t.qweight == nullptr || t.qzeros == nullptr || t.scales == nullptr) {
    throw_invalid(name_ + ": qweight, qzeros and scales are required");
  }
  num_groups_ = gptq_num_groups(in_, t.group_size);
  group_of_input_.resize(static_cast<size_t>(in_));
  for (int64_t i = 0; i < in_; ++i) {
    int64_t g = t.g_idx != nullptr ? t.g_idx[i] : (t.group_size > 0 ? i / t.group_size : 0);
    if (g < 0 || g >= num_groups_) {
      throw_invalid(name_ + ".g_idx: entry " + std::to_string(i) + " is " + std::to_string(g) +
                    ", outside [0, " + std::to_string(num_groups_) + ")");
    }
    group_of_input_[static_cast<size_t>(i)] = static_cast<int32_t>(g);
  }
  const uint32_t mask = (1u << bits_) - 1u;
  const int64_t zero_words = out_ / per_word;
  scales_.resize(static_cast<size_t>(num_groups_ * out_));
  scaled_zeros_.resize(scales_.size());
  for (int64_t g = 0; g < num_groups_; ++g) {
    for (int64_t o = 0; o < out_; ++o) {
      const auto word = static_cast<uint32_t>(t.qzeros[g * zero_words + o / per_word]);
      uint32_t zero = (word >> ((o % per_word) * bits_)) & mask;
      const float z = static_cast<float>(zero) + (t.zero_format == GptqZeroFormat::v1 ? 1.0f : 0.0f);
      const float s = half_to_float(t.scales[g * out_ + o]);
      scales_[static_cast<size_t>(g * out_ + o)] = s;
      scaled_zeros_[static_cast<size_t>(g * out_ + o)] = z * s;
    }
  }
}

void GptqLinear::dequantize_columns(int64_t col_begin, int64_t col_end, float* tile) const {
  constexpr int64_t K = detail::kTileColumns;
  const int64_t per_word = 32 / bits_;
  const uint32_t mask = (1u << bits_) - 1u;
  const int64_t columns = col_end - col_begin;
  for (int64_t i = 0; i < in_; ++i) {
    const int64_t g = group_of_input_[static_cast<size_t>(i)];
    const int shift = static_cast<int>((i % per_word) * bits_);
    const auto* __restrict q = reinterpret_cast<const uint32_t*>(qweight_ + (i / per_word) * out_ + col_begin);
    const float* __restrict s = scales_.data() + g * out_ + col_begin;
    const float* __restrict zs = scaled_zeros_.data() + g * out_ + col_begin;
    float* __restrict row = tile + i * K;
    if (columns == K) {  // constant trip count: vectorizes
      unpack_tile_row(q, shift, mask, s, zs, row);
    } else {
      for (int64_t c = 0; c < columns; ++c) {
        row[c] = static_cast<float>(static_cast<int32_t>((q[c] >> shift) & mask)) * s[c] - zs[c];
      }
    }
  }
}

void GptqLinear::forward_columns_few_tokens(const float* x, int64_t m, const float* group_sums,
                                            int64_t col_begin, int64_t col_end, float* group_acc,
                                            float* y, const float* bias) const {
  // y[t, o] = sum_g s[g, o] * (sum_{i in g} x[t, i] * q[i, o]) - zs[g, o] * sum_{i in g} x[t, i]
  constexpr int64_t K = detail::kTileColumns;
  const int64_t per_word = 32 / bits_;
  const uint32_t mask = (1u << bits_) - 1u;
  const int64_t columns = col_end - col_begin;
  for (int64_t t = 0; t < m; ++t) {
    std::fill(group_acc, group_acc + num_groups_ * K, 0.0f);
    const float* xt = x + t * in_;
    for (int64_t i = 0; i < in_; ++i) {
      const float xi = xt[i];
      const int shift = static_cast<int>((i % per_word) * bits_);
      const auto* __restrict q = reinterpret_cast<const uint32_t*>(qweight_ + (i / per_word) * out_ + col_begin);
      float* __restrict acc = group_acc + group_of_input_[static_cast<size_t>(i)] * K;
      if (columns == K) {
        for (int64_t c = 0; c < K; ++c) acc[c] += xi * static_cast<float>(static_cast<int32_t>((q[c] >> shift) & mask));
      } else {
        for (int64_t c = 0; c < columns; ++c) acc[c] += xi * static_cast<float>(static_cast<int32_t>((q[c] >> shift) & mask));
      }
    }
    for (int64_t c = 0; c < columns; ++c) {
      float sum = bias != nullptr ? bias[c] : 0.0f;
      for (int64_t g = 0; g < num_groups_; ++g) {
        const size_t table = static_cast<size_t>(g * out_ + col_begin + c);
        sum += scales_[table] * group_acc[g * K + c] - scaled_zeros_[table] * group_sums[t * num_groups_ + g];
      }
      y[t * out_ + col_begin + c] = sum;
    }
  }
}

void GptqLinear::forward(ThreadPool& pool, const float* x, int64_t m, float* y, const float* bias) const {
  if (m <= 0) return;
  constexpr int64_t K = detail::kTileColumns;
  constexpr int64_t kFewTokens = 4;  // below this, unpacking a tile costs more than it saves
  const int64_t num_tiles = (out_ + K - 1) / K;
  if (m <= kFewTokens) {
    std::vector<float> group_sums(static_cast<size_t>(m * num_groups_), 0.0f);
    for (int64_t t = 0; t < m; ++t) {
      for (int64_t i = 0; i < in_; ++i) {
        group_sums[static_cast<size_t>(t * num_groups_ + group_of_input_[static_cast<size_t>(i)])] += x[t * in_ + i];
      }
    }
    pool.parallel_for(0, num_tiles, [&](int64_t tile_begin, int64_t tile_end) {
      std::vector<float> group_acc(static_cast<size_t>(num_groups_ * K));
      for (int64_t tile_index = tile_begin; tile_index < tile_end; ++tile_index) {
        const int64_t col0 = tile_index * K;
        forward_columns_few_tokens(x, m, group_sums.data(), col0, std::min(out_, col0 + K), group_acc.data(), y,
                                   bias != nullptr ? bias + col0 : nullptr);
      }
    });
    return;
  }
  pool.parallel_for(0, num_tiles, [&](int64_t tile_begin, int64_t tile_end) {
    std::vector<float> tile(static_cast<size_t>(in_ * K), 0.0f);
    for (int64_t tile_index = tile_begin; tile_index < tile_end; ++tile_index) {
      const int64_t col0 = tile_index * K;
      const int64_t col1 = std::min(out_, col0 + K);
      dequantize_columns(col0, col1, tile.data());
      detail::tile_matmul(x, m, in_, tile.data(), col1 - col0, y + col0, out_,
                          bias != nullptr ? bias + col0 : nullptr);
    }
  });
}

std::vector<float> GptqLinear::dequantize() const {
  constexpr int64_t K = detail::kTileColumns;
  std::vector<float> weight(static_cast<size_t>(out_ * in_));
  std::vector<float> tile(static_cast<size_t>(in_ * K), 0.0f);
  for (int64_t col0 = 0; col0 < out_; col0 += K) {
    const int64_t col1 = std::min(out_, col0 + K);
    dequantize_columns(col0, col1, tile.data());
    for (int64_t c = col0; c < col1; ++c) {
      for (int64_t i = 0; i < in_; ++i) weight[static_cast<size_t>(c * in_ + i)] = tile[static_cast<size_t>(i * K + (c - col0))];
    }
  }
  return weight;
}

}  // namespace citadel::runtime
