// bench_cpu_kernels: times GptqLinear::forward (int4, group 128) and the dense
// f16 matmul on random weights at 2048x5632 and 4096x4096, m = 1, 16, 64.
// Prints ms per call, effective GB/s of weight bytes and GFLOP/s; never
// asserts. --portable forces the portable (SSE2) kernels, --check compares
// the selected kernels against the dequantized weight; --reps, --threads,
// --quick, --m M and --shape IN OUT pick what runs (e.g. under callgrind).
#include "runtime/core/half.h"
#include "runtime/core/thread_pool.h"
#include "runtime/kernels/gptq.h"
#include "runtime/kernels/matmul.h"
#include "runtime/kernels/tile_matmul.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace citadel::runtime;

namespace {

struct Options {
  bool portable = false, check = false, quick = false, dense = true;
  int reps = 5;
  unsigned threads = 2;
  int64_t only_m = 0, only_in = 0, only_out = 0;
};

struct RandomGptq {
  std::vector<int32_t> qweight, qzeros;
  std::vector<uint16_t> scales;
  GptqTensors tensors;
};

RandomGptq make_random_gptq(int64_t in, int64_t out, int64_t group_size, std::mt19937& rng, int bits = 4) {
  RandomGptq r;
  const int64_t groups = gptq_num_groups(in, group_size);
  std::uniform_int_distribution<uint32_t> bits32;
  std::uniform_real_distribution<float> scale(0.001f, 0.02f);
  r.qweight.resize(static_cast<size_t>(in * bits / 32 * out));
  for (auto& w : r.qweight) w = static_cast<int32_t>(bits32(rng));
  r.qzeros.resize(static_cast<size_t>(groups * out * bits / 32));
  for (auto& z : r.qzeros) z = static_cast<int32_t>(bits32(rng));
  r.scales.resize(static_cast<size_t>(groups * out));
  for (auto& s : r.scales) s = float_to_half(scale(rng));
  r.tensors.bits = bits;
  r.tensors.in_features = in;
  r.tensors.out_features = out;
  r.tensors.group_size = group_size;
  r.tensors.qweight = r.qweight.data();
  r.tensors.qzeros = r.qzeros.data();
  r.tensors.scales = r.scales.data();
  return r;
}

template <typename Fn>
double time_ms(const Fn& fn, int reps) {
  fn();  // warm-up
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return best;
}

void print_row(const char* kind, int64_t in, int64_t out, int64_t m, double ms, double weight_bytes) {
  const double gbs = weight_bytes / (ms * 1e-3) / 1e9;
  const double gflops = 2.0 * static_cast<double>(m * in * out) / (ms * 1e-3) / 1e9;
  std::printf("%-10s %5lld x %-5lld m=%-3lld %9.3f ms %8.2f GB/s %8.2f GFLOP/s\n", kind,
              static_cast<long long>(in), static_cast<long long>(out), static_cast<long long>(m), ms, gbs,
              gflops);
}

// Max |y - x·W| / (|x|·|W| row scale) over all outputs.
double relative_error(const std::vector<float>& x, int64_t m, int64_t in, const std::vector<float>& w_out_in,
                      int64_t out, const std::vector<float>& y) {
  double worst = 0.0;
  for (int64_t t = 0; t < m; ++t) {
    for (int64_t o = 0; o < out; ++o) {
      double sum = 0.0, mag = 0.0;
      for (int64_t i = 0; i < in; ++i) {
        const double p = static_cast<double>(x[static_cast<size_t>(t * in + i)]) * w_out_in[static_cast<size_t>(o * in + i)];
        sum += p;
        mag += std::abs(p);
      }
      worst = std::max(worst, std::abs(sum - y[static_cast<size_t>(t * out + o)]) / (mag + 1e-30));
    }
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--portable") opt.portable = true;
    else if (arg == "--check") opt.check = true;
    else if (arg == "--quick") opt.quick = true;
    else if (arg == "--no-dense") opt.dense = false;
    else if (arg == "--reps" && a + 1 < argc) opt.reps = std::atoi(argv[++a]);
    else if (arg == "--m" && a + 1 < argc) opt.only_m = std::atoll(argv[++a]);
    else if (arg == "--shape" && a + 2 < argc) {
      opt.only_in = std::atoll(argv[++a]);
      opt.only_out = std::atoll(argv[++a]);
    }
    else if (arg == "--threads" && a + 1 < argc) opt.threads = static_cast<unsigned>(std::atoi(argv[++a]));
    else {
      std::fprintf(stderr, "usage: bench_cpu_kernels [--portable] [--check] [--quick] [--no-dense] [--reps N] [--threads N] [--m M] [--shape IN OUT]\n");
      return 2;
    }
  }
  detail::force_portable_cpu_kernels(opt.portable);
  std::printf("kernels: %s, threads %u, best of %d\n", detail::cpu_kernel_isa_name(), opt.threads, opt.reps);
  ThreadPool pool(opt.threads);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);

