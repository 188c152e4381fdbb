// The CUDA DeepEncoder (CUDA builds only): the CPU encoder's steps on the
// current device. Linear layers and convolutions (im2col) are cuBLAS f16 GEMMs
// with fp32 accumulation (runtime/cuda/cublas_matmul.h); LayerNorm, GELU,
// and windows are runtime/cuda/vision_kernels.h; attention (SAM's windows
// and global blocks, CLIP) is runtime/cuda/gemm_attention.h, cuBLAS TF32
// GEMMs around a bias + softmax kernel, up to 256 MB of scores at a time.
// Position tables are resized on the host once per grid size and kept on
// the device.
#include "deep_encoder.h"

#include "embedding_layout.h"
#include "encoder_weights.h"
#include "position_tables.h"
#include "random_weights.h"

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/gemm_attention.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/cuda/vision_kernels.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

namespace citadel::deepseek_ocr {
namespace {

namespace cuda = runtime::cuda;
using cuda::DeviceBuffer;

DeviceBuffer upload_floats(const std::vector<float>& v, const char* what) {
  return v.empty() ? DeviceBuffer() : DeviceBuffer::from_vector(v, what);
}

// A matrix (any float dtype, [out, ...] row-major) as f16 on the device.
DeviceBuffer upload_f16(const runtime::Tensor& t, const char* what) {
  const runtime::Tensor half = t.to_f32().converted(runtime::DType::f16);
  return DeviceBuffer::from_host(half.data(), half.nbytes(), what);
}

struct DeviceLinear {
  DeviceBuffer weight, bias;
  int64_t out = 0, in = 0;
};

DeviceLinear upload_linear(const LinearWeights& l) {
  return {upload_f16(l.weight, "deepseek-ocr vision weight"), upload_floats(l.bias, "deepseek-ocr vision bias"), l.out,
          l.in};
}

struct DeviceNorm {
  DeviceBuffer weight, bias;
  float eps = 0;
  int64_t dim = 0;
};

DeviceNorm upload_norm(const NormWeights& n) {
  return {upload_floats(n.weight, "deepseek-ocr norm"), upload_floats(n.bias, "deepseek-ocr norm"), n.eps,
          static_cast<int64_t>(n.weight.size())};
}

struct DeviceSamBlock {
  DeviceNorm norm1, norm2;
  DeviceLinear qkv, proj, lin1, lin2;
  DeviceBuffer rel_h, rel_w;  // windowed blocks: the [2 window - 1, hd] tables
};

struct DeviceClipLayer {
  DeviceNorm ln1, ln2;
  DeviceLinear qkv, out, fc1, fc2;
};

class DeepEncoderCuda final : public DeepEncoder {
 public:
  explicit DeepEncoderCuda(EncoderWeights weights) : w_(std::move(weights)) {
    const SamWeights& s = w_.sam;
    patch_ = {upload_f16(s.patch_weight, "SAM patch embedding"), upload_floats(s.patch_bias, "SAM patch bias"),
              s.width, 3 * s.patch * s.patch};
    for (const SamBlockWeights& b : s.blocks) {
      DeviceSamBlock d{upload_norm(b.norm1), upload_norm(b.norm2), upload_linear(b.qkv), upload_linear(b.proj),
                       upload_linear(b.lin1), upload_linear(b.lin2), {}, {}};
      if (b.window != 0) {
        d.rel_h = upload_floats(b.rel_pos_h, "SAM rel_pos_h");
        d.rel_w = upload_floats(b.rel_pos_w, "SAM rel_pos_w");
      }
      sam_blocks_.push_back(std::move(d));
    }
    neck_conv1_ = upload_f16(s.neck_conv1, "SAM neck");
    neck_conv2_ = upload_f16(s.neck_conv2, "SAM neck");
    neck_norm1_ = upload_norm(s.neck_norm1);
    neck_norm2_ = upload_norm(s.neck_norm2);
    net_2_ = upload_f16(s.net_2, "SAM net_2");
    net_3_ = upload_f16(s.net_3, "SAM net_3");
    class_embedding_ = upload_floats(w_.clip.class_embedding, "CLIP class embedding");
    clip_pre_ = upload_norm(w_.clip.pre_layrnorm);
    for (const ClipLayerWeights& l : w_.clip.layers) {
      clip_layers_.push_back({upload_norm(l.layer_norm1), upload_norm(l.layer_norm2), upload_linear(l.qkv),
                              upload_linear(l.out), upload_linear(l.fc1), upload_linear(l.fc2)});
    }
    projector_ = upload_linear(w_.projector);
  }

