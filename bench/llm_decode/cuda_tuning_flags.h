// cuda_tuning_flags.h — the flags of bench_llm_decode --cuda that pick or
// tune kernels process-wide before the run (--no-pdl, --ring,
// --mma-f16-rows N, --mma-f16-from N, --mma-exact-from N, --wgmma, --mma-plan M B S,
// --attention-waves W). Called by main.cpp's argument loop; CUDA builds only
// (a CPU build rejects these flags as unknown).
#pragma once

namespace citadel::llm {

// If argv[i] is one of these flags, applies it and returns how many
// arguments it took (the flag and its integer values); 0 otherwise. A
// missing value prints the flag's usage and exits with status 2.
int apply_cuda_tuning_flag(int argc, char** argv, int i);

}  // namespace citadel::llm
