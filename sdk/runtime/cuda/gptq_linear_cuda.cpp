// GptqLinearCuda: validation, upload, GEMV / dequant+cuBLAS dispatch.
#include "runtime/cuda/gptq_linear_cuda.h"

#include "runtime/cuda/cuda_check.h"

#include <cstdint>

namespace citadel::runtime::cuda {
namespace {

// True when g_idx is absent or equals the group of plain (non act-order) GPTQ.
bool trivial_groups(const GptqTensors& t) {
  if (t.g_idx == nullptr) return true;
  for (int64_t i = 0; i < t.in_features; ++i) {
    const int64_t expected = t.group_size > 0 ? i / t.group_size : 0;
    if (t.g_idx[i] != expected) return false;
  }
  return true;
}

}  // namespace

GptqLinearCuda::GptqLinearCuda(const GptqTensors& t, std::string name) : name_(std::move(name)) {
  if (t.bits != 4 && t.bits != 8) {
    fail_unsupported(name_ + ": " + std::to_string(t.bits) + "-bit GPTQ is not supported (4 or 8)");
  }
  const int64_t per_word = 32 / t.bits;
  if (t.in_features <= 0 || t.out_features <= 0 || t.in_features % per_word != 0 || t.out_features % per_word != 0) {
    fail_invalid(name_ + ": in_features " + std::to_string(t.in_features) + " and out_features " +
                  std::to_string(t.out_features) + " must be positive multiples of " + std::to_string(per_word));
  }
  if (t.group_size == 0 || t.group_size < -1) fail_invalid(name_ + ": invalid group_size " + std::to_string(t.group_size));
  if (t.qweight == nullptr || t.qzeros == nullptr || t.scales == nullptr) {
    fail_invalid(name_ + ": qweight, qzeros and scales are required");
  }
  // As runtime::gptq_num_groups (not called: citadel_sdk links after this library).
  const int64_t groups = t.group_size > 0 ? (t.in_features + t.group_size - 1) / t.group_size : 1;
  if (t.g_idx != nullptr) {
    for (int64_t i = 0; i < t.in_features; ++i) {
      if (t.g_idx[i] < 0 || t.g_idx[i] >= groups) {
        fail_invalid(name_ + ".g_idx: entry " + std::to_string(i) + " is " + std::to_string(t.g_idx[i]) +
                      ", outside [0, " + std::to_string(groups) + ")");
      }
    }
  }
  const auto in = static_cast<size_t>(t.in_features), out = static_cast<size_t>(t.out_features);
  const auto pw = static_cast<size_t>(per_word);
  qweight_ = DeviceBuffer::from_host(t.qweight, in / pw * out * sizeof(int32_t), (name_ + ".qweight").c_str());
  qzeros_ = DeviceBuffer::from_host(t.qzeros, static_cast<size_t>(groups) * (out / pw) * sizeof(int32_t),
                                    (name_ + ".qzeros").c_str());
  scales_ = DeviceBuffer::from_host(t.scales, static_cast<size_t>(groups) * out * sizeof(uint16_t),
                                    (name_ + ".scales").c_str());
  if (!trivial_groups(t)) g_idx_ = DeviceBuffer::from_host(t.g_idx, in * sizeof(int32_t), (name_ + ".g_idx").c_str());
  weights_.bits = t.bits;
  weights_.in_features = t.in_features;
  weights_.out_features = t.out_features;
  weights_.group_size = t.group_size;
  weights_.num_groups = groups;
  weights_.qweight = qweight_.as<int32_t>();
  weights_.qzeros = qzeros_.as<int32_t>();
  weights_.scales = scales_.as<uint16_t>();
  weights_.g_idx = g_idx_.size() > 0 ? g_idx_.as<int32_t>() : nullptr;
  weights_.zeros_minus_one = t.zero_format == GptqZeroFormat::v1;
}

size_t GptqLinearCuda::device_bytes() const {
  return qweight_.size() + qzeros_.size() + scales_.size() + g_idx_.size();
}

void GptqLinearCuda::forward(CublasContext& context, const float* x, int64_t m, float* y, const float* bias,
                             void* stream) const {
  if (m <= 0) return;
  if (m <= kGemvMaxRows) {
    gptq_gemv(weights_, x, m, y, bias, stream);
    return;
  }
  uint16_t* weight = context.weight_scratch(static_cast<size_t>(weights_.in_features * weights_.out_features));
  gptq_dequantize_f16(weights_, weight, stream);
  matmul_f16(context, x, m, weights_.in_features, weight, WeightLayout::in_out, weights_.out_features, y, bias,
             stream);
}

}  // namespace citadel::runtime::cuda
