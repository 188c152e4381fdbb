// bench_shapes.h: shapes, random weights, outputs, timer, copy roofline.
#include "bench_shapes.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/int4_gemv.h"
#include "runtime/cuda/int4_gemv_ring.h"
#include "runtime/cuda/int4_gemv_tc.h"
#include "runtime/cuda/random_fill.h"
#include "runtime/kernels/gptq.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace citadel::bench {

using namespace runtime::cuda;

namespace {

constexpr size_t kRotationBytes = size_t{256} << 20;
constexpr int kCallsPerRun = 10;
constexpr int kRuns = 21;
constexpr int64_t kGroupSize = 128;

using Fusion = GptqLinearCuda::Fusion;
using Kind = LinearEpilogue::Kind;

// One layer's random GPTQ tensors on the host.
struct HostGptq {
  std::vector<int32_t> qweight, qzeros;
  std::vector<uint16_t> scales;
  runtime::GptqTensors tensors;
};

HostGptq random_gptq(int64_t in, int64_t out, std::mt19937& rng) {
  HostGptq layer;
  std::uniform_int_distribution<uint32_t> word(0, 0xffffffffu);
  const int64_t groups = in / kGroupSize;
  layer.qweight.resize(static_cast<size_t>(in / 8 * out));
  for (auto& w : layer.qweight) w = static_cast<int32_t>(word(rng));
  layer.qzeros.resize(static_cast<size_t>(groups * out / 8));
  for (auto& z : layer.qzeros) z = static_cast<int32_t>(word(rng));
  layer.scales.resize(static_cast<size_t>(groups * out));
  for (auto& s : layer.scales) s = static_cast<uint16_t>(0x1C00 + (word(rng) & 0x3FF));  // f16 in [2^-8, 2^-7)
  runtime::GptqTensors& t = layer.tensors;
  t.bits = 4;
  t.in_features = in;
  t.out_features = out;
  t.group_size = kGroupSize;
  t.qweight = layer.qweight.data();
  t.qzeros = layer.qzeros.data();
  t.scales = layer.scales.data();
  return layer;
}

int copies_for(size_t bytes) { return static_cast<int>(std::max<size_t>(1, (kRotationBytes + bytes - 1) / bytes)); }

}  // namespace

int64_t LinearShape::columns() const { return std::accumulate(parts.begin(), parts.end(), int64_t{0}); }

std::vector<ModelShapes> model_shapes() {
  auto shapes = [](int64_t hidden, int64_t q, int64_t kv, int64_t ffn) {
    return std::vector<LinearShape>{
        {"qkv", hidden, {q, kv, kv}, Fusion::concat, Kind::store},
        {"o", q, {hidden}, Fusion::concat, Kind::add},
        {"gate_up", hidden, {ffn, ffn}, Fusion::gate_up, Kind::silu_mul},
        {"down", ffn, {hidden}, Fusion::concat, Kind::add},
    };
  };
  return {{"TinyLlama", 22, 2048, 32000, shapes(2048, 2048, 256, 5632)},
          {"Llama-3-8B", 32, 4096, 128256, shapes(4096, 4096, 1024, 14336)}};
}

