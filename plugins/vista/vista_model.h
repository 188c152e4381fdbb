// VistaModel: the vista plugin's model (citadel::sdk::Model). Loads a Wan2.1
// text-to-video checkpoint in the diffusers layout (transformer/,
// text_encoder/, tokenizer/; transformer tensors may use the original Wan /
// Self-Forcing names), describes the frame KV cache to the host (a cache
// token is a latent-frame patch token: K and V of `dim` values per layer),
// plans each request's cache tokens (video_layout.h) and advances requests
// chunk by chunk (video_request.h). The prompt is encoded by UMT5 at the
// request's first step. The chunk passes run on the instance's device
// (ChunkForward: CPU, or CUDA in CUDA builds), and so do UMT5 (TextEncoder)
// and the VAE (VaeBackend); the host-side conditioning runs on the CPU.
// describe() reports the device bytes of all their weights. Called by the
// SDK trampolines, one thread at a time.
#pragma once

#include "chunk_forward.h"
#include "umt5_encoder.h"
#include "wan_vae_decoder.h"
#include "video_request.h"
#include "vista_options.h"
#include "wan_transformer.h"

#include "runtime/core/thread_pool.h"
#include "runtime/text/tokenizer.h"

#include <citadel/sdk.hpp>

#include <map>
#include <memory>
#include <string>

namespace citadel::vista {

class VistaModel : public sdk::Model {
 public:
  VistaModel(const sdk::Host& host, const sdk::ModelConfig& config);

  citadel_model_info describe() override;
  sdk::RequestPlan open_request(uint64_t request_id, std::string_view input_json,
                                std::span<const uint8_t> payload) override;
  void step(const citadel_step_batch& batch, citadel_step_output* outputs) override;
  void close_request(uint64_t request_id) override;

 private:
  struct Entry {
    std::unique_ptr<VideoRequest> video;
    std::string error;
  };
  void encode_prompt(VideoRequest& video);
  void step_one(const citadel_step_item& item, Entry& entry, citadel_step_output& out);
  std::unique_ptr<ChunkOutput> make_output(int64_t frames) const;
  // Device bytes of the transformer's, UMT5's and the VAE's weights (0 on the CPU).
  uint64_t device_weight_bytes() const;
  // On a CUDA device, at create: one UMT5 encode of a text_len prompt and
  // one VAE latent frame at the default size, so that their device
  // workspaces (kept for reuse) exist before the first request, whose first
  // frame would otherwise wait for them. Returns the milliseconds taken.
  double warm_up();

  sdk::Host host_;
  std::string name_;
  VistaOptions options_;
  std::unique_ptr<runtime::ThreadPool> pool_;
  std::unique_ptr<WanTransformer> transformer_;
  std::unique_ptr<ChunkForward> forward_;  // CPU, or CUDA on a CUDA device
  std::unique_ptr<TextEncoder> encoder_;  // UMT5: CPU, or CUDA on a CUDA device
  std::unique_ptr<runtime::Tokenizer> tokenizer_;
  std::unique_ptr<WanVaeDecoder> vae_;  // null: latents out
  std::unique_ptr<VaeBackend> vae_backend_;  // vae_'s streams: CPU, or CUDA on a CUDA device
  int32_t pad_id_ = 0;
  std::vector<float> timesteps_;
  std::string version_;
  std::map<uint64_t, Entry> requests_;
};

}  // namespace citadel::vista
