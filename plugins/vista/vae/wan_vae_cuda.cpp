// The Wan2.1 VAE decoder on CUDA: weights, workspace, streams and the CUDA
// VaeBackend (see wan_vae_cuda.h); one decode pass in wan_vae_cuda_pass.cpp.
#include "wan_vae_cuda.h"
#include "wan_vae_cuda_pass.h"

#include "runtime/core/error.h"
#include "runtime/cuda/cudnn_conv3d.h"
#include "runtime/cuda/layer_kernels.h"

#include <algorithm>
#include <cmath>

namespace citadel::vista {

using runtime::RuntimeError;
using runtime::cuda::DeviceBuffer;

// ---- workspace ----

DeviceBuffer CudaVaeWorkspace::take(size_t bytes, const char* what) {
  bytes = std::max<size_t>(bytes, 256);
  auto best = free_.end();
  for (auto it = free_.begin(); it != free_.end(); ++it)
    if (it->size() >= bytes && it->size() <= 2 * bytes + (size_t{1} << 20) &&
        (best == free_.end() || it->size() < best->size()))
      best = it;
  if (best != free_.end()) {
    DeviceBuffer buffer = std::move(*best);
    free_.erase(best);
    return buffer;
  }
  try {
    return DeviceBuffer(bytes, what);
  } catch (const std::exception&) {
    if (free_.empty()) throw;
    free_.clear();  // buffers of other sizes, kept from earlier videos
    return DeviceBuffer(bytes, what);
  }
}

void CudaVaeWorkspace::give(DeviceBuffer buffer) {
  if (buffer.data() != nullptr) free_.push_back(std::move(buffer));
}

std::shared_ptr<CudaVaeWorkspace> make_cuda_vae_workspace() { return std::make_shared<CudaVaeWorkspace>(); }

// ---- weights ----

runtime::cuda::Conv3dGemmWeights CudaVaeConv::view() const {
  return {weight.as<uint16_t>(), bias.as<float>(), geometry.in_channels, geometry.out_channels,
          geometry.kernel_t,     geometry.kernel_h, geometry.kernel_w};
}

CudaVaeConv CudaWanVaeDecoder::upload(const VaeConv& conv) {
  const runtime::Conv3dGeometry& g = conv.geometry;
  const int64_t count = g.out_channels * g.in_channels * g.kernel_t * g.kernel_h * g.kernel_w;
  if (static_cast<int64_t>(conv.weight.size()) != count || static_cast<int64_t>(conv.bias.size()) != g.out_channels)
    throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, "vae cuda: " + conv.name + " has " +
                                                         std::to_string(conv.weight.size()) + " weights and " +
                                                         std::to_string(conv.bias.size()) + " biases for its shape");
  if (g.pad_h != g.kernel_h / 2 || g.pad_w != g.kernel_w / 2 || g.kernel_h % 2 == 0 || g.kernel_w % 2 == 0)
    throw RuntimeError(CITADEL_ERR_UNSUPPORTED, "vae cuda: " + conv.name + ": only odd kernels with \"same\" padding");
  CudaVaeConv device;
  device.name = conv.name;
  device.geometry = g;
  if (convolutions_ == VaeConvolutions::cudnn) {
    device.weight_f32 = DeviceBuffer::from_vector(conv.weight, "vista vae conv weight");
  } else {
    float largest = 0.0f;
    for (float w : conv.weight) largest = std::max(largest, std::abs(w));
    if (!(largest <= 65504.0f))
      throw RuntimeError(CITADEL_ERR_UNSUPPORTED, "vae cuda: " + conv.name + ".weight holds |w| = " +
                                                      std::to_string(largest) + ", beyond f16's range");
    const DeviceBuffer single = DeviceBuffer::from_vector(conv.weight, "vista vae conv weight");
    device.weight = DeviceBuffer(static_cast<size_t>(count) * sizeof(uint16_t), "vista vae f16 conv weight");
    runtime::cuda::float_to_half(single.as<float>(), device.weight.as<uint16_t>(), count, nullptr);
    runtime::cuda::synchronize(nullptr);
  }
  device.bias = DeviceBuffer::from_vector(conv.bias, "vista vae conv bias");
  if (g.kernel_t > 1) device.cache_slot = cache_slots_++;
  return device;
}

// Checks the bound of an RMS norm's output (see norm_outputs_fit_f16).
DeviceBuffer CudaWanVaeDecoder::upload_gamma(const std::vector<float>& gamma) {
  float largest = 0.0f;
  for (float g : gamma) largest = std::max(largest, std::abs(g));
  if (!(std::sqrt(static_cast<float>(gamma.size())) * largest < 32768.0f)) norm_outputs_fit_f16_ = false;
  return DeviceBuffer::from_vector(gamma, "vista vae gamma");
}

