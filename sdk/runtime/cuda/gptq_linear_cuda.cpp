// GptqLinearCuda: validation, the one-time repack (upload the GPTQ tensors,
// repack on the device, drop the originals), and the GEMV / dequant+cuBLAS
// dispatch with the layer's epilogue.
#include "runtime/cuda/gptq_linear_cuda.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/int4_gemv.h"
#include "runtime/cuda/int4_gemv_ring.h"
#include "runtime/cuda/int4_gemv_tc.h"
#include "runtime/cuda/int4_mma.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <vector>

namespace citadel::runtime::cuda {
namespace {

// As runtime::gptq_num_groups (not called: citadel_sdk links after this library).
int64_t groups_of(const GptqTensors& t) {
  return t.group_size > 0 ? (t.in_features + t.group_size - 1) / t.group_size : 1;
}

// True when g_idx is absent or equals the group of plain (non act-order) GPTQ.
bool trivial_groups(const GptqTensors& t) {
  if (t.g_idx == nullptr) return true;
  for (int64_t i = 0; i < t.in_features; ++i) {
    const int64_t expected = t.group_size > 0 ? i / t.group_size : 0;
    if (t.g_idx[i] != expected) return false;
  }
  return true;
}

void validate(const GptqTensors& t, const std::string& name) {
  if (t.bits != 4 && t.bits != 8) {
    fail_unsupported(name + ": " + std::to_string(t.bits) + "-bit GPTQ is not supported (4 or 8)");
  }
  const int64_t per_word = 32 / t.bits;
  if (t.in_features <= 0 || t.out_features <= 0 || t.in_features % per_word != 0 || t.out_features % per_word != 0) {
    fail_invalid(name + ": in_features " + std::to_string(t.in_features) + " and out_features " +
                 std::to_string(t.out_features) + " must be positive multiples of " + std::to_string(per_word));
  }
  if (t.group_size == 0 || t.group_size < -1) fail_invalid(name + ": invalid group_size " + std::to_string(t.group_size));
  if (t.qweight == nullptr || t.qzeros == nullptr || t.scales == nullptr) {
    fail_invalid(name + ": qweight, qzeros and scales are required");
  }
  const int64_t groups = groups_of(t);
  if (t.g_idx != nullptr) {
    for (int64_t i = 0; i < t.in_features; ++i) {
      if (t.g_idx[i] < 0 || t.g_idx[i] >= groups) {
        fail_invalid(name + ".g_idx: entry " + std::to_string(i) + " is " + std::to_string(t.g_idx[i]) +
                     ", outside [0, " + std::to_string(groups) + ")");
      }
    }
  }
}

// The tiled layout's input order and chunk groups for `t`; empty
// chunk_group when some 32-input chunk spans two groups (no tiled layout).
struct TiledPlan {
  std::vector<int32_t> perm;  // empty: identity
  std::vector<int32_t> chunk_group;
};

TiledPlan plan_tiled(const GptqTensors& t) {
  TiledPlan plan;
  if (t.bits != 4 || t.in_features % kInt4ChunkInputs != 0) return plan;
  const int64_t in = t.in_features;
  auto group_of_sorted = [&](int64_t k) -> int64_t {
    if (!plan.perm.empty()) return t.g_idx[plan.perm[static_cast<size_t>(k)]];
    return t.group_size > 0 ? k / t.group_size : 0;
  };
  if (!trivial_groups(t)) {
    plan.perm.resize(static_cast<size_t>(in));
    std::iota(plan.perm.begin(), plan.perm.end(), 0);
    std::stable_sort(plan.perm.begin(), plan.perm.end(), [&](int32_t a, int32_t b) { return t.g_idx[a] < t.g_idx[b]; });
  }
  std::vector<int32_t> chunk_group(static_cast<size_t>(in / kInt4ChunkInputs));
  for (int64_t c = 0; c < static_cast<int64_t>(chunk_group.size()); ++c) {
    const int64_t group = group_of_sorted(c * kInt4ChunkInputs);
    for (int64_t k = c * kInt4ChunkInputs + 1; k < (c + 1) * kInt4ChunkInputs; ++k) {
      if (group_of_sorted(k) != group) return plan;
    }
    chunk_group[static_cast<size_t>(c)] = static_cast<int32_t>(group);
  }
  plan.chunk_group = std::move(chunk_group);
  return plan;
}

bool same_groups(const GptqTensors& a, const GptqTensors& b) {
  if (a.in_features != b.in_features || a.group_size != b.group_size || a.bits != b.bits ||
      a.zero_format != b.zero_format) {
    return false;
  }
  const bool a_trivial = trivial_groups(a), b_trivial = trivial_groups(b);
  if (a_trivial || b_trivial) return a_trivial == b_trivial;
  return std::equal(a.g_idx, a.g_idx + a.in_features, b.g_idx);
}

bool simple_store(const LinearEpilogue& e) { return e.kind == LinearEpilogue::Kind::store && e.segments == 1; }

}  // namespace

GptqLinearCuda::GptqLinearCuda(const GptqTensors& t, std::string name, const float* bias) : name_(std::move(name)) {
  validate(t, name_);
  const GptqTensors* parts[] = {&t};
  const float* biases[] = {bias};
  if (!plan_tiled(t).chunk_group.empty()) {
    build_tiled(parts, biases, Fusion::concat);
  } else {
    build_packed(t, bias);
  }
}

GptqLinearCuda::GptqLinearCuda(std::span<const GptqTensors* const> parts, std::span<const float* const> biases,
                               Fusion fusion, std::string name)
    : name_(std::move(name)) {
  for (const GptqTensors* part : parts) validate(*part, name_);
  if (!can_fuse(parts, fusion) || biases.size() != parts.size()) {
    fail_invalid(name_ + ": these GPTQ layers cannot be fused");
  }
  build_tiled(parts, biases, fusion);
}

bool GptqLinearCuda::can_fuse(std::span<const GptqTensors* const> parts, Fusion fusion) {
  if (parts.empty() || parts.size() > static_cast<size_t>(LinearEpilogue::kMaxSegments)) return false;
  if (plan_tiled(*parts[0]).chunk_group.empty()) return false;
  for (const GptqTensors* part : parts) {
    if (!same_groups(*parts[0], *part)) return false;
  }
  if (fusion == Fusion::gate_up) {
    return parts.size() == 2 && parts[0]->out_features == parts[1]->out_features &&
           parts[0]->out_features % LinearEpilogue::kSiluTile == 0;
  }
  return true;
}

void GptqLinearCuda::build_tiled(std::span<const GptqTensors* const> parts, std::span<const float* const> biases,
                                 Fusion fusion) {
  const GptqTensors& first = *parts[0];
  const TiledPlan plan = plan_tiled(first);
  in_ = first.in_features;
  columns_ = 0;
  for (const GptqTensors* part : parts) columns_ += part->out_features;
  const int64_t padded = (columns_ + kInt4TileColumns - 1) / kInt4TileColumns * kInt4TileColumns;
  const int64_t groups = groups_of(first);
  const auto p = static_cast<size_t>(padded);
  tiled_qweight_ = DeviceBuffer(static_cast<size_t>(in_ / 8) * p * sizeof(uint32_t), (name_ + ".qweight").c_str());
  tiled_scales_ = DeviceBuffer(static_cast<size_t>(groups) * p * sizeof(uint16_t), (name_ + ".scales").c_str());
  tiled_zeros_ = DeviceBuffer(static_cast<size_t>(groups) * p, (name_ + ".qzeros").c_str());
  tiled_qweight_.zero();
  tiled_scales_.zero();
  tiled_zeros_.zero();
  chunk_group_ = DeviceBuffer::from_vector(plan.chunk_group, (name_ + " chunk groups").c_str());
  if (!plan.perm.empty()) input_perm_ = DeviceBuffer::from_vector(plan.perm, (name_ + ".g_idx order").c_str());
  tiled_.in_features = in_;
  tiled_.columns = columns_;
  tiled_.padded_columns = padded;
  tiled_.num_groups = groups;
  tiled_.qweight = tiled_qweight_.as<uint32_t>();
  tiled_.scales = tiled_scales_.as<uint16_t>();
  tiled_.zeros = tiled_zeros_.as<uint8_t>();
  tiled_.chunk_group = chunk_group_.as<int32_t>();
  tiled_.input_perm = input_perm_.size() > 0 ? input_perm_.as<int32_t>() : nullptr;
  const auto chunks = static_cast<int64_t>(plan.chunk_group.size());
  const int64_t per_group = first.group_size > 0 ? first.group_size / kInt4ChunkInputs : chunks;
  bool regular = per_group > 0;
  for (int64_t c = 0; regular && c < chunks; ++c) regular = plan.chunk_group[static_cast<size_t>(c)] == c / per_group;
  tiled_.chunks_per_group = regular ? per_group : 0;

  std::vector<float> bias(static_cast<size_t>(columns_), 0.0f);
  bool any_bias = false;
  int64_t offset = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const GptqTensors& t = *parts[i];
    const int64_t out = t.out_features;
    Int4ColumnMap map{offset, out, 0};
    if (fusion == Fusion::gate_up) {
      map = Int4ColumnMap{static_cast<int64_t>(i) * LinearEpilogue::kSiluTile, LinearEpilogue::kSiluTile,
                          2 * LinearEpilogue::kSiluTile};
    }
    const DeviceBuffer qweight = DeviceBuffer::from_host(t.qweight, static_cast<size_t>(in_ / 8 * out) * 4, "qweight");
    const DeviceBuffer qzeros = DeviceBuffer::from_host(t.qzeros, static_cast<size_t>(groups * out / 8) * 4, "qzeros");
    const DeviceBuffer scales = DeviceBuffer::from_host(t.scales, static_cast<size_t>(groups * out) * 2, "scales");
    int4_repack_part(qweight.as<int32_t>(), qzeros.as<int32_t>(), scales.as<uint16_t>(), out,
                     t.zero_format == GptqZeroFormat::v1, map, tiled_, nullptr);
    synchronize();  // the originals are freed at the end of this iteration
    if (biases[i] != nullptr) {
      any_bias = true;
      for (int64_t o = 0; o < out; ++o) {
        bias[static_cast<size_t>(map.base + (o / map.run) * map.stride + o % map.run)] = biases[i][o];
      }
    }
    offset += out;
  }
  if (any_bias) bias_ = DeviceBuffer::from_vector(bias, (name_ + ".bias").c_str());
}