double time_calls(const std::function<void(int)>& call, int copies) {
  cudaEvent_t start, stop;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  int next = 0;
  for (int i = 0; i < 3; ++i) call(next++ % copies);
  std::vector<double> samples;
  for (int run = 0; run < kRuns; ++run) {
    check_cuda(cudaEventRecord(start), "cudaEventRecord");
    for (int i = 0; i < kCallsPerRun; ++i) call(next++ % copies);
    check_cuda(cudaEventRecord(stop), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    samples.push_back(1000.0 * ms / kCallsPerRun);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

namespace {
bool graph_timing = false;
}  // namespace

void set_graph_timing(bool on) { graph_timing = on; }

double time_calls_on(const std::function<void(int, void*)>& call, int copies) {
  if (!graph_timing) return time_calls([&](int c) { call(c, nullptr); }, copies);
  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  for (int i = 0; i < 3; ++i) call(i % copies, stream);  // lazy set-up (attributes, workspaces) outside the capture
  check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  const int calls = std::max(kCallsPerRun, copies);  // every copy once per replay: weights come from HBM
  cudaGraph_t graph = nullptr;
  check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), "cudaStreamBeginCapture");
  for (int i = 0; i < calls; ++i) call(i % copies, stream);
  check_cuda(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
  cudaGraphExec_t exec = nullptr;
  check_cuda(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
  cudaEvent_t start, stop;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  check_cuda(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");  // warm
  std::vector<double> samples;
  for (int run = 0; run < kRuns; ++run) {
    check_cuda(cudaEventRecord(start, stream), "cudaEventRecord");
    check_cuda(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
    check_cuda(cudaEventRecord(stop, stream), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    samples.push_back(1000.0 * ms / calls);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

double measure_copy_bandwidth() {
  const size_t bytes = size_t{1} << 30;
  DeviceBuffer a(bytes), b(bytes);
  fill_random_words(a.as<uint32_t>(), static_cast<int64_t>(bytes / 4), 99, nullptr);
  const double us = time_calls(
      [&](int) { check_cuda(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy"); }, 1);
  return 2.0 * static_cast<double>(bytes) / (us * 1e-6);
}

RandomInt4Linear::RandomInt4Linear(const LinearShape& shape) {
  std::mt19937 rng(static_cast<uint32_t>(shape.in * 31 + shape.columns()));
  std::vector<HostGptq> parts;
  for (int64_t out : shape.parts) parts.push_back(random_gptq(shape.in, out, rng));
  std::vector<const runtime::GptqTensors*> tensors;
  for (const HostGptq& part : parts) tensors.push_back(&part.tensors);
  const std::vector<const float*> biases(parts.size(), nullptr);
  auto make = [&] {
    if (parts.size() == 1) return std::make_unique<GptqLinearCuda>(parts[0].tensors, shape.name);
    return std::make_unique<GptqLinearCuda>(tensors, biases, shape.fusion, shape.name);
  };
  copies_.push_back(make());
  const int copies = copies_for(weight_bytes());
  while (static_cast<int>(copies_.size()) < copies) copies_.push_back(make());
}

size_t RandomInt4Linear::weight_bytes() const { return copies_.front()->device_bytes(); }

void RandomInt4Linear::gemv(int i, CublasContext& context, const float* x, int64_t m,
                            const LinearEpilogue& epilogue, void* stream) const {
  const Int4TiledWeights& w = copy(i).tiled_weights();
  const Int4GemvScratchSize size = int4_gemv_scratch_size(w, m);
  int4_gemv(w, x, m, nullptr, epilogue, context.gemv_partials(size.partial_floats), context.gemv_counters(size.counters),
            stream);
}

void RandomInt4Linear::tc(int i, const float* x, int64_t m, const LinearEpilogue& epilogue, void* stream) const {
  int4_gemv_tc(copy(i).tiled_weights(), x, m, nullptr, epilogue, stream);
}

void RandomInt4Linear::ring(int i, const float* x, int64_t m, const LinearEpilogue& epilogue, void* stream) const {
  int4_gemv_ring(copy(i).tiled_weights(), x, m, nullptr, epilogue, stream);
}

void RandomInt4Linear::mma(int i, CublasContext& context, const float* x, int64_t m, const LinearEpilogue& epilogue,
                           Int4MmaActivations activations, void* stream) const {
  const Int4TiledWeights& w = copy(i).tiled_weights();
  int4_mma(w, x, m, nullptr, epilogue, context.activation_scratch(int4_mma_scratch_halves(w, activations)), stream,
           activations);
}

double RandomInt4Linear::tc_difference(CublasContext& context, const float* x, int64_t m, bool ring) const {
  return difference(context, x, m, [&](const GptqLinearCuda& layer, float* y) {
    const Int4TiledWeights& w = layer.tiled_weights();
    if (ring) {
      int4_gemv_ring(w, x, m, nullptr, LinearEpilogue::single(y, w.columns), nullptr);
    } else {
      int4_gemv_tc(w, x, m, nullptr, LinearEpilogue::single(y, w.columns), nullptr);
    }
  });
}

double RandomInt4Linear::difference(CublasContext& context, const float* x, int64_t m,
                                    const std::function<void(const GptqLinearCuda&, float*)>& run) const {
  const Int4TiledWeights& w = copy(0).tiled_weights();
  const size_t count = static_cast<size_t>(m * w.columns);
  DeviceBuffer reference(count * 4), result(count * 4);
  const Int4GemvScratchSize size = int4_gemv_scratch_size(w, m);
  int4_gemv(w, x, m, nullptr, LinearEpilogue::single(reference.as<float>(), w.columns),
            context.gemv_partials(size.partial_floats), context.gemv_counters(size.counters), nullptr);
  run(copy(0), result.as<float>());
  const std::vector<float> a = reference.to_vector<float>(count), b = result.to_vector<float>(count);
  double largest = 0.0, difference = 0.0;
  for (size_t i = 0; i < count; ++i) {
    largest = std::max(largest, static_cast<double>(std::abs(a[i])));
    difference = std::max(difference, static_cast<double>(std::abs(a[i] - b[i])));
  }
  return largest > 0.0 ? difference / largest : difference;
}

LinearOutputs::LinearOutputs(const LinearShape& shape, int64_t rows) {
  epilogue_.kind = shape.epilogue;
  if (shape.epilogue == Kind::silu_mul) {
    columns_written_ = shape.columns() / 2;
    buffers_.emplace_back(static_cast<size_t>(rows * columns_written_) * 4);
    epilogue_.segment_begin[1] = shape.columns();
    epilogue_.out[0] = buffers_.back().as<float>();
    return;
  }
  columns_written_ = shape.columns();
  epilogue_.segments = static_cast<int32_t>(shape.parts.size());
  int64_t begin = 0;
  for (size_t s = 0; s < shape.parts.size(); ++s) {
    buffers_.emplace_back(static_cast<size_t>(rows * shape.parts[s]) * 4);
    fill_uniform_f32(buffers_.back().as<float>(), rows * shape.parts[s], -1.0f, 1.0f, 7 + s, nullptr);
    epilogue_.segment_begin[s] = begin;
    epilogue_.out[s] = buffers_.back().as<float>();
    begin += shape.parts[s];
  }
  epilogue_.segment_begin[shape.parts.size()] = begin;
}

F16Weights::F16Weights(int64_t in, int64_t columns)
    : bytes_(static_cast<size_t>(in * columns) * 2), copies_(copies_for(bytes_)), storage_(bytes_ * copies_) {
  fill_uniform_f16(storage_.as<uint16_t>(), static_cast<int64_t>(bytes_ / 2 * copies_), -0.05f, 0.05f, 5, nullptr);
}

const uint16_t* F16Weights::copy(int i) const {
  return reinterpret_cast<const uint16_t*>(storage_.as<char>() + bytes_ * static_cast<size_t>(i));
}

}  // namespace citadel::bench
