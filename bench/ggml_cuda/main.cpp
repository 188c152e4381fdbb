// Benchmark of the GGUF block-format kernels (GgmlLinearCuda: ggml_gemv up
// to 4 tokens, dequantized f16 tiles + cuBLAS above; the GEMV alone at 16 too) for Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, Q4_K, Q5_K, Q6_K at the Llama-3-8B MLP shapes (up: 4096 ->
// 14336, down: 14336 -> 4096): microseconds per call and GB/s of the bytes
// it must move (the quantized weights once, x and y), beside the device
// copy bandwidth measured in this run (cudaMemcpy device to device, read +
// write) and cuBLAS f16 on the same shape. Random blocks (random bytes,
// sane fp16 scales) in enough device copies (>= 256 MB) that every call
// reads HBM, not L2. Timing: CUDA events around 10 calls, median of 21
// runs after warm-up. Prints; never asserts. Usage: bench_ggml_cuda [--quick]
// (--quick: batch 1 only).
#include "runtime/core/half.h"
#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/ggml_gemv.h"
#include "runtime/cuda/ggml_linear_cuda.h"
#include "runtime/cuda/random_fill.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace citadel::runtime;
using namespace citadel::runtime::cuda;

namespace {

constexpr size_t kMinCopyBytes = size_t{256} << 20;

double median_us(const std::function<void(int)>& call, int copies) {
  cudaEvent_t start, stop;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  int next = 0;
  for (int i = 0; i < 3; ++i) call(next++ % copies);
  std::vector<double> samples;
  for (int run = 0; run < 21; ++run) {
    check_cuda(cudaEventRecord(start), "cudaEventRecord");
    for (int i = 0; i < 10; ++i) call(next++ % copies);
    check_cuda(cudaEventRecord(stop), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    samples.push_back(100.0 * ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// Random blocks with every fp16 scale set to a small finite value.
std::vector<uint8_t> random_blocks(GgmlType type, int64_t rows, int64_t cols) {
  const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(type));
  const int64_t blocks = rows * cols / traits.block_size;
  std::vector<uint8_t> data(static_cast<size_t>(blocks * traits.type_size));
  std::mt19937_64 rng(7);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    const uint64_t word = rng();
    std::memcpy(data.data() + i, &word, 8);
  }
  const uint16_t scale = float_to_half(1.0f / 512.0f);
  const int at = type == GgmlType::q6_k ? 208 : 0;
  const bool with_min = type == GgmlType::q4_1 || type == GgmlType::q5_1 || type == GgmlType::q4_k ||
                        type == GgmlType::q5_k;
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t* block = data.data() + b * traits.type_size;
    std::memcpy(block + at, &scale, 2);
    if (with_min) std::memcpy(block + 2, &scale, 2);
  }
  return data;
}

struct Shape {
  const char* name;
  int64_t in, out;
};

void print_row(const char* type, const Shape& shape, int64_t m, const char* path, double us, double bytes,
               double copy_bandwidth) {
  const double gbs = bytes / us * 1e-3;
  std::printf("%-5s %-4s %5lld x %-5lld m=%-3lld %-16s %9.2f us %7.0f GB/s  (%5.1f%% of copy)\n", type, shape.name,
              static_cast<long long>(shape.in), static_cast<long long>(shape.out), static_cast<long long>(m), path, us,
              gbs, 100.0 * gbs * 1e9 / copy_bandwidth);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  if (!device_available()) {
    std::printf("bench_ggml_cuda: no CUDA device\n");
    return 0;
  }
  const size_t copy_bytes = size_t{1} << 30;
  DeviceBuffer a(copy_bytes, "copy source"), b(copy_bytes, "copy target");
  fill_random_words(a.as<uint32_t>(), static_cast<int64_t>(copy_bytes / 4), 99, nullptr);
  const double copy_us = median_us(
      [&](int) { check_cuda(cudaMemcpyAsync(b.data(), a.data(), copy_bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy"); }, 1);
  const double copy_bandwidth = 2.0 * static_cast<double>(copy_bytes) / (copy_us * 1e-6);
  a = DeviceBuffer();
  b = DeviceBuffer();
  std::printf("device %s: copy bandwidth %.0f GB/s (read + write)\n", device_name().c_str(), copy_bandwidth * 1e-9);

  CublasContext cublas;
  const std::vector<Shape> shapes = {{"up", 4096, 14336}, {"down", 14336, 4096}};
  const std::vector<int64_t> batches = quick ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 4, 16, 128};
  DeviceBuffer x(static_cast<size_t>(128 * 14336) * 4, "x"), y(static_cast<size_t>(128 * 14336) * 4, "y");
  fill_uniform_f32(x.as<float>(), 128 * 14336, -1.0f, 1.0f, 3, nullptr);

  for (const Shape& shape : shapes) {  // cuBLAS f16 beside
    const size_t f16_bytes = static_cast<size_t>(shape.in * shape.out) * 2;
    const int copies = static_cast<int>(std::max<size_t>(1, kMinCopyBytes / f16_bytes + 1));
    DeviceBuffer weights(f16_bytes * static_cast<size_t>(copies), "f16 weights");
    fill_uniform_f16(weights.as<uint16_t>(), shape.in * shape.out * copies, -0.05f, 0.05f, 5, nullptr);
    for (int64_t m : batches) {
      const double us = median_us(
          [&](int c) {
            matmul_f16(cublas, x.as<float>(), m, shape.in, weights.as<uint16_t>() + static_cast<size_t>(c) * f16_bytes / 2,
                       WeightLayout::out_in, shape.out, y.as<float>(), nullptr, nullptr);
          },
          copies);
      print_row("F16", shape, m, "cublas", us, static_cast<double>(f16_bytes + static_cast<size_t>(m * (shape.in + shape.out) * 4)),
                copy_bandwidth);
    }
  }
  const GgmlType types[] = {GgmlType::q4_0, GgmlType::q4_1, GgmlType::q5_0, GgmlType::q5_1,
                            GgmlType::q8_0, GgmlType::q4_k, GgmlType::q5_k, GgmlType::q6_k};
  for (GgmlType type : types) {
    const char* name = ggml_type_traits(static_cast<uint32_t>(type)).name;
    for (const Shape& shape : shapes) {
      const std::vector<uint8_t> host = random_blocks(type, shape.out, shape.in);
      const GgmlMatrix matrix{type, shape.out, shape.in, host.data()};
      std::vector<std::unique_ptr<GgmlLinearCuda>> copies;
      do {
        copies.push_back(std::make_unique<GgmlLinearCuda>(matrix, name));
      } while (copies.size() * host.size() < kMinCopyBytes);
      for (int64_t m : batches) {
        const LinearEpilogue store = LinearEpilogue::single(y.as<float>(), shape.out);
        const double us = median_us(
            [&](int c) { copies[static_cast<size_t>(c)]->forward(cublas, x.as<float>(), m, store, nullptr); },
            static_cast<int>(copies.size()));
        const double bytes = static_cast<double>(host.size()) + static_cast<double>(m * (shape.in + shape.out) * 4);
        print_row(name, shape, m, m <= GgmlLinearCuda::kGemvMaxRows ? "ggml_gemv" : "f16 tiles+cublas", us, bytes,
                  copy_bandwidth);
        if (m > GgmlLinearCuda::kGemvMaxRows && m <= kGgmlGemvMaxRows) {  // the GEMV alone past its switch
          const double gemv_us = median_us(
              [&](int c) {
                ggml_gemv(copies[static_cast<size_t>(c)]->matrix(), x.as<float>(), m, nullptr, y.as<float>(),
                          shape.out, false, nullptr);
              },
              static_cast<int>(copies.size()));
          print_row(name, shape, m, "ggml_gemv only", gemv_us, bytes, copy_bandwidth);
        }
      }
    }
  }
  return 0;
}