void GptqLinearCuda::build_packed(const GptqTensors& t, const float* bias) {
  const int64_t per_word = 32 / t.bits;
  const int64_t groups = groups_of(t);
  in_ = t.in_features;
  columns_ = t.out_features;
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
  if (bias != nullptr) bias_ = DeviceBuffer::from_host(bias, out * sizeof(float), (name_ + ".bias").c_str());
}

namespace {
std::atomic<int64_t> int4_mma_f16_rows{GptqLinearCuda::kDefaultInt4MmaF16MaxRows};
std::atomic<int64_t> int4_mma_f16_from{GptqLinearCuda::kDefaultInt4MmaF16MinRows};
std::atomic<int64_t> int4_mma_exact_from{GptqLinearCuda::kDefaultInt4MmaExactMinRows};
}  // namespace

void GptqLinearCuda::set_int4_mma_exact_min_rows(int64_t rows) {
  int4_mma_exact_from.store(std::max<int64_t>(1, rows));
}

int64_t GptqLinearCuda::int4_mma_exact_min_rows() { return int4_mma_exact_from.load(); }

void GptqLinearCuda::set_int4_mma_f16_max_rows(int64_t rows) { int4_mma_f16_rows.store(std::max<int64_t>(0, rows)); }

int64_t GptqLinearCuda::int4_mma_f16_max_rows() { return int4_mma_f16_rows.load(); }