  int64_t lm_hidden() const override { return w_.lm_hidden; }

  std::vector<float> encode(const PreparedImage& image) override {
    return encode_and_lay_out(*this, image, w_.image_newline, w_.view_separator);
  }

  ViewFeatures encode_views(const float* pixels, int64_t views, int side) override {
    ViewFeatures f;
    f.views = views;
    const int64_t plane = int64_t{3} * side * side;
    const int64_t cs = w_.sam.channels_3, cc = w_.clip.hidden, h = w_.lm_hidden;
    for (int64_t v = 0; v < views; ++v) {
      int64_t grid = 0;
      const float* sam = sam_forward(pixels + v * plane, side, &grid);
      const int64_t tokens = grid * grid;
      const float* clip = clip_forward(sam, grid);  // [1 + tokens, cc]
      float* joined = slot(kJoined, tokens * (cc + cs));
      cuda::concat_columns(clip + cc, cc, sam, cs, tokens, joined, stream_);
      float* projected = slot(kProjected, tokens * h);
      linear(projector_, joined, tokens, projected);
      f.tokens_per_view = tokens;
      append_download(f.sam, sam, tokens * cs);
      append_download(f.clip, clip + cc, tokens * cc);
      append_download(f.projected, projected, tokens * h);
    }
    return f;
  }

 private:
  // Scratch slots, grow-only.
  enum Slot { kPixels, kColumns, kX, kNormed, kQkv, kAttended, kOut, kHidden, kPacked, kNeckA, kNeckB, kHalf, kSam,
              kClipX, kJoined, kProjected, kScores, kSlots };

  // The attention scores gemm_attention holds at once: as many (sequence,
  // head) pairs as fit in kScoreBytes, at least one.
  static constexpr int64_t kScoreBytes = int64_t{256} << 20;
  void attention(const float* qkv, int64_t width, int64_t sequences, int64_t tokens, int64_t heads, int64_t head_dim,
                 float scale, float* out, const float* table_h, const float* table_w, int64_t grid) {
    const int64_t per_pair = cuda::gemm_attention_head_floats(tokens);
    const int64_t at_once =
        std::clamp<int64_t>(kScoreBytes / int64_t{sizeof(float)} / per_pair, 1, sequences == 1 ? heads : sequences);
    float* scores = slot(kScores, at_once * per_pair);
    cuda::gemm_attention(cublas_, qkv, qkv + width, qkv + 2 * width, 3 * width, sequences, tokens, heads, head_dim,
                         scale, out, table_h, table_w, grid, grid, scores, at_once * per_pair, stream_);
  }

  float* slot(Slot s, int64_t elements) {
    DeviceBuffer& b = slots_[s];
    const size_t bytes = static_cast<size_t>(elements) * sizeof(float);
    if (b.size() < bytes) b = DeviceBuffer(bytes, "deepseek-ocr vision activations");
    return b.as<float>();
  }

  void append_download(std::vector<float>& to, const float* device, int64_t n) {
    const size_t at = to.size();
    to.resize(at + static_cast<size_t>(n));
    cuda::check_cuda(cudaMemcpyAsync(to.data() + at, device, static_cast<size_t>(n) * sizeof(float),
                                     cudaMemcpyDeviceToHost, static_cast<cudaStream_t>(stream_)),
                     "cudaMemcpyAsync (vision features to host)");
    cuda::synchronize(stream_);
  }

  void linear(const DeviceLinear& l, const float* x, int64_t m, float* y) {
    cuda::matmul_f16(cublas_, x, m, l.in, l.weight.as<uint16_t>(), cuda::WeightLayout::out_in, l.out, y,
                     l.bias.size() != 0 ? l.bias.as<float>() : nullptr, stream_);
  }

  void norm(const DeviceNorm& n, const float* x, int64_t rows, float* y) {
    cuda::layer_norm(x, rows, n.dim, n.weight.as<float>(), n.bias.as<float>(), n.eps, y, stream_);
  }

  // Convolution (no bias) of x [h, h, in_c] into y; returns the output side.
  int64_t conv(const DeviceBuffer& weight, const float* x, int64_t side, int64_t in_c, int64_t out_c, int64_t kernel,
               int64_t stride, int64_t padding, const float* bias, float* y) {
    const int64_t out_side = (side + 2 * padding - kernel) / stride + 1, depth = in_c * kernel * kernel;
    const float* columns = x;
    if (kernel != 1 || stride != 1 || padding != 0) {
      float* c = slot(kColumns, out_side * out_side * depth);
      cuda::im2col_nhwc(x, side, side, in_c, kernel, stride, padding, c, stream_);
      columns = c;
    }
    cuda::matmul_f16(cublas_, columns, out_side * out_side, depth, weight.as<uint16_t>(), cuda::WeightLayout::out_in,
                     out_c, y, bias, stream_);
    return out_side;
  }

