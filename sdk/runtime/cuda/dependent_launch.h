// Whether kernels of a step are launched with programmatic dependent launch
// (dependent_launch.cuh): on by default; benchmarks turn it off to measure
// what it saves. Host side, plain C++. Callers: int4_gemv_tc.cu,
// layer_kernels.cu, rope_kv_write.cu, flash_decode.cu, bench/.
#pragma once

namespace citadel::runtime::cuda {

bool dependent_launch_enabled();
void set_dependent_launch(bool enabled);

}  // namespace citadel::runtime::cuda
