// Benchmark of the CUDA kernels of a decode step at real model shapes
// (TinyLlama-1.1B, Llama-3-8B), each beside its roofline and beside cuBLAS
// f16 on the same shape:
//   - the int4 linear layers as llm-gptq runs them (q/k/v fused, gate/up
//     fused with SiLU·mul, o/down adding into the residual; random int4 g128
//     weights in the tiled layout): GptqLinearCuda::forward (on Hopper the
//     tensor-core GEMV up to 16 rows, the tensor-core GEMM up to 24, the
//     GEMM with f16 activations up to --mma-f16-rows (default 64),
//     dequantize + cuBLAS above), the f32 tiled GEMV alone up to 16 rows
//     (and how far the tensor-core GEMV's result is from it), the GEMM
//     both ways and dequantize + cuBLAS alone (each with its
//     distance from the f32 GEMV), and cuBLAS f16 on an f16 weight of the
//     same shape;
//   - the fp16 lm_head through cuBLAS;
//   - flash-decoding attention over an f16 paged KV cache (Llama-3-8B heads)
//     at batch 16, contexts 512 / 8k / 32k, and at batch 64, context 512,
//     the CUDA-core kernel and the tensor-core kernel side by side.
// Roofline = bytes the call must move (weights once, x, y; KV once) / the
// device-to-device copy bandwidth measured in this run (read + write).
// Timing: CUDA events around runs of 10 calls, median of 21 runs after
// warm-up; weights rotate over copies (>= 256 MB) so each call reads HBM,
// not L2. Prints; never asserts. Filters (--model, --layer, --batches,
// --no-attention), --tc-plan (the tensor-core GEMV's grid, PDL and pass
// size), --mma-plan (the int4 GEMM's least stages per split of the inputs,
// the blocks per SM its splits aim at, 0 for the occupancy, and its largest
// split count, up to 8)
// and --ring-plan (whether forward takes the ring GEMV at 1..4 rows,
// its largest cluster, blocks per SM, ring slots per warp) select what runs, e.g.
// for one kernel under ncu. At 1..4 rows both Hopper GEMVs are also timed
// alone ("int4 tc regs": int4_gemv_tc, "int4 tc ring": int4_gemv_ring).
// --graph times the linear layers' calls captured as one CUDA graph (as
// the decode step runs them) instead of separate launches, whose host cost
// is a floor of 5-8 us per call on small layers. --split-sweep times the
// tensor-core attention at other split counts of the positions too (and
// batch 1 at context 32k). The attention calls do not rotate copies: at
// batch 16, context 512 (32 MB of KV) the cache stays in L2.
#include "bench_shapes.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/flash_decode.h"
#include "runtime/cuda/int4_gemv_ring.h"
#include "runtime/cuda/int4_gemv_tc.h"
#include "runtime/cuda/int4_mma.h"
#include "runtime/cuda/int4_wgmma.h"
#include "runtime/cuda/random_fill.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

using namespace citadel::runtime::cuda;
using namespace citadel::bench;