  const float* device_table(std::tuple<int, int64_t, int64_t> key) {
    auto it = tables_.find(key);
    if (it != tables_.end()) return it->second.as<float>();
    const auto [kind, index, grid] = key;
    std::vector<float> host;
    if (kind == 0) host = sam_positions(w_.sam, grid);
    if (kind == 1 || kind == 2) host = sam_global_rel_table(w_.sam, w_.sam.blocks[static_cast<size_t>(index)], kind == 1, grid);
    if (kind == 3) host = clip_positions(w_.clip, grid);
    return tables_.emplace(key, DeviceBuffer::from_vector(host, "deepseek-ocr position table")).first->second.as<float>();
  }

  // pixels CHW (host) -> the compressed map [q², channels_3] (device slot kSam).
  const float* sam_forward(const float* pixels, int side, int64_t* grid_out) {
    const SamWeights& s = w_.sam;
    if (side <= 0 || side % s.patch != 0) {
      cuda::fail_invalid("deepseek-ocr: SAM view side " + std::to_string(side) + " is not a multiple of " +
                         std::to_string(s.patch));
    }
    const int64_t plane = static_cast<int64_t>(side) * side, grid = side / s.patch, tokens = grid * grid;
    const int64_t width = s.width;
    std::vector<float> hwc(static_cast<size_t>(plane * 3));
    for (int64_t i = 0; i < plane; ++i) {
      for (int64_t c = 0; c < 3; ++c) hwc[static_cast<size_t>(i * 3 + c)] = pixels[c * plane + i];
    }
    float* px = slot(kPixels, plane * 3);
    cuda::synchronize(stream_);  // the previous view's kernels may still read the slot
    cuda::check_cuda(cudaMemcpy(px, hwc.data(), hwc.size() * sizeof(float), cudaMemcpyHostToDevice),
                     "cudaMemcpy (pixels to device)");
    float* x = slot(kX, tokens * width);
    conv(patch_.weight, px, side, 3, width, s.patch, s.patch, 0, patch_.bias.as<float>(), x);
    cuda::add_in_place(x, device_table({0, 0, grid}), tokens * width, stream_);

    const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
    float* normed = slot(kNormed, tokens * width);
    for (size_t b = 0; b < s.blocks.size(); ++b) {
      const SamBlockWeights& hb = s.blocks[b];
      const DeviceSamBlock& db = sam_blocks_[b];
      norm(db.norm1, x, tokens, normed);
      if (hb.window == 0) {
        float* qkv = slot(kQkv, tokens * 3 * width);
        linear(db.qkv, normed, tokens, qkv);
        float* attended = slot(kAttended, tokens * width);
        attention(qkv, width, 1, tokens, s.heads, s.head_dim, scale, attended,
                  device_table({1, static_cast<int64_t>(b), grid}), device_table({2, static_cast<int64_t>(b), grid}),
                  grid);
        float* out = slot(kOut, tokens * width);
        linear(db.proj, attended, tokens, out);
        cuda::add_in_place(x, out, tokens * width, stream_);
      } else {
        const int64_t win = hb.window, per_side = (grid + win - 1) / win, padded = per_side * per_side * win * win;
        float* packed = slot(kPacked, padded * width);
        cuda::window_pack(normed, grid, width, win, packed, stream_);
        float* qkv = slot(kQkv, padded * 3 * width);
        linear(db.qkv, packed, padded, qkv);
        float* attended = slot(kAttended, padded * width);
        attention(qkv, width, per_side * per_side, win * win, s.heads, s.head_dim, scale, attended,
                  db.rel_h.as<float>(), db.rel_w.as<float>(), win);
        linear(db.proj, attended, padded, packed);
        cuda::window_unpack_add(packed, grid, width, win, x, stream_);
      }
      norm(db.norm2, x, tokens, normed);
      float* hidden = slot(kHidden, tokens * db.lin1.out);
      linear(db.lin1, normed, tokens, hidden);
      cuda::gelu(hidden, tokens * db.lin1.out, hidden, stream_);
      float* out = slot(kOut, tokens * width);
      linear(db.lin2, hidden, tokens, out);
      cuda::add_in_place(x, out, tokens * width, stream_);
    }
    const int64_t n = s.neck_channels;
    float* a = slot(kNeckA, tokens * n);
    float* b = slot(kNeckB, tokens * n);
    conv(neck_conv1_, x, grid, width, n, 1, 1, 0, nullptr, a);
    norm(neck_norm1_, a, tokens, a);
    conv(neck_conv2_, a, grid, n, n, 3, 1, 1, nullptr, b);
    norm(neck_norm2_, b, tokens, b);
    const int64_t g2 = (grid + 2 - 3) / 2 + 1;
    float* half = slot(kHalf, g2 * g2 * s.channels_2);
    conv(net_2_, b, grid, n, s.channels_2, 3, 2, 1, nullptr, half);
    const int64_t g3 = (g2 + 2 - 3) / 2 + 1;
    float* sam = slot(kSam, g3 * g3 * s.channels_3);
    conv(net_3_, half, g2, s.channels_2, s.channels_3, 3, 2, 1, nullptr, sam);
    *grid_out = g3;
    return sam;
  }