void GptqLinearCuda::set_int4_mma_f16_min_rows(int64_t rows) { int4_mma_f16_from.store(std::max<int64_t>(1, rows)); }

int64_t GptqLinearCuda::int4_mma_f16_min_rows() { return int4_mma_f16_from.load(); }

int64_t GptqLinearCuda::exact_max_rows() const {
  if (!tiled()) return kPackedGemvMaxRows;
  if (!int4_mma_supported(tiled_)) return kPackedGemvMaxRows;
  return std::min(kTensorCoreMaxRows, int4_mma_f16_min_rows() - 1);
}

size_t GptqLinearCuda::device_bytes() const {
  return tiled_qweight_.size() + tiled_scales_.size() + tiled_zeros_.size() + chunk_group_.size() +
         input_perm_.size() + qweight_.size() + qzeros_.size() + scales_.size() + g_idx_.size() + bias_.size();
}

void GptqLinearCuda::forward(CublasContext& context, const float* x, int64_t m, float* y, const float* extra_bias,
                             void* stream) const {
  const LinearEpilogue epilogue = LinearEpilogue::single(y, columns_);
  if (tiled()) {
    forward_tiled(context, x, m, epilogue, extra_bias, stream);
    return;
  }
  if (m <= 0) return;
  const float* bias = bias_.size() > 0 ? bias_.as<float>() : extra_bias;
  if (bias_.size() > 0 && extra_bias != nullptr) fail_invalid(name_ + ": the layer already has a bias");
  if (m <= kPackedGemvMaxRows) {
    gptq_gemv(weights_, x, m, y, bias, stream);
    return;
  }
  uint16_t* weight = context.weight_scratch(static_cast<size_t>(in_ * columns_));
  gptq_dequantize_f16(weights_, weight, stream);
  matmul_f16(context, x, m, in_, weight, WeightLayout::in_out, columns_, y, bias, stream);
}

void GptqLinearCuda::forward(CublasContext& context, const float* x, int64_t m, const LinearEpilogue& epilogue,
                             void* stream) const {
  if (tiled()) {
    forward_tiled(context, x, m, epilogue, nullptr, stream);
    return;
  }
  if (m <= 0) return;
  if (simple_store(epilogue)) {
    forward(context, x, m, epilogue.out[0], nullptr, stream);
    return;
  }
  float* result = context.result_scratch(static_cast<size_t>(m * columns_));
  forward(context, x, m, result, nullptr, stream);
  linear_epilogue_apply(result, m, columns_, epilogue, stream);
}

