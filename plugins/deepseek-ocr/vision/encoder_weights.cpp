// load_encoder_weights: reads and checks the DeepEncoder tensors (names of
// the released checkpoint) and the few sizes shapes cannot tell (CLIP heads,
// norm eps) from config.json.
#include "encoder_weights.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/formats/safetensors.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/matmul.h"

#include <algorithm>
#include <optional>
#include <string>

namespace citadel::deepseek_ocr {

using runtime::DType;
using runtime::SafetensorsCheckpoint;
using runtime::Shape;
using runtime::Tensor;

void LinearWeights::apply(runtime::ThreadPool& pool, const float* x, int64_t m, float* y) const {
  // Bands of 256 tokens keep the activations in cache while matmul walks the
  // weight rows (about 1.4x faster at SAM's 4096 tokens; same sums, same result).
  constexpr int64_t kBand = 256;
  for (int64_t t0 = 0; t0 < m; t0 += kBand) {
    runtime::matmul(pool, x + t0 * in, std::min(kBand, m - t0), in, weight.data(), weight.dtype(), out, y + t0 * out,
                    bias.empty() ? nullptr : bias.data());
  }
}

void NormWeights::apply(const float* x, int64_t rows, float* y) const {
  runtime::layer_norm(x, rows, static_cast<int64_t>(weight.size()), weight.data(), bias.data(), eps, y);
}

namespace {

struct Reader {
  const SafetensorsCheckpoint& file;