  // The compressed map [grid², c] (device) -> CLIP output [1 + grid², c] (device slot kClipX).
  const float* clip_forward(const float* sam, int64_t grid) {
    const ClipWeights& c = w_.clip;
    const int64_t hidden = c.hidden, tokens = 1 + grid * grid;
    float* x = slot(kClipX, tokens * hidden);
    const auto stream = static_cast<cudaStream_t>(stream_);
    cuda::check_cuda(cudaMemcpyAsync(x, class_embedding_.data(), static_cast<size_t>(hidden) * sizeof(float),
                                     cudaMemcpyDeviceToDevice, stream),
                     "cudaMemcpyAsync (class embedding)");
    cuda::check_cuda(cudaMemcpyAsync(x + hidden, sam, static_cast<size_t>((tokens - 1) * hidden) * sizeof(float),
                                     cudaMemcpyDeviceToDevice, stream),
                     "cudaMemcpyAsync (SAM map as patch embeddings)");
    cuda::add_in_place(x, device_table({3, 0, grid}), tokens * hidden, stream_);
    norm(clip_pre_, x, tokens, x);
    const int64_t head_dim = hidden / c.heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    float* normed = slot(kNormed, tokens * hidden);
    float* qkv = slot(kQkv, tokens * 3 * hidden);
    float* attended = slot(kAttended, tokens * hidden);
    float* out = slot(kOut, tokens * hidden);
    for (const DeviceClipLayer& l : clip_layers_) {
      norm(l.ln1, x, tokens, normed);
      linear(l.qkv, normed, tokens, qkv);
      attention(qkv, hidden, 1, tokens, c.heads, head_dim, scale, attended, nullptr, nullptr, 0);
      linear(l.out, attended, tokens, out);
      cuda::add_in_place(x, out, tokens * hidden, stream_);
      norm(l.ln2, x, tokens, normed);
      float* h = slot(kHidden, tokens * l.fc1.out);
      linear(l.fc1, normed, tokens, h);
      cuda::quick_gelu(h, tokens * l.fc1.out, h, stream_);
      linear(l.fc2, h, tokens, out);
      cuda::add_in_place(x, out, tokens * hidden, stream_);
    }
    return x;
  }

  EncoderWeights w_;
  void* stream_ = nullptr;  // the default stream
  cuda::CublasContext cublas_;
  DeviceLinear patch_;
  std::vector<DeviceSamBlock> sam_blocks_;
  DeviceBuffer neck_conv1_, neck_conv2_, net_2_, net_3_, class_embedding_;
  DeviceNorm neck_norm1_, neck_norm2_, clip_pre_;
  std::vector<DeviceClipLayer> clip_layers_;
  DeviceLinear projector_;
  // (kind, block, grid): 0 SAM positions, 1/2 a global block's rel_pos_h/w, 3 CLIP positions.
  std::map<std::tuple<int, int64_t, int64_t>, DeviceBuffer> tables_;
  DeviceBuffer slots_[kSlots];
};

}  // namespace

std::unique_ptr<DeepEncoder> make_cuda_encoder(EncoderWeights weights) {
  return std::make_unique<DeepEncoderCuda>(std::move(weights));
}

std::unique_ptr<DeepEncoder> DeepEncoder::load_cuda(const std::filesystem::path& checkpoint, runtime::ThreadPool&) {
  return make_cuda_encoder(load_encoder_weights(checkpoint));
}

}  // namespace citadel::deepseek_ocr
