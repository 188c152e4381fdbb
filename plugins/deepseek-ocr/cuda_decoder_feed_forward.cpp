// The feed-forward half of a deepseek-ocr CUDA decoder layer (cuda_decoder.h):
// a dense layer's MLP as two cuBLAS GEMMs over all rows; a routed layer's
// experts either routed on the device (decode steps up to
// device_routing_max_rows rows: top-k, the slot layout and both expert
// GEMMs in launches that never wait for the host, runtime/cuda/moe_routing.h,
// expert_gemm.h) or routed on the host (prefills: the router logits copied
// back, route_from_logits, every MLP's rows gathered expert-ordered into one
// batched GEMM per projection). Either way one launch adds every row's
// expert outputs back, weighted (runtime/cuda/expert_rows.h).
#include "cuda_decoder.h"

#include "moe_mlp.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/expert_gemm.h"
#include "runtime/cuda/expert_rows.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/cuda/moe_routing.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace citadel::deepseek_ocr {

namespace cuda = runtime::cuda;

void CudaDecoder::run_mlps(const std::vector<const DeviceMlp*>& mlps, const std::vector<MlpAssignment>& assignments,
                           const float* x, int64_t rows, float* out) {
  const int64_t hidden = config_.hidden_size;
  const ExpertBatchPlan plan = plan_expert_batch(assignments, rows);
  const int64_t slots = plan.slots;
  if (slots == 0) return;
  // One upload of the tables: slot rows, then each row's slots.
  std::vector<int32_t> tables(plan.slot_rows);
  tables.insert(tables.end(), plan.row_slots.begin(), plan.row_slots.end());
  const int32_t* table_device = upload(slots_, tables.data(), tables.size());
  const float* weight_device = upload(slot_weights_, plan.row_weights.data(), plan.row_weights.size());

  auto* gathered = static_cast<uint16_t*>(scratch_bytes(gathered_, size_t(slots * hidden) * sizeof(uint16_t)));
  auto* gate_up = static_cast<float*>(scratch_bytes(gate_up_, size_t(plan.gate_up_floats) * sizeof(float)));
  auto* activation =
      static_cast<uint16_t*>(scratch_bytes(activation_, size_t(plan.activation_elements) * sizeof(uint16_t)));
  float* expert_out = scratch(down_, slots * hidden);
  // The batched GEMMs' operands as device arrays of device pointers: per
  // run, gate_up's weights, inputs and outputs (one array each, an entry per
  // MLP), then down's.
  std::vector<void*> pointers;  // cuBLAS takes them as void* const*
  for (const MlpRun& run : plan.runs) {
    const int64_t count = run.count();
    for (int64_t k = 0; k < count; ++k) pointers.push_back(mlps[run.begin + size_t(k)]->gate_up.data());
    for (int64_t k = 0; k < count; ++k) pointers.push_back(gathered + (run.slot + k * run.padded) * hidden);
    for (int64_t k = 0; k < count; ++k) pointers.push_back(gate_up + run.gate_up + k * run.padded * 2 * run.width);
    for (int64_t k = 0; k < count; ++k) pointers.push_back(mlps[run.begin + size_t(k)]->down.data());
    for (int64_t k = 0; k < count; ++k) pointers.push_back(activation + run.activation + k * run.padded * run.width);
    for (int64_t k = 0; k < count; ++k) pointers.push_back(expert_out + (run.slot + k * run.padded) * hidden);
  }
  void** pointer_device = upload(pointers_, pointers.data(), pointers.size());

  cuda::gather_rows_to_half(x, table_device, slots, hidden, gathered, stream_);
  size_t at = 0;
  for (const MlpRun& run : plan.runs) {
    const int64_t count = run.count();
    const int64_t run_slots = count * run.padded;
    // One projection of every MLP of the run: its weights, inputs and
    // outputs are the next three arrays of `count` pointers.
    // A run of one MLP (shared experts wider than the routed ones) takes the
    // plain GEMM: cuBLAS's batched call with one matrix picked a split-K
    // kernel 17x slower for the dense layer's down projection.
    const size_t host = at;
    auto batched = [&](int64_t in, int64_t out_width) {
      void* const* base = pointer_device + at;
      if (count == 1) {
        const bool first = at == host;
        const DeviceMlp& mlp = *mlps[run.begin];
        cuda::matmul_f16_input(cublas_, first ? gathered + run.slot * hidden : activation + run.activation,
                               run.padded, in, first ? mlp.gate_up.as<uint16_t>() : mlp.down.as<uint16_t>(),
                               cuda::WeightLayout::out_in, out_width,
                               first ? gate_up + run.gate_up : expert_out + run.slot * hidden, nullptr, stream_);
      } else {
        cuda::matmul_f16_input_batched(cublas_, reinterpret_cast<const uint16_t* const*>(base + count), run.padded,
                                       in, reinterpret_cast<const uint16_t* const*>(base), out_width,
                                       reinterpret_cast<float* const*>(base + 2 * count), count, stream_);
      }
      at += static_cast<size_t>(3 * count);
    };
    batched(hidden, 2 * run.width);
    cuda::silu_mul_halves_to_half(gate_up + run.gate_up, run_slots, run.width, activation + run.activation, stream_);
    batched(run.width, hidden);
  }
  cuda::add_weighted_rows(out, rows, hidden, expert_out, table_device + slots, weight_device, plan.per_row, stream_);
}