  std::string where(const std::string& name) const {
    return file.directory().string() + ": tensor " + name;
  }
  Tensor tensor(const std::string& name, const Shape& shape) const {
    if (!file.has(name)) runtime::throw_not_found(where(name) + " is missing (DeepSeek-OCR DeepEncoder layout)");
    Tensor t = file.tensor(name);
    if (t.dtype() != DType::f32 && t.dtype() != DType::f16 && t.dtype() != DType::bf16) {
      runtime::throw_invalid(where(name) + " has dtype " + t.description() + " (expected f32, f16 or bf16)");
    }
    if (t.shape() != shape) {
      runtime::throw_invalid(where(name) + " has shape " + runtime::shape_string(t.shape()) + ", expected " +
                             runtime::shape_string(shape));
    }
    return t;
  }
  std::vector<float> vec(const std::string& name, const Shape& shape) const {
    Tensor t = tensor(name, shape).to_f32();
    const float* p = t.data_as<float>();
    return std::vector<float>(p, p + t.numel());
  }
  const Shape& shape_of(const std::string& name) const {
    if (!file.has(name)) runtime::throw_not_found(where(name) + " is missing (DeepSeek-OCR DeepEncoder layout)");
    return file.entry(name).shape;
  }
  LinearWeights linear(const std::string& prefix, int64_t out, int64_t in, bool bias = true) const {
    LinearWeights l{tensor(prefix + ".weight", {out, in}), {}, out, in};
    if (bias) l.bias = vec(prefix + ".bias", {out});
    return l;
  }
  NormWeights norm(const std::string& prefix, int64_t dim, float eps) const {
    return {vec(prefix + ".weight", {dim}), vec(prefix + ".bias", {dim}), eps};
  }
};

struct ConfigSizes {
  std::optional<int64_t> clip_heads;
  float sam_eps = 1e-6f, clip_eps = 1e-5f;
};

// tiny checkpoints: deepseek_ocr_reference.{sam,clip}; the released
// config.json: vision_config.width["clip-l-14-224"].heads.
ConfigSizes read_config(const std::filesystem::path& directory) {
  ConfigSizes sizes;
  const auto path = directory / "config.json";
  if (!std::filesystem::exists(path)) return sizes;
  const auto root = runtime::read_json_file(path);
  const auto& top = runtime::as_object(root, path.string());
  if (const auto* ref = top.if_contains("deepseek_ocr_reference"); ref != nullptr && ref->is_object()) {
    const auto& r = ref->as_object();
    if (const auto* sam = r.if_contains("sam"); sam != nullptr && sam->is_object()) {
      if (auto eps = runtime::optional_number(sam->as_object(), "eps", path.string() + ": sam")) sizes.sam_eps = *eps;
    }
    if (const auto* clip = r.if_contains("clip"); clip != nullptr && clip->is_object()) {
      const std::string w = path.string() + ": clip";
      sizes.clip_heads = runtime::optional_int(clip->as_object(), "heads", w);
      if (auto eps = runtime::optional_number(clip->as_object(), "eps", w)) sizes.clip_eps = *eps;
    }
  }
  if (!sizes.clip_heads) {
    if (const auto* vc = top.if_contains("vision_config"); vc != nullptr && vc->is_object()) {
      if (const auto* width = vc->as_object().if_contains("width"); width != nullptr && width->is_object()) {
        if (const auto* clip = width->as_object().if_contains("clip-l-14-224"); clip != nullptr && clip->is_object()) {
          sizes.clip_heads = runtime::optional_int(clip->as_object(), "heads", path.string() + ": vision_config");
        }
      }
    }
  }
  return sizes;
}

SamWeights load_sam(const Reader& r, float eps) {
  const std::string p = "model.sam_model.";
  SamWeights s;
  const Shape& pos = r.shape_of(p + "pos_embed");
  if (pos.size() != 4 || pos[0] != 1 || pos[1] != pos[2]) {
    runtime::throw_invalid(r.where(p + "pos_embed") + " has shape " + runtime::shape_string(pos) +
                           ", expected [1, g, g, width]");
  }
  s.pos_grid = pos[1];
  s.width = pos[3];
  s.pos_embed = r.vec(p + "pos_embed", pos);
  s.patch_weight = r.tensor(p + "patch_embed.proj.weight", {s.width, 3, s.patch, s.patch});
  s.patch_bias = r.vec(p + "patch_embed.proj.bias", {s.width});
  for (int64_t i = 0; r.file.has(p + "blocks." + std::to_string(i) + ".norm1.weight"); ++i) {
    const std::string b = p + "blocks." + std::to_string(i) + ".";
    const Shape& rel = r.shape_of(b + "attn.rel_pos_h");
    if (rel.size() != 2 || rel[1] <= 0 || s.width % rel[1] != 0 || rel[0] % 2 == 0) {
      runtime::throw_invalid(r.where(b + "attn.rel_pos_h") + " has shape " + runtime::shape_string(rel) +
                             ", expected [2 * window - 1, head_dim] with head_dim dividing " + std::to_string(s.width));
    }
    if (i == 0) {
      s.head_dim = rel[1];
      s.heads = s.width / s.head_dim;
    }
    SamBlockWeights blk;
    blk.rel_len = rel[0];
    // A global block's table spans the native grid (2g - 1); a windowed one 2 * window - 1.
    blk.window = blk.rel_len == 2 * s.pos_grid - 1 ? 0 : (blk.rel_len + 1) / 2;
    blk.norm1 = r.norm(b + "norm1", s.width, eps);
    blk.norm2 = r.norm(b + "norm2", s.width, eps);
    blk.qkv = r.linear(b + "attn.qkv", 3 * s.width, s.width);
    blk.proj = r.linear(b + "attn.proj", s.width, s.width);
    blk.rel_pos_h = r.vec(b + "attn.rel_pos_h", {blk.rel_len, s.head_dim});
    blk.rel_pos_w = r.vec(b + "attn.rel_pos_w", {blk.rel_len, s.head_dim});
    const int64_t mlp = r.shape_of(b + "mlp.lin1.weight").at(0);
    blk.lin1 = r.linear(b + "mlp.lin1", mlp, s.width);
    blk.lin2 = r.linear(b + "mlp.lin2", s.width, mlp);
    s.blocks.push_back(std::move(blk));
  }
  if (s.blocks.empty()) runtime::throw_not_found(r.where(p + "blocks.0.norm1.weight") + " is missing (no SAM blocks)");
  s.neck_channels = r.shape_of(p + "neck.0.weight").at(0);
  const int64_t n = s.neck_channels;
  s.neck_conv1 = r.tensor(p + "neck.0.weight", {n, s.width, 1, 1});
  s.neck_norm1 = r.norm(p + "neck.1", n, eps);
  s.neck_conv2 = r.tensor(p + "neck.2.weight", {n, n, 3, 3});
  s.neck_norm2 = r.norm(p + "neck.3", n, eps);
  s.channels_2 = r.shape_of(p + "net_2.weight").at(0);
  s.net_2 = r.tensor(p + "net_2.weight", {s.channels_2, n, 3, 3});
  s.channels_3 = r.shape_of(p + "net_3.weight").at(0);
  s.net_3 = r.tensor(p + "net_3.weight", {s.channels_3, s.channels_2, 3, 3});
  return s;
}

ClipWeights load_clip(const Reader& r, const ConfigSizes& cfg, int64_t hidden) {
  const std::string p = "model.vision_model.";
  ClipWeights c;
  c.hidden = hidden;
  c.heads = cfg.clip_heads.value_or(hidden / 64);
  if (c.heads <= 0 || hidden % c.heads != 0) {
    runtime::throw_invalid(r.file.directory().string() + "/config.json: CLIP heads " + std::to_string(c.heads) +
                           (cfg.clip_heads ? "" : " (not stated: hidden / 64)") + " do not divide the hidden size " +
                           std::to_string(hidden));
  }
  c.class_embedding = r.vec(p + "embeddings.class_embedding", {hidden});
  const Shape& pos = r.shape_of(p + "embeddings.position_embedding.weight");
  const int64_t cells = pos.empty() ? 0 : pos[0] - 1;
  c.pos_grid = 0;
  while ((c.pos_grid + 1) * (c.pos_grid + 1) <= cells) ++c.pos_grid;
  if (cells <= 0 || c.pos_grid * c.pos_grid != cells) {
    runtime::throw_invalid(r.where(p + "embeddings.position_embedding.weight") + " has shape " +
                           runtime::shape_string(pos) + ", expected [1 + g², " + std::to_string(hidden) + "]");
  }
  c.position_embedding = r.vec(p + "embeddings.position_embedding.weight", {cells + 1, hidden});
  c.pre_layrnorm = r.norm(p + "pre_layrnorm", hidden, cfg.clip_eps);
  for (int64_t i = 0; r.file.has(p + "transformer.layers." + std::to_string(i) + ".layer_norm1.weight"); ++i) {
    const std::string l = p + "transformer.layers." + std::to_string(i) + ".";
    ClipLayerWeights layer;
    layer.layer_norm1 = r.norm(l + "layer_norm1", hidden, cfg.clip_eps);
    layer.layer_norm2 = r.norm(l + "layer_norm2", hidden, cfg.clip_eps);
    layer.qkv = r.linear(l + "self_attn.qkv_proj", 3 * hidden, hidden);
    layer.out = r.linear(l + "self_attn.out_proj", hidden, hidden);
    const int64_t ffn = r.shape_of(l + "mlp.fc1.weight").at(0);
    layer.fc1 = r.linear(l + "mlp.fc1", ffn, hidden);
    layer.fc2 = r.linear(l + "mlp.fc2", hidden, ffn);
    c.layers.push_back(std::move(layer));
  }
  if (c.layers.empty()) {
    runtime::throw_not_found(r.where(p + "transformer.layers.0.layer_norm1.weight") + " is missing (no CLIP layers)");
  }
  return c;
}

}  // namespace

EncoderWeights load_encoder_weights(const std::filesystem::path& checkpoint) {
  const SafetensorsCheckpoint file(checkpoint);
  const Reader r{file};
  const ConfigSizes cfg = read_config(std::filesystem::is_directory(checkpoint) ? checkpoint : checkpoint.parent_path());
  EncoderWeights w;
  w.sam = load_sam(r, cfg.sam_eps);
  // CLIP takes the compressed SAM map as its patch embeddings: same width.
  w.clip = load_clip(r, cfg, w.sam.channels_3);
  w.lm_hidden = r.shape_of("model.projector.layers.weight").at(0);
  w.projector = r.linear("model.projector.layers", w.lm_hidden, w.clip.hidden + w.sam.channels_3);
  w.image_newline = r.vec("model.image_newline", {w.lm_hidden});
  w.view_separator = r.vec("model.view_seperator", {w.lm_hidden});
  return w;
}

}  // namespace citadel::deepseek_ocr