namespace {

void print_row(const char* model, const char* layer, int64_t in, int64_t cols, int64_t m, const char* path,
               double us, double bytes, double copy_bandwidth) {
  const double roofline_us = bytes / copy_bandwidth * 1e6;
  std::printf("%-10s %-8s %6lld x %-6lld m=%-3lld %-15s %9.2f us %7.0f GB/s  roofline %8.2f us (%5.1f%%)\n", model,
              layer, static_cast<long long>(in), static_cast<long long>(cols), static_cast<long long>(m), path, us,
              bytes / us * 1e-3, roofline_us, 100.0 * roofline_us / us);
}

struct StepTotals {
  std::vector<double> int4_us, f16_us, roofline_us;
};

// Past the GEMV's rows: int4_mma f32-exact (x = hi + lo, passes of 32) and
// with f16 activations (passes of 64) on mma.sync and, on sm_90a, on wgmma
// (int4_wgmma.h), and past the exact rows forward's
// dequantize + cuBLAS path, each with its distance from the f32 GEMV.
void bench_gemm_paths(const char* model, const LinearShape& shape, const RandomInt4Linear& linear, const float* x,
                      int64_t m, const LinearEpilogue& epilogue, double bytes, double copy_bandwidth,
                      CublasContext& context) {
  struct Path {
    const char* label;
    Int4MmaActivations activations;
    bool wgmma;
  };
  const bool chosen_wgmma = int4_mma_wgmma();
  for (const Path path : {Path{"int4 mma exact", Int4MmaActivations::f32_exact, false},
                          Path{"int4 wgmma exact", Int4MmaActivations::f32_exact, true},
                          Path{"int4 mma f16", Int4MmaActivations::f16, false},
                          Path{"int4 wgmma f16", Int4MmaActivations::f16, true}}) {
    if (path.wgmma && !int4_wgmma_available()) continue;
    int4_mma_set_wgmma(path.wgmma);
    const double us = time_calls_on(
        [&](int c, void* s) { linear.mma(c, context, x, m, epilogue, path.activations, s); }, linear.copies());
    print_row(model, shape.name, shape.in, shape.columns(), m, path.label, us, bytes, copy_bandwidth);
    std::printf("%-10s %-8s m=%-3lld %s vs f32 GEMV: max |difference| / max |y| = %.2e\n", model, shape.name,
                static_cast<long long>(m), path.label,
                linear.difference(context, x, m, [&](const GptqLinearCuda& layer, float* y) {
                  int4_mma(layer.tiled_weights(), x, m, nullptr, LinearEpilogue::single(y, layer.columns()),
                           context.activation_scratch(int4_mma_scratch_halves(layer.tiled_weights(), path.activations)),
                           nullptr, path.activations);
                }));
  }
  int4_mma_set_wgmma(chosen_wgmma);
  if (m <= GptqLinearCuda::kTensorCoreMaxRows) return;  // forward() takes the f32-exact GEMM there
  const int64_t chosen = GptqLinearCuda::int4_mma_f16_max_rows();
  GptqLinearCuda::set_int4_mma_f16_max_rows(0);  // forward() now dequantizes and calls cuBLAS past 24 rows
  const double cublas_us = time_calls_on(
      [&](int c, void* s) { linear.copy(c).forward(context, x, m, epilogue, s); }, linear.copies());
  print_row(model, shape.name, shape.in, shape.columns(), m, "dequant+cublas", cublas_us, bytes, copy_bandwidth);
  std::printf("%-10s %-8s m=%-3lld dequant+cublas vs f32 GEMV: max |difference| / max |y| = %.2e\n", model,
              shape.name, static_cast<long long>(m),
              linear.difference(context, x, m, [&](const GptqLinearCuda& layer, float* y) {
                layer.forward(context, x, m, y, nullptr, nullptr);
              }));
  GptqLinearCuda::set_int4_mma_f16_max_rows(chosen);
}

void bench_linear(const char* model, int64_t layers, const LinearShape& shape, const std::vector<int64_t>& batches,
                  double copy_bandwidth, CublasContext& context, StepTotals& totals) {
  RandomInt4Linear linear(shape);
  const int64_t max_m = *std::max_element(batches.begin(), batches.end());
  DeviceBuffer x(static_cast<size_t>(max_m * shape.in) * 4);
  fill_uniform_f32(x.as<float>(), max_m * shape.in, -1.0f, 1.0f, 4, nullptr);
  LinearOutputs outputs(shape, max_m);
  F16Weights f16(shape.in, shape.columns());
  DeviceBuffer y16(static_cast<size_t>(max_m * shape.columns()) * 4);
  for (size_t b = 0; b < batches.size(); ++b) {
    const int64_t m = batches[b];
    const double bytes = static_cast<double>(linear.weight_bytes()) + static_cast<double>(m * shape.in * 4) +
                         static_cast<double>(m * outputs.columns_written() * 4);
    const LinearEpilogue epilogue = outputs.epilogue();
    const double forward_us = time_calls_on(
        [&](int c, void* s) { linear.copy(c).forward(context, x.as<float>(), m, epilogue, s); }, linear.copies());
    print_row(model, shape.name, shape.in, shape.columns(), m, "int4 forward", forward_us, bytes, copy_bandwidth);
    if (m <= GptqLinearCuda::kTensorCoreGemvMaxRows) {
      const double gemv_us = time_calls_on(
          [&](int c, void* s) { linear.gemv(c, context, x.as<float>(), m, epilogue, s); }, linear.copies());
      print_row(model, shape.name, shape.in, shape.columns(), m, "int4 gemv f32", gemv_us, bytes, copy_bandwidth);
      std::printf("%-10s %-8s m=%-3lld tensor-core GEMV vs f32 GEMV: max |difference| / max |y| = %.2e\n", model,
                  shape.name, static_cast<long long>(m), linear.tc_difference(context, x.as<float>(), m));
    }
    if (m <= kInt4GemvRingMaxRows) {  // both Hopper GEMVs alone: the ring and the register-direct one
      const double tc_us =
          time_calls_on([&](int c, void* s) { linear.tc(c, x.as<float>(), m, epilogue, s); }, linear.copies());
      print_row(model, shape.name, shape.in, shape.columns(), m, "int4 tc regs", tc_us, bytes, copy_bandwidth);
      try {
        const Int4GemvRingPlan plan = int4_gemv_ring_plan(linear.copy(0).tiled_weights(), m);
        const double ring_us =
            time_calls_on([&](int c, void* s) { linear.ring(c, x.as<float>(), m, epilogue, s); }, linear.copies());
        print_row(model, shape.name, shape.in, shape.columns(), m, "int4 tc ring", ring_us, bytes, copy_bandwidth);
        std::printf("%-10s %-8s m=%-3lld ring plan: cluster %d, %d slots per warp, %zu B shared; vs f32 GEMV: max "
                    "|difference| / max |y| = %.2e\n",
                    model, shape.name, static_cast<long long>(m), plan.cluster, plan.stages, plan.shared_bytes,
                    linear.tc_difference(context, x.as<float>(), m, true));
      } catch (const std::exception& error) {
        std::printf("%-10s %-8s m=%-3lld int4 tc ring failed: %s\n", model, shape.name, static_cast<long long>(m),
                    error.what());
      }
    }
    {  // the tensor-core GEMM both ways, and dequantize + cuBLAS (beside the GEMVs up to 16 rows)
      bench_gemm_paths(model, shape, linear, x.as<float>(), m, epilogue, bytes, copy_bandwidth, context);
    }
    const double f16_bytes = static_cast<double>(shape.in * shape.columns() * 2) +
                             static_cast<double>(m * (shape.in + shape.columns()) * 4);
    const double f16_us = time_calls_on(
        [&](int c, void* s) {
          matmul_f16(context, x.as<float>(), m, shape.in, f16.copy(c), WeightLayout::out_in, shape.columns(),
                     y16.as<float>(), nullptr, s);
        },
        f16.copies());
    print_row(model, shape.name, shape.in, shape.columns(), m, "cublas f16", f16_us, f16_bytes, copy_bandwidth);
    totals.int4_us[b] += forward_us * static_cast<double>(layers);
    totals.f16_us[b] += f16_us * static_cast<double>(layers);
    totals.roofline_us[b] += bytes / copy_bandwidth * 1e6 * static_cast<double>(layers);
  }
}

void bench_lm_head(const char* model, int64_t in, int64_t vocab, const std::vector<int64_t>& batches,
                   double copy_bandwidth, CublasContext& context, StepTotals& totals) {
  F16Weights weight(in, vocab);
  const int64_t max_m = *std::max_element(batches.begin(), batches.end());
  DeviceBuffer x(static_cast<size_t>(max_m * in) * 4), y(static_cast<size_t>(max_m * vocab) * 4);
  fill_uniform_f32(x.as<float>(), max_m * in, -1.0f, 1.0f, 6, nullptr);
  for (size_t b = 0; b < batches.size(); ++b) {
    const int64_t m = batches[b];
    const double bytes = static_cast<double>(in * vocab * 2) + static_cast<double>(m * (in + vocab) * 4);
    const double us = time_calls(
        [&](int c) {
          matmul_f16(context, x.as<float>(), m, in, weight.copy(c), WeightLayout::out_in, vocab, y.as<float>(),
                     nullptr, nullptr);
        },
        weight.copies());
    print_row(model, "lm_head", in, vocab, m, "cublas f16", us, bytes, copy_bandwidth);
    totals.int4_us[b] += us;
    totals.f16_us[b] += us;
    totals.roofline_us[b] += bytes / copy_bandwidth * 1e6;
  }
}

// One layer of Llama-3-8B attention (8 KV heads, 32 query heads, head_dim
// 128) over an f16 paged cache, every row at the full context; with
// `split_sweep` the tensor-core kernel also at other split counts.
void bench_attention(int64_t rows, int64_t context, double copy_bandwidth, bool split_sweep) {
  const int64_t kv_heads = 8, heads = 32, head_dim = 128, tokens = 16;
  const int64_t blocks_per_row = (context + tokens - 1) / tokens;
  const size_t block_bytes = static_cast<size_t>(2 * tokens * kv_heads * head_dim * 2);
  DeviceBuffer cache(static_cast<size_t>(rows * blocks_per_row) * block_bytes);
  fill_uniform_f16(cache.as<uint16_t>(), static_cast<int64_t>(cache.size() / 2), -1.0f, 1.0f, 9, nullptr);
  std::vector<void*> tables;
  for (int64_t b = 0; b < rows * blocks_per_row; ++b) tables.push_back(cache.as<char>() + b * block_bytes);
  const std::vector<int32_t> lengths(static_cast<size_t>(rows), static_cast<int32_t>(context));
  DeviceBuffer table_device = DeviceBuffer::from_vector(tables), length_device = DeviceBuffer::from_vector(lengths);
  DeviceBuffer q(static_cast<size_t>(rows * heads * head_dim) * 4), out(q.size());
  fill_uniform_f32(q.as<float>(), rows * heads * head_dim, -1.0f, 1.0f, 10, nullptr);
  // Each kernel at the split count flash_decode_splits gives it.
  set_flash_decode_tensor_cores(false);
  const int64_t lane_splits = flash_decode_splits(rows, kv_heads, head_dim, blocks_per_row * tokens);
  set_flash_decode_tensor_cores(true);
  const int64_t splits = flash_decode_splits(rows, kv_heads, head_dim, blocks_per_row * tokens);
  const std::vector<int64_t> sweep = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32};
  const int64_t most_splits = std::max({lane_splits, splits, split_sweep ? int64_t{32} : int64_t{1}});
  DeviceBuffer scratch(std::max<size_t>(16, 4 * flash_decode_scratch_floats(rows, heads, head_dim, most_splits)));
  citadel::runtime::KvBlockView layout;
  layout.tokens_per_block = tokens;
  layout.num_kv_heads = kv_heads;
  layout.head_dim = head_dim;
  layout.dtype = citadel::runtime::DType::f16;
  layout.k_offset = 0;
  layout.v_offset = block_bytes / 2;
  const double bytes = static_cast<double>(rows * context) * static_cast<double>(block_bytes / tokens);
  const auto run = [&](bool tensor_cores, int64_t split_count) {
    set_flash_decode_tensor_cores(tensor_cores);
    const double us = time_calls(
        [&](int) {
          flash_decode(q.as<float>(), rows, heads, layout, table_device.as<void*>(), blocks_per_row,
                       length_device.as<int32_t>(), blocks_per_row * tokens, split_count, 0.088f, scratch.as<float>(),
                       out.as<float>(), nullptr);
        },
        1);
    std::printf("Llama-3-8B attention  batch %-3lld context %-6lld splits %-3lld %-12s %9.2f us %7.0f GB/s of KV  "
                "roofline %8.2f us (%5.1f%%)\n",
                static_cast<long long>(rows), static_cast<long long>(context), static_cast<long long>(split_count),
                tensor_cores ? "tensor cores" : "cuda cores", us, bytes / us * 1e-3, bytes / copy_bandwidth * 1e6,
                100.0 * bytes / copy_bandwidth * 1e6 / us);
  };
  run(false, lane_splits);
  run(true, splits);
  if (split_sweep) {
    for (const int64_t split_count : sweep) {
      if (split_count != splits && split_count * 64 <= context) run(true, split_count);
    }
  }
  set_flash_decode_tensor_cores(true);
}