  struct Shape { int64_t in, out; };
  std::vector<Shape> shapes = {{2048, 5632}, {4096, 4096}};
  std::vector<int64_t> ms = {1, 16, 64};
  if (opt.quick) {
    shapes = {{512, 1024}};
    ms = {1, 16};
  }
  if (opt.only_m > 0) ms = {opt.only_m};
  if (opt.only_in > 0) shapes = {{opt.only_in, opt.only_out}};
  if (opt.check) {
    shapes = {{384, 200}, {256, 72}};
    ms = {1, 3, 5, 17};
  }
  for (const Shape& s : shapes) {
    RandomGptq g = make_random_gptq(s.in, s.out, 128, rng);
    GptqLinear linear(g.tensors, "bench");
    std::vector<float> w_f32;
    std::vector<uint16_t> w_f16;
    if (opt.dense || opt.check) {
      w_f32 = linear.dequantize();
      w_f16.resize(w_f32.size());
      for (size_t i = 0; i < w_f32.size(); ++i) w_f16[i] = float_to_half(w_f32[i]);
    }
    const double int4_bytes = static_cast<double>(s.in * s.out) / 2 + 2.0 * 4.0 * static_cast<double>(s.in / 128 * s.out);
    for (int64_t m : ms) {
      std::vector<float> x(static_cast<size_t>(m * s.in)), y(static_cast<size_t>(m * s.out));
      for (auto& v : x) v = normal(rng);
      if (opt.check) {
        RandomGptq g8 = make_random_gptq(s.in, s.out, 64, rng, 8);
        GptqLinear linear8(g8.tensors, "bench8");
        linear8.forward(pool, x.data(), m, y.data());
        std::printf("check int8 %lldx%lld m=%lld: max rel error %.3g\n", static_cast<long long>(s.in),
                    static_cast<long long>(s.out), static_cast<long long>(m),
                    relative_error(x, m, s.in, linear8.dequantize(), s.out, y));
        linear.forward(pool, x.data(), m, y.data());
        std::printf("check int4 %lldx%lld m=%lld: max rel error %.3g\n", static_cast<long long>(s.in),
                    static_cast<long long>(s.out), static_cast<long long>(m), relative_error(x, m, s.in, w_f32, s.out, y));
        for (DType dt : {DType::f32, DType::f16}) {
          std::vector<float> w_used(w_f32.size());
          for (size_t i = 0; i < w_used.size(); ++i) w_used[i] = dt == DType::f32 ? w_f32[i] : half_to_float(w_f16[i]);
          // Odd `in` exercises the tails of the dense kernels.
          const int64_t in = s.in - 3;
          std::vector<float> wk(static_cast<size_t>(s.out * in));
          std::vector<uint16_t> wk16(wk.size());
          for (int64_t o = 0; o < s.out; ++o) {
            for (int64_t i = 0; i < in; ++i) {
              wk[static_cast<size_t>(o * in + i)] = w_used[static_cast<size_t>(o * s.in + i)];
              wk16[static_cast<size_t>(o * in + i)] = w_f16[static_cast<size_t>(o * s.in + i)];
            }
          }
          std::vector<float> xk(static_cast<size_t>(m * in));
          for (auto& v : xk) v = normal(rng);
          matmul(pool, xk.data(), m, in, dt == DType::f32 ? static_cast<const void*>(wk.data()) : wk16.data(), dt,
                 s.out, y.data());
          std::printf("check %s %lldx%lld m=%lld: max rel error %.3g\n", std::string(dtype_name(dt)).c_str(), static_cast<long long>(in),
                      static_cast<long long>(s.out), static_cast<long long>(m), relative_error(xk, m, in, wk, s.out, y));
        }
        continue;
      }
      const double ms_int4 = time_ms([&] { linear.forward(pool, x.data(), m, y.data()); }, opt.reps);
      print_row("int4", s.in, s.out, m, ms_int4, int4_bytes);
      if (opt.dense) {
        const double ms_f16 = time_ms([&] { matmul(pool, x.data(), m, s.in, w_f16.data(), DType::f16, s.out, y.data()); }, opt.reps);
        print_row("f16", s.in, s.out, m, ms_f16, 2.0 * static_cast<double>(s.in * s.out));
      }
    }
  }
  return 0;
}
