// [cuda] gemm_attention (runtime/cuda/gemm_attention.h: cuBLAS TF32 scores,
// bias + softmax kernel, cuBLAS P·V) against the CPU runtime::dense_attention
// on random inputs, with and without SAM's decomposed relative-position bias,
// one sequence (batched over heads) and several (batched over sequences,
// windows as ViTDet makes them), with a scratch that holds one, some or all
// of the batch at once; rows of 1,024 to 6,400 keys (SAM at Large)
// softmaxed in registers, shorter ones and one of 16,512 keys in the loop.
// Tolerance 5e-3 of the output's largest magnitude (TF32 rounds q, k, v and
// the probabilities to 10 mantissa bits; measured on the H200: see the
// [cuda] run in the closing note); a wrong head, stride or bias lookup is
// off by the order of the output itself.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/gemm_attention.h"
#include "runtime/kernels/dense_attention.h"

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

TEST_CASE("cuda GEMM attention matches the CPU attention, with relative positions too", "[cuda]") {
  std::mt19937 rng(35);
  ThreadPool pool(2);
  cuda::CublasContext context;
  for (const auto& [seqs, gh, gw, heads, hd, heads_at_once] :
       {std::tuple{1, 24, 24, 3, 64, 3}, std::tuple{2, 20, 17, 4, 64, 2}, std::tuple{1, 1, 257, 4, 32, 1},
        std::tuple{1, 32, 32, 2, 128, 2}, std::tuple{5, 14, 14, 2, 64, 2}, std::tuple{4, 7, 9, 3, 32, 4},
        std::tuple{1, 80, 80, 1, 32, 1}, std::tuple{1, 129, 128, 1, 16, 1}}) {
    const int64_t tokens = gh * gw, c = heads * hd;
    INFO("sequences " << seqs << " tokens " << tokens << " heads " << heads << " head_dim " << hd << ", "
                      << heads_at_once << " score matrices at once");
    const auto qkv = random_floats(static_cast<size_t>(seqs * tokens * 3 * c), rng);
    const auto th = random_floats(static_cast<size_t>((2 * gh - 1) * hd), rng, 0.3f);
    const auto tw = random_floats(static_cast<size_t>((2 * gw - 1) * hd), rng, 0.3f);
    const RelativePosition2d rel{th.data(), tw.data(), gh, gw};
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    DeviceBuffer qd = to_device(qkv), thd = to_device(th), twd = to_device(tw);
    DeviceBuffer od(static_cast<size_t>(seqs * tokens * c) * sizeof(float));
    const int64_t scratch_floats = heads_at_once * cuda::gemm_attention_head_floats(tokens);
    DeviceBuffer scores(static_cast<size_t>(scratch_floats) * sizeof(float));
    for (const bool with_rel : {false, true}) {
      INFO("relative positions " << with_rel);
      std::vector<float> expected(static_cast<size_t>(seqs * tokens * c));
      dense_attention(pool, qkv.data(), qkv.data() + c, qkv.data() + 2 * c, 3 * c, seqs, tokens, heads, hd, scale,
                      expected.data(), with_rel ? &rel : nullptr);
      const float* q = qd.as<float>();
      cuda::gemm_attention(context, q, q + c, q + 2 * c, 3 * c, seqs, tokens, heads, hd, scale, od.as<float>(),
                           with_rel ? thd.as<float>() : nullptr, with_rel ? twd.as<float>() : nullptr, gh, gw,
                           scores.as<float>(), scratch_floats, nullptr);
      const double error = scaled_max_error(od.to_vector<float>(expected.size()), expected);
      WARN("gemm_attention vs CPU: scaled error " << error);
      CHECK(error < 5e-3);
    }
  }
}

TEST_CASE("cuda GEMM attention refuses a scratch below one head's scores", "[cuda]") {
  cuda::CublasContext context;
  DeviceBuffer buffer(size_t{1} << 20);
  float* p = buffer.as<float>();
  CHECK_THROWS_WITH(cuda::gemm_attention(context, p, p, p, 64, 1, 100, 1, 64, 1.0f, p, nullptr, nullptr, 0, 0, p,
                                         9999, nullptr),
                    Catch::Contains("below one head's 10000"));
}
#endif  // CITADEL_HAVE_CUDA