// Optional filters: --model NAME, --layer NAME, --batches 1,16, --no-attention
// (to profile one kernel with ncu).
struct Filters {
  std::string model, layer;
  std::vector<int64_t> batches = {1, 2, 4, 8, 16, 32, 64, 128};
  bool attention = true;
  bool split_sweep = false;  // --split-sweep: attention at other split counts too
};

Filters parse(int argc, char** argv) {
  Filters f;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--model" && i + 1 < argc) {
      f.model = argv[++i];
    } else if (arg == "--layer" && i + 1 < argc) {
      f.layer = argv[++i];
    } else if (arg == "--batches" && i + 1 < argc) {
      f.batches.clear();
      for (const char* p = argv[++i]; *p != '\0';) {
        char* end = nullptr;
        f.batches.push_back(std::strtoll(p, &end, 10));
        p = *end == ',' ? end + 1 : end;
      }
    } else if (arg == "--tc-plan" && i + 4 < argc) {  // blocks per SM, largest cluster, PDL 0/1, rows per pass
      const int blocks = std::atoi(argv[++i]);
      const int cluster = std::atoi(argv[++i]);
      const bool dependent = std::atoi(argv[++i]) != 0;
      int4_gemv_tc_tuning(blocks, cluster, dependent, std::atoi(argv[++i]));
    } else if (arg == "--ring-plan" && i + 4 < argc) {  // dispatch 0/1, largest cluster, blocks per SM, slots
      set_int4_gemv_ring_dispatch(std::atoi(argv[++i]) != 0);
      const int cluster = std::atoi(argv[++i]);
      const int blocks = std::atoi(argv[++i]);
      int4_gemv_ring_tuning(cluster, blocks, std::atoi(argv[++i]));
    } else if (arg == "--mma-plan" && i + 3 < argc) {  // int4 GEMM: least stages per split, blocks per SM,
      const int stages = std::atoi(argv[++i]);           // largest split count
      const int blocks = std::atoi(argv[++i]);
      int4_mma_tuning(stages, blocks, std::atoi(argv[++i]));
    } else if (arg == "--mma-f16-rows" && i + 1 < argc) {  // forward's int4 GEMM with f16 activations up to N rows
      GptqLinearCuda::set_int4_mma_f16_max_rows(std::atoll(argv[++i]));
    } else if (arg == "--wgmma") {  // forward's int4 GEMM on wgmma on sm_90a (default: mma.sync)
      int4_mma_set_wgmma(true);
    } else if (arg == "--graph") {  // the linear layers timed as CUDA graphs of their calls
      set_graph_timing(true);
    } else if (arg == "--no-attention") {
      f.attention = false;
    } else if (arg == "--split-sweep") {
      f.split_sweep = true;
    } else {
      throw std::runtime_error("usage: bench_cuda_kernels [--model NAME] [--layer NAME] [--batches 1,16] "
                               "[--tc-plan BLOCKS CLUSTER PDL PASS_ROWS] [--ring-plan DISPATCH CLUSTER BLOCKS SLOTS] [--mma-plan MIN_STAGES BLOCKS_PER_SM MAX_SPLITS] [--mma-f16-rows N] [--wgmma] [--graph] [--no-attention] [--split-sweep] (unknown argument '" + arg + "')");
    }
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Filters filters = parse(argc, argv);
    if (!device_available()) {
      std::printf("bench_cuda_kernels: no CUDA device\n");
      return 0;
    }
    const double copy_bandwidth = measure_copy_bandwidth();
    std::printf("device: %s; device-to-device copy: %.2f TB/s (read + write): the roofline below\n\n",
                device_name().c_str(), copy_bandwidth / 1e12);
    const std::vector<int64_t>& batches = filters.batches;
    CublasContext context;
    for (const ModelShapes& model : model_shapes()) {
      if (!filters.model.empty() && filters.model != model.name) continue;
      StepTotals totals{std::vector<double>(batches.size()), std::vector<double>(batches.size()),
                        std::vector<double>(batches.size())};
      for (const LinearShape& shape : model.linears) {
        if (!filters.layer.empty() && filters.layer != shape.name) continue;
        bench_linear(model.name, model.layers, shape, batches, copy_bandwidth, context, totals);
      }
      if (filters.layer.empty() || filters.layer == "lm_head") bench_lm_head(model.name, model.hidden, model.vocab, batches, copy_bandwidth, context, totals);
      for (size_t b = 0; b < batches.size(); ++b) {
        const double m = static_cast<double>(batches[b]);
        std::printf("%-10s linear layers of a decode step, batch %-3lld: int4 %8.1f us (%7.0f tok/s)  cublas f16 "
                    "%8.1f us (%7.0f tok/s)  int4 roofline %8.1f us (%7.0f tok/s)\n",
                    model.name, static_cast<long long>(batches[b]), totals.int4_us[b], m * 1e6 / totals.int4_us[b],
                    totals.f16_us[b], m * 1e6 / totals.f16_us[b], totals.roofline_us[b],
                    m * 1e6 / totals.roofline_us[b]);
      }
      std::printf("\n");
    }
    if (filters.attention) {
      if (filters.split_sweep) {
        bench_attention(1, 32768, copy_bandwidth, true);
      }
      for (int64_t context_length : {512, 8192, 32768}) {
        bench_attention(16, context_length, copy_bandwidth, filters.split_sweep);
      }
      bench_attention(64, 512, copy_bandwidth, filters.split_sweep);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_cuda_kernels: %s\n", error.what());
    return 1;
  }
  return 0;
}
