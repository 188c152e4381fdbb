// bench_shapes.h — what bench_cuda_kernels measures and how: the layer
// shapes of TinyLlama-1.1B and Llama-3-8B as llm-gptq runs them on CUDA
// (fused q/k/v, fused gate/up, o/down with residual add), random int4 and
// f16 weights in enough device copies to defeat L2, the outputs and
// epilogues, the event timer and the copy-bandwidth roofline. Used by
// bench/cuda_kernels/main.cpp only.
#pragma once

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/gptq_linear_cuda.h"
#include "runtime/cuda/int4_mma.h"
#include "runtime/cuda/linear_epilogue.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace citadel::bench {

using runtime::cuda::CublasContext;
using runtime::cuda::DeviceBuffer;
using runtime::cuda::GptqLinearCuda;
using runtime::cuda::LinearEpilogue;

struct LinearShape {
  const char* name;
  int64_t in;
  std::vector<int64_t> parts;  // output widths of the fused parts
  GptqLinearCuda::Fusion fusion;
  LinearEpilogue::Kind epilogue;
  int64_t columns() const;
};

struct ModelShapes {
  const char* name;
  int64_t layers, hidden, vocab;
  std::vector<LinearShape> linears;
};

std::vector<ModelShapes> model_shapes();

// Median microseconds per call of call(copy_index), copies rotated.
double time_calls(const std::function<void(int)>& call, int copies);
// As time_calls with call(copy_index, stream); with set_graph_timing(true)
// the calls (every copy once, at least 10) are captured into one CUDA graph
// on a stream of their own and the graph is timed, as the decode step
// replays its graph: no host launch cost between the kernels.
double time_calls_on(const std::function<void(int, void*)>& call, int copies);
void set_graph_timing(bool on);
// Device-to-device copy bandwidth in bytes/s (read + write).
double measure_copy_bandwidth();

// Random int4 g128 weights of `shape` (one host draw), repacked into as many
// device copies as make >= 256 MB.
class RandomInt4Linear {
 public:
  explicit RandomInt4Linear(const LinearShape& shape);
  int copies() const { return static_cast<int>(copies_.size()); }
  const GptqLinearCuda& copy(int i) const { return *copies_[static_cast<size_t>(i)]; }
  // Bytes one call reads: packed weights, scales, zeros.
  size_t weight_bytes() const;
  // The tiled GEMV alone (passes of 8 rows), whatever m.
  void gemv(int i, CublasContext& context, const float* x, int64_t m, const LinearEpilogue& epilogue,
            void* stream = nullptr) const;
  // The register-direct tensor-core GEMV alone (int4_gemv_tc), whatever m.
  void tc(int i, const float* x, int64_t m, const LinearEpilogue& epilogue, void* stream = nullptr) const;
  // The shared-memory-ring GEMV alone (int4_gemv_ring), whatever m.
  void ring(int i, const float* x, int64_t m, const LinearEpilogue& epilogue, void* stream = nullptr) const;
  // The tensor-core int4 GEMM alone (int4_mma), whatever m.
  void mma(int i, CublasContext& context, const float* x, int64_t m, const LinearEpilogue& epilogue,
           runtime::cuda::Int4MmaActivations activations, void* stream = nullptr) const;
  // max |tensor-core GEMV - f32 GEMV| / max |f32 GEMV| on copy 0, plain
  // store: int4_gemv_tc, or int4_gemv_ring when `ring`.
  double tc_difference(CublasContext& context, const float* x, int64_t m, bool ring = false) const;
  // max |run - f32 GEMV| / max |f32 GEMV| on copy 0, where run(layer, y)
  // writes the plain result of the same x into y.
  double difference(CublasContext& context, const float* x, int64_t m,
                    const std::function<void(const GptqLinearCuda&, float*)>& run) const;

 private:
  std::vector<std::unique_ptr<GptqLinearCuda>> copies_;
};

// The outputs a shape's epilogue writes, for up to `rows` rows.
class LinearOutputs {
 public:
  LinearOutputs(const LinearShape& shape, int64_t rows);
  LinearEpilogue epilogue() const { return epilogue_; }
  // Columns written per row (the SiLU·mul epilogue writes half).
  int64_t columns_written() const { return columns_written_; }

 private:
  std::vector<DeviceBuffer> buffers_;
  LinearEpilogue epilogue_;
  int64_t columns_written_ = 0;
};

// Random f16 weights [columns, in] in as many copies as make >= 256 MB.
class F16Weights {
 public:
  F16Weights(int64_t in, int64_t columns);
  int copies() const { return copies_; }
  const uint16_t* copy(int i) const;

 private:
  size_t bytes_;
  int copies_;
  DeviceBuffer storage_;
};

}  // namespace citadel::bench