void CudaDecoder::feed_forward(size_t layer_index, int64_t rows) {
  const DeviceLayer& layer = layers_[layer_index];
  const int64_t hidden = config_.hidden_size;
  float* normed = normed_.as<float>();
  cuda::rms_norm(hidden_.as<float>(), rows, hidden, layer.post_attention_norm.as<float>(),
                 static_cast<float>(config_.rms_norm_eps), normed, stream_);
  float* out = hidden_.as<float>();  // residual: the MLPs add into the hidden rows
  if (!layer.moe) {
    dense_mlp(layer.dense, normed, rows);
    return;
  }
  if (layer.device_routing && rows <= device_routing_max_rows_) {
    routed_on_device(layer, normed, rows, out);
    return;
  }
  std::vector<int32_t> all_rows(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) all_rows[static_cast<size_t>(r)] = static_cast<int32_t>(r);
  const std::vector<float> ones(static_cast<size_t>(rows), 1.0f);
  std::vector<const DeviceMlp*> mlps;
  std::vector<MlpAssignment> assignments;
  const int64_t experts = config_.n_routed_experts;
  float* logits = scratch(router_, rows * experts);
  linear(layer.router, normed, rows, logits);
  const size_t router_bytes = static_cast<size_t>(rows * experts) * sizeof(float);
  if (host_router_.size() < router_bytes)
    host_router_ = cuda::PinnedHostBuffer(router_bytes, "deepseek-ocr router logits");
  host_router_.copy_from_device_async(logits, router_bytes, 0, stream_);
  cuda::synchronize(stream_);  // the step's one wait per MoE layer: routing is on the host
  const Routing routing = route_from_logits(config_, host_router_.as<float>(), rows);
  std::vector<MlpAssignment> routed(static_cast<size_t>(experts));
  for (int64_t r = 0; r < rows; ++r) {
    for (uint32_t j = 0; j < routing.experts_per_row; ++j) {
      const size_t at = static_cast<size_t>(r * routing.experts_per_row + j);
      MlpAssignment& expert = routed[static_cast<size_t>(routing.expert[at])];
      expert.rows.push_back(static_cast<int32_t>(r));
      expert.weights.push_back(routing.weight[at]);
    }
  }
  for (int64_t e = 0; e < experts; ++e) {
    MlpAssignment& expert = routed[static_cast<size_t>(e)];
    if (expert.rows.empty()) continue;
    expert.width = layer.experts[static_cast<size_t>(e)].width;
    mlps.push_back(&layer.experts[static_cast<size_t>(e)]);
    assignments.push_back(std::move(expert));
  }
  for (const DeviceMlp& shared : layer.shared) {
    mlps.push_back(&shared);
    assignments.push_back(MlpAssignment{shared.width, all_rows, ones});
  }
  run_mlps(mlps, assignments, normed, rows, out);
}

