// The kernel-choice flags of bench_llm_decode --cuda (cuda_tuning_flags.h):
// a table of flag, value count and the process-wide setter it calls.
#include "cuda_tuning_flags.h"

#include "runtime/cuda/flash_decode.h"
#include "runtime/cuda/gptq_linear_cuda.h"
#include "runtime/cuda/int4_gemv_ring.h"
#include "runtime/cuda/int4_gemv_tc.h"
#include "runtime/cuda/int4_mma.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace citadel::llm {
namespace {

namespace cuda = runtime::cuda;

constexpr int kMostValues = 3;

struct TuningFlag {
  const char* name;
  const char* values;  // for the usage line
  int count;
  void (*apply)(const int* value);
};

const TuningFlag kFlags[] = {
    // int4 GEMV launches wait for the previous kernel to end (no programmatic dependent launch).
    {"--no-pdl", "", 0, [](const int*) { cuda::int4_gemv_tc_tuning(2, 8, false, 16); }},
    // 1..4 rows take the shared-memory-ring GEMV (int4_gemv_ring.h).
    {"--ring", "", 0, [](const int*) { cuda::set_int4_gemv_ring_dispatch(true); }},
    // Rows up to which the int4 GEMM with f16 activations replaces dequantize + cuBLAS.
    {"--mma-f16-rows", " N", 1, [](const int* v) { cuda::GptqLinearCuda::set_int4_mma_f16_max_rows(v[0]); }},
    // The int4 GEMM on wgmma where it is available (sm_90a; default: mma.sync).
    {"--wgmma", "", 0, [](const int*) { cuda::int4_mma_set_wgmma(true); }},
    // Rows from which the f16-activation GEMM replaces the f32-exact kernels.
    {"--mma-f16-from", " N", 1, [](const int* v) { cuda::GptqLinearCuda::set_int4_mma_f16_min_rows(v[0]); }},
    // Rows from which the f32-exact tensor-core GEMM replaces the GEMVs.
    {"--mma-exact-from", " N", 1, [](const int* v) { cuda::GptqLinearCuda::set_int4_mma_exact_min_rows(v[0]); }},
    // The GEMM's least stages per split, blocks per SM its splits aim at (0: occupancy), largest split count.
    {"--mma-plan", " MIN_STAGES BLOCKS_PER_SM MAX_SPLITS", 3,
     [](const int* v) { cuda::int4_mma_tuning(v[0], v[1], v[2]); }},
    // Waves of resident blocks the tensor-core attention's splits may fill.
    {"--attention-waves", " W", 1, [](const int* v) { cuda::flash_decode_split_tuning(v[0]); }},
};

}  // namespace

int apply_cuda_tuning_flag(int argc, char** argv, int i) {
  for (const TuningFlag& flag : kFlags) {
    if (std::strcmp(argv[i], flag.name) != 0) continue;
    if (i + flag.count >= argc) {
      std::fprintf(stderr, "usage: %s%s\n", flag.name, flag.values);
      std::exit(2);
    }
    int values[kMostValues] = {};
    for (int k = 0; k < flag.count; ++k) values[k] = std::atoi(argv[i + 1 + k]);
    flag.apply(values);
    return 1 + flag.count;
  }
  return 0;
}

}  // namespace citadel::llm
