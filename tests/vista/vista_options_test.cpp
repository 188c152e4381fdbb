// VistaOptions::parse: the CUDA kernel choices (cuda_attention,
// cuda_fused_epilogues, vae_convolutions) default to the measured kernels,
// take their other value, and refuse anything else naming the option;
// unknown keys are refused.
#include "vista_options.h"

#include "runtime/core/error.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>

using namespace citadel;

namespace {

std::string refusal(const boost::json::object& options) {
  try {
    vista::VistaOptions::parse(options);
  } catch (const runtime::RuntimeError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("vista options choose the CUDA attention and VAE convolution kernels", "[vista]") {
  const vista::VistaOptions defaults = vista::VistaOptions::parse({});
  CHECK(defaults.cuda_attention == "mma_sync");
  CHECK(defaults.vae_convolutions == "im2col");
  CHECK_FALSE(defaults.cuda_fused_epilogues);

  const vista::VistaOptions chosen =
      vista::VistaOptions::parse({{"cuda_attention", "wgmma"}, {"vae_convolutions", "cudnn"}, {"cuda_fused_epilogues", true}});
  CHECK(chosen.cuda_attention == "wgmma");
  CHECK(chosen.cuda_fused_epilogues);
  CHECK(chosen.vae_convolutions == "cudnn");

  CHECK_THAT(refusal({{"cuda_attention", "tensor"}}), Catch::Contains("cuda_attention"));
  CHECK_THAT(refusal({{"cuda_attention", "tensor"}}), Catch::Contains("mma_sync or wgmma"));
  CHECK_THAT(refusal({{"vae_convolutions", 3}}), Catch::Contains("vae_convolutions"));
  CHECK_THAT(refusal({{"vae_convolutions", "winograd"}}), Catch::Contains("im2col or cudnn"));
  CHECK_THAT(refusal({{"vae_convolution", "cudnn"}}), Catch::Contains("unknown option"));
  CHECK_THAT(refusal({{"cuda_fused_epilogues", "yes"}}), Catch::Contains("cuda_fused_epilogues: must be true or false"));
}
