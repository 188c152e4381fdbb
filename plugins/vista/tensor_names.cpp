// The original Wan / Self-Forcing -> diffusers rename table (see tensor_names.h).
#include "tensor_names.h"

#include <array>
#include <utility>

namespace citadel::vista {
namespace {

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// Replaces `from` by `to` once, when it occurs as a whole dotted component run.
bool replace_component(std::string& name, const std::string& from, const std::string& to) {
  const std::string needle = "." + from + ".";
  const std::string padded = "." + name + ".";
  const size_t at = padded.find(needle);
  if (at == std::string::npos) return false;
  name = padded.substr(1, at) + to + padded.substr(at + needle.size() - 1, padded.size() - at - needle.size());
  return true;
}

}  // namespace

std::string diffusers_transformer_name(const std::string& stored) {
  std::string name = stored;
  if (starts_with(name, "model.")) name = name.substr(6);
  static const std::array<std::pair<const char*, const char*>, 7> top_level = {{
      {"head.head", "proj_out"},
      {"head.modulation", "scale_shift_table"},
      {"text_embedding.0", "condition_embedder.text_embedder.linear_1"},
      {"text_embedding.2", "condition_embedder.text_embedder.linear_2"},
      {"time_embedding.0", "condition_embedder.time_embedder.linear_1"},
      {"time_embedding.2", "condition_embedder.time_embedder.linear_2"},
      {"time_projection.1", "condition_embedder.time_proj"},
  }};
  for (const auto& [from, to] : top_level) {
    if (name == from || starts_with(name, std::string(from) + ".")) return to + name.substr(std::string(from).size());
  }
  if (!starts_with(name, "blocks.")) return name;
  replace_component(name, "self_attn", "attn1");
  replace_component(name, "cross_attn", "attn2");
  for (const char* attention : {"attn1", "attn2"}) {
    const std::string a = attention;
    replace_component(name, a + ".q", a + ".to_q");
    replace_component(name, a + ".k", a + ".to_k");
    replace_component(name, a + ".v", a + ".to_v");
    replace_component(name, a + ".o", a + ".to_out.0");
  }
  // The original norm2 (the FFN's LayerNorm) has no parameters: only norm3 maps.
  replace_component(name, "norm3", "norm2");
  replace_component(name, "ffn.0", "ffn.net.0.proj");
  replace_component(name, "ffn.2", "ffn.net.2");
  replace_component(name, "modulation", "scale_shift_table");
  return name;
}

}  // namespace citadel::vista
