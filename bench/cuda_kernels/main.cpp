// Benchmark of the CUDA linear-layer kernels at real model shapes: int4 GPTQ
// (group 128) through the GEMV kernel and through dequantize + cuBLAS, and
// the fp16 lm_head through cuBLAS, at batch 1, 16 and 64. Timing: CUDA events
// around runs of 10 calls, median of 21 runs after warm-up; weights rotate
// over enough copies (>= 256 MB) that each call reads from HBM, not L2.
// GB/s counts the bytes a call must move: packed weight + zeros + scales (or
// f16 weight) + x + y. Prints; never asserts.
#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/gptq_kernels.h"
#include "runtime/cuda/random_fill.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

using namespace citadel::runtime::cuda;

namespace {

constexpr size_t kRotationBytes = size_t{256} << 20;
constexpr int kCallsPerRun = 10;
constexpr int kRuns = 21;

struct Shape {
  const char* name;
  int64_t in, out;
};

struct Model {
  const char* name;
  int64_t layers;
  std::vector<Shape> linears;  // int4
  Shape lm_head;               // fp16
};

// Median microseconds per call of call(copy_index).
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

int copies_for(size_t bytes) { return static_cast<int>(std::max<size_t>(1, (kRotationBytes + bytes - 1) / bytes)); }

void print_row(const char* model, const char* layer, const Shape& s, int64_t m, const char* path, double us,
               double bytes, double peak) {
  const double gbps = bytes / (us * 1e-6) / 1e9;
  std::printf("%-11s %-8s %6lld x %-6lld  m=%-3lld %-16s %9.2f us %8.1f GB/s", model, layer,
              static_cast<long long>(s.in), static_cast<long long>(s.out), static_cast<long long>(m), path, us, gbps);
  if (peak > 0) std::printf("  %5.1f%% of peak", 100.0 * gbps * 1e9 / peak);
  std::printf("\n");
}

// Times one int4 layer; returns the best per-call time at each batch.
std::vector<double> bench_int4(const Model& model, const Shape& s, const std::vector<int64_t>& batches, double peak,
                               CublasContext& context) {
  const int64_t group_size = 128, groups = s.in / group_size;
  const size_t qweight_bytes = static_cast<size_t>(s.in / 8 * s.out) * 4;
  const size_t qzeros_bytes = static_cast<size_t>(groups * s.out / 8) * 4;
  const size_t scales_bytes = static_cast<size_t>(groups * s.out) * 2;
  const size_t layer_bytes = qweight_bytes + qzeros_bytes + scales_bytes;
  const int copies = copies_for(layer_bytes);
  DeviceBuffer qweight(qweight_bytes * copies), qzeros(qzeros_bytes * copies), scales(scales_bytes * copies);
  fill_random_words(qweight.as<uint32_t>(), static_cast<int64_t>(qweight_bytes / 4 * copies), 1, nullptr);
  fill_random_words(qzeros.as<uint32_t>(), static_cast<int64_t>(qzeros_bytes / 4 * copies), 2, nullptr);
  fill_uniform_f16(scales.as<uint16_t>(), static_cast<int64_t>(scales_bytes / 2 * copies), 0.002f, 0.02f, 3, nullptr);
  const int64_t max_m = *std::max_element(batches.begin(), batches.end());
  DeviceBuffer x(static_cast<size_t>(max_m * s.in) * 4), y(static_cast<size_t>(max_m * s.out) * 4);
  fill_uniform_f32(x.as<float>(), max_m * s.in, -1.0f, 1.0f, 4, nullptr);
  auto weights_of = [&](int copy) {
    GptqDeviceWeights w;
    w.bits = 4;
    w.in_features = s.in;
    w.out_features = s.out;
    w.group_size = group_size;
    w.num_groups = groups;
    w.qweight = reinterpret_cast<const int32_t*>(qweight.as<char>() + qweight_bytes * copy);
    w.qzeros = reinterpret_cast<const int32_t*>(qzeros.as<char>() + qzeros_bytes * copy);
    w.scales = reinterpret_cast<const uint16_t*>(scales.as<char>() + scales_bytes * copy);
    return w;
  };
  std::vector<double> best;
  for (int64_t m : batches) {
    const double bytes = static_cast<double>(layer_bytes) + static_cast<double>(m * (s.in + s.out) * 4);
    const double gemv_us = time_calls([&](int c) { gptq_gemv(weights_of(c), x.as<float>(), m, y.as<float>(), nullptr, nullptr); }, copies);
    print_row(model.name, s.name, s, m, "int4 gemv", gemv_us, bytes, peak);
    double chosen = gemv_us;
    if (m > 1) {
      uint16_t* scratch = context.weight_scratch(static_cast<size_t>(s.in * s.out));
      const double gemm_us = time_calls(
          [&](int c) {
            gptq_dequantize_f16(weights_of(c), scratch, nullptr);
            matmul_f16(context, x.as<float>(), m, s.in, scratch, WeightLayout::in_out, s.out, y.as<float>(), nullptr,
                       nullptr);
          },
          copies);
      print_row(model.name, s.name, s, m, "dequant+cublas", gemm_us, bytes, peak);
      chosen = std::min(chosen, gemm_us);
    }
    best.push_back(chosen);
  }
  return best;
}

std::vector<double> bench_lm_head(const Model& model, const std::vector<int64_t>& batches, double peak,
                                  CublasContext& context) {
  const Shape& s = model.lm_head;
  const size_t weight_bytes = static_cast<size_t>(s.in * s.out) * 2;
  const int copies = copies_for(weight_bytes);
  DeviceBuffer weight(weight_bytes * copies);
  fill_uniform_f16(weight.as<uint16_t>(), static_cast<int64_t>(weight_bytes / 2 * copies), -0.05f, 0.05f, 5, nullptr);
  const int64_t max_m = *std::max_element(batches.begin(), batches.end());
  DeviceBuffer x(static_cast<size_t>(max_m * s.in) * 4), y(static_cast<size_t>(max_m * s.out) * 4);
  fill_uniform_f32(x.as<float>(), max_m * s.in, -1.0f, 1.0f, 6, nullptr);
  std::vector<double> times;
  for (int64_t m : batches) {
    const double bytes = static_cast<double>(weight_bytes) + static_cast<double>(m * (s.in + s.out) * 4);
    const double us = time_calls(
        [&](int c) {
          const auto* w = reinterpret_cast<const uint16_t*>(weight.as<char>() + weight_bytes * c);
          matmul_f16(context, x.as<float>(), m, s.in, w, WeightLayout::out_in, s.out, y.as<float>(), nullptr, nullptr);
        },
        copies);
    print_row(model.name, s.name, s, m, "fp16 cublas", us, bytes, peak);
    times.push_back(us);
  }
  return times;
}

// Device-to-device copy bandwidth (read + write bytes), the practical roofline.
double measure_copy_bandwidth() {
  const size_t bytes = size_t{1} << 30;
  DeviceBuffer a(bytes), b(bytes);
  check_cuda(cudaMemset(a.data(), 1, bytes), "cudaMemset");
  const double us = time_calls(
      [&](int) { check_cuda(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy"); }, 1);
  return 2.0 * static_cast<double>(bytes) / (us * 1e-6);
}

}  // namespace

int main() {
  try {
    if (!device_available()) {
      std::printf("bench_cuda_kernels: no CUDA device\n");
      return 0;
    }
    const std::string name = device_name();
    double peak = 0.0;
    if (name.find("H200") != std::string::npos) peak = 4.8e12;
    if (name.find("H100") != std::string::npos) peak = 3.35e12;
    std::printf("device: %s, HBM peak used for fractions: %.2f TB/s%s\n", name.c_str(), peak / 1e12,
                peak > 0 ? "" : " (unknown device: no fractions)");
    std::printf("device-to-device copy: %.2f TB/s (read + write)\n\n", measure_copy_bandwidth() / 1e12);
    const std::vector<Model> models = {
        {"TinyLlama", 22,
         {{"q_proj", 2048, 2048}, {"k_proj", 2048, 256}, {"v_proj", 2048, 256}, {"o_proj", 2048, 2048},
          {"gate", 2048, 5632}, {"up", 2048, 5632}, {"down", 5632, 2048}},
         {"lm_head", 2048, 32000}},
        {"Llama-3-8B", 32,
         {{"q_proj", 4096, 4096}, {"k_proj", 4096, 1024}, {"v_proj", 4096, 1024}, {"o_proj", 4096, 4096},
          {"gate", 4096, 14336}, {"up", 4096, 14336}, {"down", 14336, 4096}},
         {"lm_head", 4096, 128256}},
    };
    const std::vector<int64_t> batches = {1, 16, 64};
    CublasContext context;
    for (const Model& model : models) {
      std::vector<double> step_us(batches.size(), 0.0);
      for (const Shape& shape : model.linears) {
        const auto best = bench_int4(model, shape, batches, peak, context);
        for (size_t b = 0; b < batches.size(); ++b) step_us[b] += best[b] * static_cast<double>(model.layers);
      }
      const auto head = bench_lm_head(model, batches, peak, context);
      for (size_t b = 0; b < batches.size(); ++b) {
        step_us[b] += head[b];
        std::printf("%-11s linear layers of one decode step, batch %-3lld: %8.1f us -> at most %.0f tokens/s\n",
                    model.name, static_cast<long long>(batches[b]), step_us[b],
                    static_cast<double>(batches[b]) * 1e6 / step_us[b]);
      }
      std::printf("\n");
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_cuda_kernels: %s\n", error.what());
    return 1;
  }
  return 0;
}
