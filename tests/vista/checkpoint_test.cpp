// Loading vista checkpoints: the transformer with the original Wan /
// Self-Forcing tensor names (a renamed copy made here, f16 and bf16 too)
// gives the diffusers forward; bad configs name the file and field; the
// Wan2.1-T2V-1.3B config's cache token is 6,144 B per layer at bf16.
#include "vista_reference.hpp"

#include "runtime/core/thread_pool.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>

using namespace citadel;

namespace {

// diffusers -> original Wan names (the inverse of tensor_names.h, written out
// independently of it), with Self-Forcing's "model." prefix.
std::string original_name(std::string name) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"condition_embedder.text_embedder.linear_1", "text_embedding.0"},
      {"condition_embedder.text_embedder.linear_2", "text_embedding.2"},
      {"condition_embedder.time_embedder.linear_1", "time_embedding.0"},
      {"condition_embedder.time_embedder.linear_2", "time_embedding.2"},
      {"condition_embedder.time_proj", "time_projection.1"},
      {"proj_out", "head.head"},
      {".attn1.to_q", ".self_attn.q"}, {".attn1.to_k", ".self_attn.k"}, {".attn1.to_v", ".self_attn.v"},
      {".attn1.to_out.0", ".self_attn.o"}, {".attn1.norm_", ".self_attn.norm_"},
      {".attn2.to_q", ".cross_attn.q"}, {".attn2.to_k", ".cross_attn.k"}, {".attn2.to_v", ".cross_attn.v"},
      {".attn2.to_out.0", ".cross_attn.o"}, {".attn2.norm_", ".cross_attn.norm_"},
      {".norm2.", ".norm3."}, {".ffn.net.0.proj", ".ffn.0"}, {".ffn.net.2", ".ffn.2"},
      {".scale_shift_table", ".modulation"}};
  if (name == "scale_shift_table") return "model.head.modulation";
  for (const auto& [from, to] : table) {
    const size_t at = name.find(from);
    if (at != std::string::npos) name.replace(at, from.size(), to);
  }
  return "model." + name;
}

std::filesystem::path renamed_copy(const test::TempDir& dir, runtime::DType dtype) {
  const auto source = test::vista_checkpoint() / "transformer";
  const runtime::SafetensorsCheckpoint checkpoint(source);
  std::vector<std::pair<std::string, runtime::Tensor>> tensors;
  for (const std::string& name : checkpoint.names())
    tensors.emplace_back(original_name(name), checkpoint.tensor(name).to_f32().converted(dtype));
  const auto folder = dir.path() / std::string(runtime::dtype_name(dtype));
  std::filesystem::create_directories(folder);
  std::filesystem::copy_file(source / "config.json", folder / "config.json");
  runtime::write_safetensors(folder / "model.safetensors", tensors);
  return folder;
}

}  // namespace

TEST_CASE("vista maps original Wan / Self-Forcing tensor names to diffusers'", "[vista]") {
  CHECK(vista::diffusers_transformer_name("model.blocks.3.self_attn.q.weight") == "blocks.3.attn1.to_q.weight");
  CHECK(vista::diffusers_transformer_name("blocks.0.cross_attn.o.bias") == "blocks.0.attn2.to_out.0.bias");
  CHECK(vista::diffusers_transformer_name("blocks.0.cross_attn.norm_k.weight") == "blocks.0.attn2.norm_k.weight");
  CHECK(vista::diffusers_transformer_name("blocks.1.norm3.weight") == "blocks.1.norm2.weight");
  CHECK(vista::diffusers_transformer_name("blocks.1.ffn.0.weight") == "blocks.1.ffn.net.0.proj.weight");
  CHECK(vista::diffusers_transformer_name("blocks.1.modulation") == "blocks.1.scale_shift_table");
  CHECK(vista::diffusers_transformer_name("head.modulation") == "scale_shift_table");
  CHECK(vista::diffusers_transformer_name("time_projection.1.weight") == "condition_embedder.time_proj.weight");
  CHECK(vista::diffusers_transformer_name("blocks.0.attn1.to_q.weight") == "blocks.0.attn1.to_q.weight");
}

TEST_CASE("vista loads a renamed f32/f16/bf16 transformer with the diffusers result", "[vista]") {
  const test::TempDir dir;
  runtime::ThreadPool pool(2);
  const std::vector<float> text = test::vista_reference("text.embeds");
  const std::vector<float> latents = test::vista_reference("dit.latents");
  const std::vector<float> timesteps = test::vista_reference("dit.frame_timesteps");
  const std::vector<float> expected = test::vista_reference("dit.out");
  for (const auto& [dtype, tolerance] : {std::pair{runtime::DType::f32, 1e-3}, std::pair{runtime::DType::f16, 2e-2},
                                         std::pair{runtime::DType::bf16, 1e-1}}) {
    const vista::WanTransformer model = test::load_tiny_transformer(renamed_copy(dir, dtype));
    const vista::TextContext context = model.prepare_text(pool, text.data(), 512);
    vista::EmptyChunkKv kv;
    const std::vector<float> out =
        model.forward(pool, latents.data(), {3, 8, 8}, timesteps.data(), 0, context, kv, false);
    const double error = test::relative_error(out, expected);
    INFO(runtime::dtype_name(dtype) << " relative error " << error);
    CHECK(error < tolerance);
  }
}

TEST_CASE("vista counts 6,144 cache bytes per token per layer for Wan2.1-T2V-1.3B at bf16", "[vista]") {
  const test::TempDir dir;
  // diffusers' config of Wan-AI/Wan2.1-T2V-1.3B-Diffusers (transformer/config.json).
  const auto path = dir.write("config.json", R"({"_class_name": "WanTransformer3DModel", "attention_head_dim": 128,
    "cross_attn_norm": true, "eps": 1e-06, "ffn_dim": 8960, "freq_dim": 256, "in_channels": 16,
    "num_attention_heads": 12, "num_layers": 30, "out_channels": 16, "patch_size": [1, 2, 2],
    "qk_norm": "rms_norm_across_heads", "rope_max_seq_len": 1024, "text_dim": 4096})");
  const vista::WanConfig config = vista::read_wan_config(path);
  CHECK(config.kv_bytes_per_token_per_layer(2) == 6144);
  // 81 frames at 480x832: 21 latent frames of 30x52 tokens, 30 layers.
  CHECK(config.kv_bytes_per_token_per_layer(2) * 30 * 21 * 30 * 52 == 6'038'323'200ull);
}

TEST_CASE("vista rejects transformer configs it cannot run, naming the field", "[vista]") {
  const test::TempDir dir;
  const auto patch = dir.write("a/config.json", R"({"patch_size": [2, 2, 2]})");
  CHECK_THROWS_WITH(vista::read_wan_config(patch), Catch::Contains("patch_size"));
  const auto image = dir.write("b/config.json", R"({"image_dim": 1280})");
  CHECK_THROWS_WITH(vista::read_wan_config(image), Catch::Contains("image_dim"));
  const auto norm = dir.write("c/config.json", R"({"qk_norm": "rms_norm"})");
  CHECK_THROWS_WITH(vista::read_wan_config(norm), Catch::Contains("qk_norm"));
}
