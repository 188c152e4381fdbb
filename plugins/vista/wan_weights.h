// The tensors of WanTransformer3DModel (diffusers names; the original Wan /
// Self-Forcing spelling is mapped by tensor_names.h), checked against the
// config's shapes at load. Matrices keep the file's dtype (f32/f16/bf16);
// norms, biases and modulation tables are f32. Used by WanTransformer.
#pragma once

#include "model_config.h"
#include "weight_store.h"

#include <vector>

namespace citadel::vista {

struct WanAttentionWeights {
  Linear to_q, to_k, to_v, to_out;
  std::vector<float> norm_q, norm_k;  // RMSNorm across heads, [dim]
};

struct WanBlockWeights {
  std::vector<float> modulation;  // scale_shift_table [6, dim]
  WanAttentionWeights self_attention, cross_attention;
  std::vector<float> cross_norm_weight, cross_norm_bias;  // norm2 (empty without cross_attn_norm)
  Linear ffn_in, ffn_out;
};

struct WanWeights {
  Linear patch_embedding;  // [dim, in_channels * p_h * p_w], inputs ordered (c, ph, pw)
  Linear time_linear_1, time_linear_2, time_projection;
  Linear text_linear_1, text_linear_2;
  std::vector<WanBlockWeights> blocks;
  std::vector<float> output_modulation;  // top-level scale_shift_table [2, dim]
  Linear proj_out;
};

WanWeights load_wan_weights(const WanConfig& config, const WeightStore& store);

}  // namespace citadel::vista
