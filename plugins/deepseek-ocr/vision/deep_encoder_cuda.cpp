// The CUDA DeepEncoder (CUDA builds only): the CPU encoder's steps on the
// current device. Linear layers and convolutions (im2col) are cuBLAS f16 GEMMs
// with fp32 accumulation (runtime/cuda/cublas_matmul.h); LayerNorm, GELU,
// and windows are runtime/cuda/vision_kernels.h; attention (SAM's windows
// and global blocks, CLIP) is runtime/cuda/gemm_attention.h, cuBLAS TF32
// GEMMs around a bias + softmax kernel, up to 256 MB of scores at a time.
// Position tables are resized on the host once per grid size and kept on
// the device. The encoder's kernels run on a non-blocking stream of its own,
// created on the device current at construction (so that the plugin's
// encoder thread overlaps them with the decoder's steps on the host's
// stream); encode() makes that device current on the calling thread, so it
// may be called from any thread, one call at a time.
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
    cuda::check_cuda(cudaGetDevice(&device_), "cudaGetDevice");
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
    cudaStream_t stream = nullptr;
    cuda::check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
                     "cudaStreamCreateWithFlags (deepseek-ocr vision encoder)");
    stream_ = stream;
    owned_stream_.stream = stream;
  }

  int64_t lm_hidden() const override { return w_.lm_hidden; }

  std::vector<float> encode(const PreparedImage& image) override {
    return encode_and_lay_out(*this, image, w_.image_newline, w_.view_separator);
  }

  ViewFeatures encode_views(const float* pixels, int64_t views, int side) override {
    cuda::check_cuda(cudaSetDevice(device_), "cudaSetDevice (deepseek-ocr vision encoder)");
    ViewFeatures f;
    f.views = views;
    const int64_t plane = int64_t{3} * side * side;
    const int64_t cs = w_.sam.channels_3, cc = w_.clip.hidden, h = w_.lm_hidden;
    const int64_t per_group = views_per_group(side);
    for (int64_t first = 0; first < views; first += per_group) {
      const int64_t n = std::min(per_group, views - first);
      int64_t grid = 0;
      const float* sam = sam_forward(pixels + first * plane, n, side, &grid);  // [n * tokens, cs]
      const int64_t tokens = grid * grid;
      const float* clip = clip_forward(sam, n, grid);  // [n, 1 + tokens, cc]
      float* joined = slot(kJoined, n * tokens * (cc + cs));
      for (int64_t v = 0; v < n; ++v) {
        cuda::concat_columns(clip + (v * (1 + tokens) + 1) * cc, cc, sam + v * tokens * cs, cs, tokens,
                             joined + v * tokens * (cc + cs), stream_);
      }
      float* projected = slot(kProjected, n * tokens * h);
      linear(projector_, joined, n * tokens, projected);
      f.tokens_per_view = tokens;
      append_download(f.sam, sam, n * tokens * cs);
      for (int64_t v = 0; v < n; ++v) append_download(f.clip, clip + (v * (1 + tokens) + 1) * cc, tokens * cc);
      append_download(f.projected, projected, n * tokens * h);
    }
    return f;
  }

 private:
  // Scratch slots, grow-only.
  enum Slot { kPixels, kColumns, kX, kNormed, kQkv, kAttended, kOut, kHidden, kPacked, kNeckA, kNeckB, kHalf, kSam,
              kClipX, kJoined, kProjected, kScores, kSlots };

  // Views of one side encoded together (one GEMM over all their rows, one
  // batched attention): as many as keep the SAM tokens of a group within
  // kGroupTokens (4 Base views, 6 Gundam tiles), at least one.
  static constexpr int64_t kGroupTokens = 16384;
  int64_t views_per_group(int side) const {
    const int64_t grid = side / w_.sam.patch;
    return std::max<int64_t>(1, kGroupTokens / std::max<int64_t>(1, grid * grid));
  }

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

  // Convolution of x [h, h, in_c] into y; returns the output side. A 1x1
  // convolution may take `images` maps at once (consecutive in x and y).
  int64_t conv(const DeviceBuffer& weight, const float* x, int64_t side, int64_t in_c, int64_t out_c, int64_t kernel,
               int64_t stride, int64_t padding, const float* bias, float* y, int64_t images = 1) {
    const int64_t out_side = (side + 2 * padding - kernel) / stride + 1, depth = in_c * kernel * kernel;
    const float* columns = x;
    if (kernel != 1 || stride != 1 || padding != 0) {
      if (images != 1) cuda::fail_invalid("deepseek-ocr: a strided or padded convolution takes one image at a time");
      float* c = slot(kColumns, out_side * out_side * depth);
      cuda::im2col_nhwc(x, side, side, in_c, kernel, stride, padding, c, stream_);
      columns = c;
    }
    cuda::matmul_f16(cublas_, columns, images * out_side * out_side, depth, weight.as<uint16_t>(),
                     cuda::WeightLayout::out_in, out_c, y, bias, stream_);
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
  // SAM, neck and compressor of `n` views of one side (pixels [n, 3, side,
  // side]) -> the compressed maps [n, grid², channels_3] (device slot kSam).
  const float* sam_forward(const float* pixels, int64_t n, int side, int64_t* grid_out) {
    const SamWeights& s = w_.sam;
    if (side <= 0 || side % s.patch != 0) {
      cuda::fail_invalid("deepseek-ocr: SAM view side " + std::to_string(side) + " is not a multiple of " +
                         std::to_string(s.patch));
    }
    const int64_t plane = static_cast<int64_t>(side) * side, grid = side / s.patch, tokens = grid * grid;
    const int64_t width = s.width, rows = n * tokens;
    std::vector<float> hwc(static_cast<size_t>(n * plane * 3));
    for (int64_t v = 0; v < n; ++v) {
      const float* view = pixels + v * plane * 3;
      float* to = hwc.data() + v * plane * 3;
      for (int64_t i = 0; i < plane; ++i) {
        for (int64_t c = 0; c < 3; ++c) to[i * 3 + c] = view[c * plane + i];
      }
    }
    float* px = slot(kPixels, n * plane * 3);
    cuda::synchronize(stream_);  // the previous group's kernels may still read the slot
    // Pageable source: the copy has read `hwc` when this returns.
    cuda::check_cuda(cudaMemcpyAsync(px, hwc.data(), hwc.size() * sizeof(float), cudaMemcpyHostToDevice,
                                     static_cast<cudaStream_t>(stream_)),
                     "cudaMemcpyAsync (pixels to device)");
    float* x = slot(kX, rows * width);
    const float* positions = device_table({0, 0, grid});
    for (int64_t v = 0; v < n; ++v) {
      conv(patch_.weight, px + v * plane * 3, side, 3, width, s.patch, s.patch, 0, patch_.bias.as<float>(),
           x + v * tokens * width);
      cuda::add_in_place(x + v * tokens * width, positions, tokens * width, stream_);
    }

    const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
    float* normed = slot(kNormed, rows * width);
    for (size_t b = 0; b < s.blocks.size(); ++b) {
      const SamBlockWeights& hb = s.blocks[b];
      const DeviceSamBlock& db = sam_blocks_[b];
      norm(db.norm1, x, rows, normed);
      if (hb.window == 0) {
        float* qkv = slot(kQkv, rows * 3 * width);
        linear(db.qkv, normed, rows, qkv);
        float* attended = slot(kAttended, rows * width);
        attention(qkv, width, n, tokens, s.heads, s.head_dim, scale, attended,
                  device_table({1, static_cast<int64_t>(b), grid}), device_table({2, static_cast<int64_t>(b), grid}),
                  grid);
        float* out = slot(kOut, rows * width);
        linear(db.proj, attended, rows, out);
        cuda::add_in_place(x, out, rows * width, stream_);
      } else {
        const int64_t win = hb.window, per_side = (grid + win - 1) / win, padded = per_side * per_side * win * win;
        float* packed = slot(kPacked, n * padded * width);
        for (int64_t v = 0; v < n; ++v) {
          cuda::window_pack(normed + v * tokens * width, grid, width, win, packed + v * padded * width, stream_);
        }
        float* qkv = slot(kQkv, n * padded * 3 * width);
        linear(db.qkv, packed, n * padded, qkv);
        float* attended = slot(kAttended, n * padded * width);
        attention(qkv, width, n * per_side * per_side, win * win, s.heads, s.head_dim, scale, attended,
                  db.rel_h.as<float>(), db.rel_w.as<float>(), win);
        linear(db.proj, attended, n * padded, packed);
        for (int64_t v = 0; v < n; ++v) {
          cuda::window_unpack_add(packed + v * padded * width, grid, width, win, x + v * tokens * width, stream_);
        }
      }
      norm(db.norm2, x, rows, normed);
      float* hidden = slot(kHidden, rows * db.lin1.out);
      linear(db.lin1, normed, rows, hidden);
      cuda::gelu(hidden, rows * db.lin1.out, hidden, stream_);
      float* out = slot(kOut, rows * width);
      linear(db.lin2, hidden, rows, out);
      cuda::add_in_place(x, out, rows * width, stream_);
    }
    const int64_t c = s.neck_channels;
    const int64_t g2 = (grid + 2 - 3) / 2 + 1, g3 = (g2 + 2 - 3) / 2 + 1;
    float* a = slot(kNeckA, rows * c);
    float* b = slot(kNeckB, rows * c);
    float* half = slot(kHalf, n * g2 * g2 * s.channels_2);
    float* sam = slot(kSam, n * g3 * g3 * s.channels_3);
    conv(neck_conv1_, x, grid, width, c, 1, 1, 0, nullptr, a, n);  // 1x1: one GEMM over all views
    norm(neck_norm1_, a, rows, a);
    for (int64_t v = 0; v < n; ++v) conv(neck_conv2_, a + v * tokens * c, grid, c, c, 3, 1, 1, nullptr, b + v * tokens * c);
    norm(neck_norm2_, b, rows, b);
    for (int64_t v = 0; v < n; ++v) {
      conv(net_2_, b + v * tokens * c, grid, c, s.channels_2, 3, 2, 1, nullptr, half + v * g2 * g2 * s.channels_2);
      conv(net_3_, half + v * g2 * g2 * s.channels_2, g2, s.channels_2, s.channels_3, 3, 2, 1, nullptr,
           sam + v * g3 * g3 * s.channels_3);
    }
    *grid_out = g3;
    return sam;
  }

  // The compressed maps [n, grid², c] (device) -> CLIP outputs [n, 1 + grid², c]
  // (device slot kClipX).
  const float* clip_forward(const float* sam, int64_t n, int64_t grid) {
    const ClipWeights& c = w_.clip;
    const int64_t hidden = c.hidden, tokens = 1 + grid * grid, rows = n * tokens;
    float* x = slot(kClipX, rows * hidden);
    const auto stream = static_cast<cudaStream_t>(stream_);
    const float* positions = device_table({3, 0, grid});
    for (int64_t v = 0; v < n; ++v) {
      float* view = x + v * tokens * hidden;
      cuda::check_cuda(cudaMemcpyAsync(view, class_embedding_.data(), static_cast<size_t>(hidden) * sizeof(float),
                                       cudaMemcpyDeviceToDevice, stream),
                       "cudaMemcpyAsync (class embedding)");
      cuda::check_cuda(cudaMemcpyAsync(view + hidden, sam + v * (tokens - 1) * hidden,
                                       static_cast<size_t>((tokens - 1) * hidden) * sizeof(float),
                                       cudaMemcpyDeviceToDevice, stream),
                       "cudaMemcpyAsync (SAM map as patch embeddings)");
      cuda::add_in_place(view, positions, tokens * hidden, stream_);
    }
    norm(clip_pre_, x, rows, x);
    const int64_t head_dim = hidden / c.heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    float* normed = slot(kNormed, rows * hidden);
    float* qkv = slot(kQkv, rows * 3 * hidden);
    float* attended = slot(kAttended, rows * hidden);
    float* out = slot(kOut, rows * hidden);
    for (const DeviceClipLayer& l : clip_layers_) {
      norm(l.ln1, x, rows, normed);
      linear(l.qkv, normed, rows, qkv);
      attention(qkv, hidden, n, tokens, c.heads, head_dim, scale, attended, nullptr, nullptr, 0);
      linear(l.out, attended, rows, out);
      cuda::add_in_place(x, out, rows * hidden, stream_);
      norm(l.ln2, x, rows, normed);
      float* h = slot(kHidden, rows * l.fc1.out);
      linear(l.fc1, normed, rows, h);
      cuda::quick_gelu(h, rows * l.fc1.out, h, stream_);
      linear(l.fc2, h, rows, out);
      cuda::add_in_place(x, out, rows * hidden, stream_);
    }
    return x;
  }

  // Synchronizes and destroys the encoder's stream; declared last, so it goes
  // before the buffers its kernels may still use.
  struct OwnedStream {
    cudaStream_t stream = nullptr;
    OwnedStream() = default;
    OwnedStream(const OwnedStream&) = delete;
    OwnedStream& operator=(const OwnedStream&) = delete;
    ~OwnedStream() {
      if (stream != nullptr) {
        cudaStreamSynchronize(stream);
        cudaStreamDestroy(stream);
      }
    }
  };

  EncoderWeights w_;
  int device_ = 0;          // the device current at construction
  void* stream_ = nullptr;  // the encoder's own non-blocking stream (owned_stream_)
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
  OwnedStream owned_stream_;
};

}  // namespace

std::unique_ptr<DeepEncoder> make_cuda_encoder(EncoderWeights weights) {
  return std::make_unique<DeepEncoderCuda>(std::move(weights));
}

std::unique_ptr<DeepEncoder> DeepEncoder::load_cuda(const std::filesystem::path& checkpoint, runtime::ThreadPool&) {
  return make_cuda_encoder(load_encoder_weights(checkpoint));
}

}  // namespace citadel::deepseek_ocr
