// Tensor names of the Wan2.1 DiT: the original Wan / Self-Forcing spelling
// (wan/modules/model.py, causal_model.py; Self-Forcing's generator weights add
// a "model." prefix) mapped to diffusers' WanTransformer3DModel names, the
// spelling the vista plugin looks tensors up by. The table is diffusers'
// scripts/convert_wan_to_diffusers.py (TRANSFORMER_KEYS_RENAME_DICT):
//   self_attn.{q,k,v,o,norm_q,norm_k}  -> attn1.{to_q,to_k,to_v,to_out.0,norm_q,norm_k}
//   cross_attn.*                       -> attn2.* (same)
//   blocks.N.norm3                     -> blocks.N.norm2 (the cross-attention LayerNorm)
//   blocks.N.ffn.0 / ffn.2             -> blocks.N.ffn.net.0.proj / ffn.net.2
//   blocks.N.modulation                -> blocks.N.scale_shift_table
//   head.head / head.modulation        -> proj_out / scale_shift_table
//   text_embedding.0/.2                -> condition_embedder.text_embedder.linear_1/_2
//   time_embedding.0/.2                -> condition_embedder.time_embedder.linear_1/_2
//   time_projection.1                  -> condition_embedder.time_proj
// Names already in diffusers form pass through unchanged. Used by WeightStore.
#pragma once

#include <string>

namespace citadel::vista {

// The diffusers name of a transformer tensor stored under `name`.
std::string diffusers_transformer_name(const std::string& name);

}  // namespace citadel::vista