CudaVaeResidual CudaWanVaeDecoder::upload(const VaeResidualBlock& block) {
  CudaVaeResidual device;
  device.norm1_gamma = upload_gamma(block.norm1_gamma);
  device.norm2_gamma = upload_gamma(block.norm2_gamma);
  device.conv1 = upload(block.conv1);
  device.conv2 = upload(block.conv2);
  if (block.shortcut) device.shortcut = upload(*block.shortcut);
  return device;
}

CudaWanVaeDecoder::CudaWanVaeDecoder(const WanVaeDecoder& decoder, VaeConvolutions convolutions)
    : host_(decoder), convolutions_(convolutions) {
  if (convolutions == VaeConvolutions::cudnn && !runtime::cuda::cudnn_available())
    throw RuntimeError(CITADEL_ERR_UNSUPPORTED,
                       "vae cuda: cudnn convolutions need libcudnn.so.9: " + runtime::cuda::cudnn_missing());
  const WanVaeWeights& w = decoder.weights();
  post_quant_conv = upload(w.post_quant_conv);
  conv_in = upload(w.conv_in);
  mid_first = upload(w.mid_first);
  attention_gamma = upload_gamma(w.mid_attention.norm_gamma);
  attention_qkv = upload(w.mid_attention.to_qkv);
  attention_proj = upload(w.mid_attention.proj);
  mid_second = upload(w.mid_second);
  for (const VaeUpBlock& block : w.up_blocks) {
    CudaVaeUpBlock device;
    for (const VaeResidualBlock& resnet : block.resnets) device.resnets.push_back(upload(resnet));
    if (block.upsampler) {
      if (block.upsampler->time_conv) device.time_conv = upload(*block.upsampler->time_conv);
      device.spatial_conv = upload(block.upsampler->spatial_conv);
      if (device.spatial_conv->geometry.kernel_t != 1)
        throw RuntimeError(CITADEL_ERR_UNSUPPORTED, "vae cuda: " + device.spatial_conv->name + " must be 2-D");
    }
    up_blocks.push_back(std::move(device));
  }
  norm_out_gamma = upload_gamma(w.norm_out_gamma);
  conv_out = upload(w.conv_out);
  runtime::cuda::synchronize(nullptr);
}

uint64_t CudaWanVaeDecoder::weight_bytes() const {
  uint64_t bytes = attention_gamma.size() + norm_out_gamma.size();
  auto conv = [&](const CudaVaeConv& c) { bytes += c.weight.size() + c.weight_f32.size() + c.bias.size(); };
  auto residual = [&](const CudaVaeResidual& block) {
    bytes += block.norm1_gamma.size() + block.norm2_gamma.size();
    conv(block.conv1);
    conv(block.conv2);
    if (block.shortcut) conv(*block.shortcut);
  };
  for (const CudaVaeConv* c : {&post_quant_conv, &conv_in, &conv_out, &attention_qkv, &attention_proj}) conv(*c);
  residual(mid_first);
  residual(mid_second);
  for (const CudaVaeUpBlock& block : up_blocks) {
    for (const CudaVaeResidual& resnet : block.resnets) residual(resnet);
    if (block.spatial_conv) conv(*block.spatial_conv);
    if (block.time_conv) conv(*block.time_conv);
  }
  return bytes;
}

double CudaWanVaeDecoder::flops(int64_t latent_frames, int64_t height, int64_t width, bool first) const {
  const WanVaeWeights& w = host_.weights();
  double total = 0.0;
  int64_t frames = latent_frames;
  auto conv = [&](const VaeConv& c, int64_t positions) {
    const runtime::Conv3dGeometry& g = c.geometry;
    total += 2.0 * g.out_channels * g.in_channels * g.kernel_t * g.kernel_h * g.kernel_w * positions;
  };
  auto residual = [&](const VaeResidualBlock& b) {
    const int64_t positions = frames * height * width;
    if (b.shortcut) conv(*b.shortcut, positions);
    conv(b.conv1, positions);
    conv(b.conv2, positions);
  };
  conv(w.post_quant_conv, frames * height * width);
  conv(w.conv_in, frames * height * width);
  residual(w.mid_first);
  conv(w.mid_attention.to_qkv, frames * height * width);
  conv(w.mid_attention.proj, frames * height * width);
  const double pixels = static_cast<double>(height * width);
  total += 4.0 * frames * pixels * pixels * w.mid_attention.proj.geometry.in_channels;  // q kᵀ and p v
  residual(w.mid_second);
  for (const VaeUpBlock& block : w.up_blocks) {
    for (const VaeResidualBlock& resnet : block.resnets) residual(resnet);
    if (!block.upsampler) continue;
    if (block.upsampler->time_conv) {
      const int64_t skipped = first ? 1 : 0;
      conv(*block.upsampler->time_conv, (frames - skipped) * height * width);
      frames = skipped + 2 * (frames - skipped);
    }
    height *= 2;
    width *= 2;
    conv(block.upsampler->spatial_conv, frames * height * width);
  }
  conv(w.conv_out, frames * height * width);
  return total;
}