void CudaDecoder::dense_mlp(const DeviceMlp& mlp, const float* normed, int64_t rows) {
  const int64_t hidden = config_.hidden_size;
  auto* x = static_cast<uint16_t*>(scratch_bytes(normed_half_, size_t(rows * hidden) * sizeof(uint16_t)));
  cuda::float_to_half(normed, x, rows * hidden, stream_);
  float* gate_up = scratch(gate_up_, rows * 2 * mlp.width);
  cuda::matmul_f16_input(cublas_, x, rows, hidden, mlp.gate_up.as<uint16_t>(), cuda::WeightLayout::out_in,
                         2 * mlp.width, gate_up, nullptr, stream_);
  auto* activation = static_cast<uint16_t*>(scratch_bytes(activation_, size_t(rows * mlp.width) * sizeof(uint16_t)));
  cuda::silu_mul_halves_to_half(gate_up, rows, mlp.width, activation, stream_);
  float* proj = scratch(proj_, rows * hidden);
  cuda::matmul_f16_input(cublas_, activation, rows, mlp.width, mlp.down.as<uint16_t>(), cuda::WeightLayout::out_in,
                         hidden, proj, nullptr, stream_);
  cuda::add_in_place(hidden_.as<float>(), proj, rows * hidden, stream_);
}

void CudaDecoder::routed_on_device(const DeviceLayer& layer, const float* normed, int64_t rows, float* out) {
  const int64_t hidden = config_.hidden_size, width = config_.moe_intermediate_size;
  const int experts = static_cast<int>(layer.experts.size()), k = static_cast<int>(config_.experts_per_token);
  const int shared = static_cast<int>(layer.shared.size());
  const int64_t groups = experts + shared, per_row = k + shared, slots = rows * per_row;
  float* logits = scratch(router_, rows * experts);
  linear(layer.router, normed, rows, logits);
  auto* chosen = static_cast<int32_t*>(scratch_bytes(routed_experts_, size_t(rows * k) * sizeof(int32_t)));
  float* chosen_weights = scratch(routed_weights_, rows * k);
  cuda::route_top_k(logits, rows, experts, k, config_.norm_topk_prob, static_cast<float>(config_.routed_scaling_factor),
                    chosen, chosen_weights, stream_);
  // slots_: the group offsets (groups + 1), then each slot's row, then each
  // row's slots.
  auto* offsets = static_cast<int32_t*>(scratch_bytes(slots_, size_t(groups + 1 + 2 * slots) * sizeof(int32_t)));
  int32_t* slot_rows = offsets + groups + 1;
  int32_t* row_slots = slot_rows + slots;
  float* row_weights = scratch(slot_weights_, slots);
  cuda::plan_expert_slots(chosen, chosen_weights, rows, k, experts, shared, offsets, slot_rows, row_slots, row_weights,
                          stream_);
  auto* gathered = static_cast<uint16_t*>(scratch_bytes(gathered_, size_t(slots * hidden) * sizeof(uint16_t)));
  cuda::gather_rows_to_half(normed, slot_rows, slots, hidden, gathered, stream_);
  auto* activation = static_cast<uint16_t*>(scratch_bytes(activation_, size_t(slots * width) * sizeof(uint16_t)));
  cuda::expert_gemm_f16(gathered, hidden, layer.gate_up_pointers.as<const uint16_t* const>(), width, offsets, groups,
                        rows, cuda::ExpertGemmOutput::silu_mul_f16, activation, stream_);
  float* expert_out = scratch(down_, slots * hidden);
  cuda::expert_gemm_f16(activation, width, layer.down_pointers.as<const uint16_t* const>(), hidden, offsets, groups,
                        rows, cuda::ExpertGemmOutput::f32, expert_out, stream_);
  cuda::add_weighted_rows(out, rows, hidden, expert_out, row_slots, row_weights, per_row, stream_);
}

}  // namespace citadel::deepseek_ocr