bool GptqLinearCuda::forward_normed(const float* x, int64_t m, const RmsNormInput& norm,
                                    const LinearEpilogue& epilogue, void* stream) const {
  if (!tiled() || m <= 0 || m > kTensorCoreGemvMaxRows) return false;
  // Rows that forward() gives to the tensor-core GEMM, which has no fused norm.
  if (int4_mma_supported(tiled_) && m >= std::min(int4_mma_exact_min_rows(), int4_mma_f16_min_rows())) return false;
  const float* bias = bias_.size() > 0 ? bias_.as<float>() : nullptr;
  if (m <= kInt4GemvRingMaxRows && int4_gemv_ring_dispatch() && int4_gemv_ring_supported(tiled_, m)) {
    int4_gemv_ring(tiled_, x, m, bias, epilogue, stream, norm);
    return true;
  }
  if (!int4_gemv_tc_supported(tiled_, m)) return false;
  int4_gemv_tc(tiled_, x, m, bias, epilogue, stream, norm);
  return true;
}

void GptqLinearCuda::forward_tiled(CublasContext& context, const float* x, int64_t m, const LinearEpilogue& epilogue,
                                   const float* extra_bias, void* stream) const {
  if (m <= 0) return;
  if (bias_.size() > 0 && extra_bias != nullptr) fail_invalid(name_ + ": the layer already has a bias");
  const float* bias = bias_.size() > 0 ? bias_.as<float>() : extra_bias;
  const bool tensor_cores = int4_mma_supported(tiled_);
  if (tensor_cores && m >= int4_mma_f16_min_rows() && m <= kTensorCoreMaxRows) {
    // Rows the f32-exact kernels would take, given to the f16 GEMM instead.
    int4_mma(tiled_, x, m, bias, epilogue,
             context.activation_scratch(int4_mma_scratch_halves(tiled_, Int4MmaActivations::f16)), stream,
             Int4MmaActivations::f16);
    return;
  }
  if (tensor_cores && m >= int4_mma_exact_min_rows() && m <= kTensorCoreMaxRows) {
    int4_mma(tiled_, x, m, bias, epilogue,
             context.activation_scratch(int4_mma_scratch_halves(tiled_, Int4MmaActivations::f32_exact)), stream,
             Int4MmaActivations::f32_exact);
    return;
  }
  if (m <= kInt4GemvRingMaxRows && int4_gemv_ring_dispatch() && int4_gemv_ring_supported(tiled_, m)) {
    int4_gemv_ring(tiled_, x, m, bias, epilogue, stream);
    return;
  }
  if (m <= kTensorCoreGemvMaxRows && int4_gemv_tc_supported(tiled_, m)) {
    int4_gemv_tc(tiled_, x, m, bias, epilogue, stream);
    return;
  }
  if (m <= kGemvMaxRows || (!tensor_cores && m <= kPackedGemvMaxRows)) {
    const Int4GemvScratchSize size = int4_gemv_scratch_size(tiled_, m);
    int4_gemv(tiled_, x, m, bias, epilogue, context.gemv_partials(size.partial_floats),
              context.gemv_counters(size.counters), stream);
    return;
  }
  if (tensor_cores && (m <= kTensorCoreMaxRows || m <= int4_mma_f16_max_rows())) {
    const auto activations = m <= kTensorCoreMaxRows ? Int4MmaActivations::f32_exact : Int4MmaActivations::f16;
    int4_mma(tiled_, x, m, bias, epilogue, context.activation_scratch(int4_mma_scratch_halves(tiled_, activations)),
             stream, activations);
    return;
  }
  uint16_t* weight = context.weight_scratch(static_cast<size_t>(in_ * columns_));
  int4_tiled_dequantize_f16(tiled_, weight, stream);
  uint16_t* x_half = context.activation_scratch(static_cast<size_t>(m * in_));
  gather_to_half(x, m, in_, tiled_.input_perm, x_half, stream);
  if (simple_store(epilogue)) {
    matmul_f16_input(context, x_half, m, in_, weight, WeightLayout::in_out, columns_, epilogue.out[0], bias, stream);
    return;
  }
  float* result = context.result_scratch(static_cast<size_t>(m * columns_));
  matmul_f16_input(context, x_half, m, in_, weight, WeightLayout::in_out, columns_, result, bias, stream);
  linear_epilogue_apply(result, m, columns_, epilogue, stream);
}

}  // namespace citadel::runtime::cuda