// ---- streams ----

CudaWanVaeStream::CudaWanVaeStream(const CudaWanVaeDecoder& decoder, void* stream,
                                   std::shared_ptr<CudaVaeWorkspace> workspace, int64_t frames_per_pass)
    : decoder_(decoder), stream_(stream), workspace_(workspace ? std::move(workspace) : make_cuda_vae_workspace()),
      frames_per_pass_(std::max<int64_t>(frames_per_pass, 1)),
      histories_(static_cast<size_t>(decoder.cache_slots())), history_bytes_(histories_.size(), 0) {}

CudaWanVaeStream::~CudaWanVaeStream() {
  for (DeviceBuffer& history : histories_) workspace_->give(std::move(history));
}

uint64_t CudaWanVaeStream::state_bytes() const {
  uint64_t bytes = 0;
  for (uint64_t b : history_bytes_) bytes += b;
  return bytes;
}

template <typename Visit>
void CudaWanVaeStream::decode(const VideoTensor& latents, Visit&& visit) {
  decoder_.host().check_latents(latents, latent_frames_, latent_height_, latent_width_);
  for (int64_t first = 0; first < latents.frames; first += frames_per_pass_) {
    const int64_t count = std::min(frames_per_pass_, latents.frames - first);
    const VideoTensor part = frame_range(latents, first, count);
    CudaVaePass pass(*this);
    const DeviceVideo pixels = pass.run(part.data.data(), count, latents.height, latents.width);
    latent_frames_ += count;
    latent_height_ = latents.height;
    latent_width_ = latents.width;
    visit(pixels);
  }
}

VideoTensor CudaWanVaeStream::push_pixels(const VideoTensor& latents) {
  VideoTensor all;
  decode(latents, [&](const DeviceVideo& pixels) {
    VideoTensor part(pixels.channels, pixels.frames, pixels.height, pixels.width);
    pixels.buffer.download(part.data.data(), part.data.size() * sizeof(float), 0, stream_);
    all = concat_frames(all, part);
  });
  return all;
}

std::vector<RgbFrame> CudaWanVaeStream::push(const VideoTensor& latents) {
  std::vector<RgbFrame> frames;
  decode(latents, [&](const DeviceVideo& pixels) {
    const int64_t plane = pixels.plane();
    const size_t bytes = static_cast<size_t>(pixels.frames * plane * 3);
    DeviceBuffer rgb = workspace_->take(bytes, "vista vae rgb");
    runtime::cuda::pixels_to_rgb(pixels.data(), pixels.frames, plane, rgb.as<uint8_t>(), stream_);
    std::vector<uint8_t> host(bytes);
    rgb.download(host.data(), bytes, 0, stream_);
    workspace_->give(std::move(rgb));
    for (int64_t t = 0; t < pixels.frames; ++t) {
      RgbFrame frame;
      frame.width = pixels.width;
      frame.height = pixels.height;
      frame.rgb.assign(host.begin() + t * plane * 3, host.begin() + (t + 1) * plane * 3);
      frames.push_back(std::move(frame));
    }
  });
  return frames;
}

// ---- the plugin's backend ----

namespace {

class CudaVaeBackend final : public VaeBackend {
 public:
  CudaVaeBackend(const WanVaeDecoder& decoder, void* stream, VaeConvolutions convolutions)
      : device_(decoder, convolutions), stream_(stream), workspace_(make_cuda_vae_workspace()) {}
  std::unique_ptr<VaeStream> open_stream() override {
    return std::make_unique<CudaWanVaeStream>(device_, stream_, workspace_);
  }
  uint64_t device_weight_bytes() const override { return device_.weight_bytes(); }

 private:
  CudaWanVaeDecoder device_;
  void* stream_;
  std::shared_ptr<CudaVaeWorkspace> workspace_;
};

}  // namespace

std::unique_ptr<VaeBackend> make_cuda_vae_backend(const WanVaeDecoder& decoder, void* stream,
                                                  VaeConvolutions convolutions) {
  return std::make_unique<CudaVaeBackend>(decoder, stream, convolutions);
}

}  // namespace citadel::vista
