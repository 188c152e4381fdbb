// VistaModel: loading, cache description, request plans and steps (see vista_model.h).
#include "vista_model.h"

#include "flow_schedule.h"
#include "prompt_tokens.h"
#include "tensor_names.h"
#include "vae_output.h"

#include "runtime/core/error.h"

#ifdef CITADEL_HAVE_CUDA
#include "wan_transformer_cuda.h"
#endif

#include <chrono>
#include <filesystem>
#include <random>

namespace citadel::vista {
namespace {

namespace fs = std::filesystem;

fs::path required_folder(const fs::path& root, const char* name) {
  const fs::path folder = root / name;
  if (!fs::is_directory(folder))
    runtime::throw_not_found("vista: " + root.string() + " has no " + name + "/ folder (diffusers layout expected)");
  return folder;
}

}  // namespace

VistaModel::VistaModel(const sdk::Host& host, const sdk::ModelConfig& config)
    : host_(host), name_(config.name), options_(VistaOptions::parse(config.options)) {
  if (config.weights.empty()) runtime::throw_invalid("vista: 'weights' must name a checkpoint folder");
  const citadel_device_info device = host_.device();
#ifndef CITADEL_HAVE_CUDA
  // The cache blocks of a CUDA instance are device memory: the CPU forward
  // pass must not touch them.
  if (device.kind != CITADEL_DEVICE_CPU)
    runtime::throw_unsupported("vista: device '" + config.device + "': this build has no CUDA path (device: cpu)");
#endif
  const fs::path root = config.weights;
  const fs::path transformer_folder = required_folder(root, "transformer");
  const WanConfig wan = read_wan_config(transformer_folder / "config.json");
  const WeightStore transformer_weights(transformer_folder, diffusers_transformer_name);
  transformer_ = std::make_unique<WanTransformer>(wan, load_wan_weights(wan, transformer_weights));
  const fs::path text_folder = required_folder(root, "text_encoder");
  const Umt5Config umt5 = read_umt5_config(text_folder / "config.json");
  if (umt5.d_model != wan.text_dim)
    runtime::throw_invalid("vista: text_encoder d_model " + std::to_string(umt5.d_model) +
                           " differs from the transformer's text_dim " + std::to_string(wan.text_dim));
  auto umt5_encoder = std::make_unique<Umt5Encoder>(umt5, WeightStore(text_folder));
  tokenizer_ = std::make_unique<runtime::Tokenizer>(
      runtime::Tokenizer::from_file(required_folder(root, "tokenizer") / "tokenizer.json"));
  pad_id_ = tokenizer_->token_to_id("<pad>").value_or(0);
  if (options_.video.max_latent_frames > wan.rope_max_seq_len)
    runtime::throw_invalid("vista options: max_latent_frames: " + std::to_string(options_.video.max_latent_frames) +
                           " exceeds the model's RoPE table of " + std::to_string(wan.rope_max_seq_len) + " frames");
  const bool has_vae = fs::is_directory(root / "vae");
  if (options_.output == "frames" && !has_vae)
    runtime::throw_not_found("vista options: output: frames needs the VAE, and " + root.string() + " has no vae/ folder");
  if (options_.output != "latents" && has_vae) vae_ = std::make_unique<WanVaeDecoder>(WanVaeDecoder::load(root / "vae"));
  timesteps_ = warped_timesteps(options_.denoising_steps, options_.shift);
  unsigned threads = options_.threads;
  if (threads == 0) threads = device.cpu_threads;
  pool_ = std::make_unique<runtime::ThreadPool>(threads);
  // The VAE's streams on the plugin's stream on a CUDA device (weights uploaded once).
#ifdef CITADEL_HAVE_CUDA
  if (vae_ && device.kind == CITADEL_DEVICE_CUDA)
    vae_backend_ = make_cuda_vae_backend(*vae_, device.cuda_stream,
                                         options_.vae_convolutions == "cudnn" ? VaeConvolutions::cudnn
                                                                              : VaeConvolutions::im2col_gemm);
#endif
  if (vae_ && !vae_backend_) vae_backend_ = make_cpu_vae_backend(*vae_, *pool_);
#ifdef CITADEL_HAVE_CUDA
  if (device.kind == CITADEL_DEVICE_CUDA) {
    CudaPassOptions pass;
    pass.attention = options_.cuda_attention == "wgmma" ? CudaAttentionKernel::f16_wgmma : CudaAttentionKernel::f16_mma;
    pass.fused_epilogues = options_.cuda_fused_epilogues;
    forward_ = make_cuda_chunk_forward(*transformer_, *pool_, device.cuda_stream, pass);
  }
#endif
  if (!forward_) forward_ = make_cpu_chunk_forward(*transformer_, *pool_);
  // UMT5 on the plugin's stream on a CUDA device (its weights uploaded; the
  // CPU encoder, whose matrices are mapped views of the files, is dropped).
#ifdef CITADEL_HAVE_CUDA
  if (device.kind == CITADEL_DEVICE_CUDA) encoder_ = make_cuda_text_encoder(*umt5_encoder, device.cuda_stream);
#endif
  if (!encoder_) encoder_ = make_cpu_text_encoder(std::move(umt5_encoder), *pool_);
  double warm_up_ms = 0;
  if (device.kind == CITADEL_DEVICE_CUDA) warm_up_ms = warm_up();
  version_ = "wan2.1-t2v " + std::to_string(wan.num_layers) + "x" + std::to_string(wan.dim()) + " (" +
             fs::path(root).filename().string() + ")";
  host_.info("vista " + name_ + ": " + version_ + ", " + std::to_string(timesteps_.size()) + " steps per chunk, " +
             (vae_ ? "RGB frames out, " : "latents out, ") +
             std::to_string(pool_->size()) + " threads, chunk passes" + (vae_ ? ", VAE" : "") + " and UMT5 on " +
             (device.kind == CITADEL_DEVICE_CUDA
                  ? "cuda:" + std::to_string(device.ordinal) + " (" +
                        std::to_string((device_weight_bytes() + (1u << 19)) >> 20) + " MiB of weights, warmed up in " +
                        std::to_string(static_cast<int64_t>(warm_up_ms)) + " ms)"
                  : std::string("the cpu")));
}

citadel_model_info VistaModel::describe() {
  const WanConfig& wan = transformer_->config();
  citadel_model_info info{};
  info.task = CITADEL_TASK_TEXT_TO_VIDEO;
  info.num_layers = static_cast<uint32_t>(wan.num_layers);
  info.tokens_per_block = static_cast<uint32_t>(options_.tokens_per_block);
  info.bytes_per_token_per_layer = wan.kv_bytes_per_token_per_layer(runtime::dtype_size(options_.kv_dtype));
  info.max_context_tokens = 0;  // request_open checks sizes and frames itself
  info.max_batch_requests = options_.max_batch_requests;
  const int64_t default_chunk = options_.frames_per_chunk *
                                transformer_->tokens_per_frame(options_.video.height / 8, options_.video.width / 8);
  info.max_step_tokens = options_.max_step_tokens > 0 ? options_.max_step_tokens : static_cast<uint32_t>(default_chunk);
  info.model_version = version_.c_str();
  info.device_weight_bytes = device_weight_bytes();
  return info;
}

double VistaModel::warm_up() {
  const auto started = std::chrono::steady_clock::now();
  // UMT5 at its longest prompt: its workspace is sized by the prompt's rows.
  const std::vector<int32_t> ids(static_cast<size_t>(options_.text_len), pad_id_);
  encoder_->encode(ids, options_.text_len);
  if (vae_backend_) {
    // One latent frame at the default size; the stream's buffers and conv
    // caches go back to the backend's workspace when it closes.
    std::unique_ptr<VaeStream> stream = vae_backend_->open_stream();
    stream->push(VideoTensor(vae_->z_dim(), 1, options_.video.height / 8, options_.video.width / 8));
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
}

uint64_t VistaModel::device_weight_bytes() const {
  return forward_->device_weight_bytes() + encoder_->device_weight_bytes() +
         (vae_backend_ ? vae_backend_->device_weight_bytes() : 0);
}

std::unique_ptr<ChunkOutput> VistaModel::make_output(int64_t frames) const {
  if (vae_) return std::make_unique<DecodedFrameOutput>(*vae_, vae_backend_->open_stream(), frames);
  return std::make_unique<LatentOutput>();
}

sdk::RequestPlan VistaModel::open_request(uint64_t request_id, std::string_view input_json, std::span<const uint8_t>) {
  const VideoInput input = parse_video_input(input_json, options_.video);
  const WanConfig& wan = transformer_->config();
  const int64_t latent_height = input.height / 8, latent_width = input.width / 8;
  const int64_t rope_limit = wan.rope_max_seq_len * wan.patch[1] * 8;
  if (latent_height / wan.patch[1] > wan.rope_max_seq_len || latent_width / wan.patch[2] > wan.rope_max_seq_len)
    runtime::throw_invalid("input: size: " + std::to_string(input.width) + "x" + std::to_string(input.height) +
                           " exceeds the model's RoPE table (" + std::to_string(rope_limit) + " pixels a side)");
  std::unique_ptr<ChunkOutput> output = make_output(input.frames);
  const int64_t tokens_per_frame = transformer_->tokens_per_frame(latent_height, latent_width);
  const int64_t chunks = (input.latent_frames + options_.frames_per_chunk - 1) / options_.frames_per_chunk;
  const VideoLayout layout =
      plan_video_layout(input.latent_frames, latent_height, latent_width, tokens_per_frame, options_.frames_per_chunk,
                        options_.window, output->items_for(input.latent_frames, chunks));
  if (layout.prompt_tokens + layout.max_new_tokens > UINT32_MAX / 2)
    runtime::throw_invalid("input: the video needs " + std::to_string(layout.prompt_tokens) + " cache tokens, too many");
  const uint64_t seed = input.seeded ? input.seed : std::random_device{}();
  Entry& entry = requests_[request_id];
  entry.video = std::make_unique<VideoRequest>(input.prompt, layout, std::move(output), seed);
  return {static_cast<uint32_t>(layout.prompt_tokens), static_cast<uint32_t>(layout.max_new_tokens), nullptr};
}

void VistaModel::encode_prompt(VideoRequest& video) {
  const PromptTokens tokens = tokenize_prompt(*tokenizer_, video.prompt(), options_.text_len, pad_id_);
  const std::vector<float> embeds = encoder_->encode(tokens.ids, tokens.valid);
  video.set_text(forward_->prepare_text(embeds.data(), options_.text_len));
}

void VistaModel::step_one(const citadel_step_item& item, Entry& entry, citadel_step_output& out) {
  VideoRequest& video = *entry.video;
  if (!video.has_text()) encode_prompt(video);
  const WanConfig& wan = transformer_->config();
  const GenerationContext context{*forward_, timesteps_,
                                  KvGeometry{wan.num_layers, wan.num_heads, wan.head_dim,
                                             options_.tokens_per_block, options_.kv_dtype}};
  const auto started = std::chrono::steady_clock::now();
  const VideoRequest::Progress progress =
      video.advance(context, item.num_computed_tokens, item.num_new_tokens, item.block_addresses, item.num_blocks);
  if (progress.chunks_made > 0) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    host_.counter_add("video_chunks_total", static_cast<double>(progress.chunks_made));
    host_.counter_add("latent_frames_generated_total",
                      static_cast<double>(progress.chunks_made * options_.frames_per_chunk));
    host_.gauge_set("chunk_seconds", seconds / static_cast<double>(progress.chunks_made));
    host_.log(CITADEL_LOG_INFO, "vista " + name_ + ": request " + std::to_string(item.request_id) + ": chunk " +
                                     std::to_string(video.chunks_generated()) + "/" +
                                     std::to_string(video.layout().num_chunks) + " in " + std::to_string(seconds) + " s");
  }
  if (progress.item != nullptr) {
    out.data = progress.item->data.data();
    out.data_len = progress.item->data.size();
    out.data_type = progress.item->data_type.c_str();
  }
  if (progress.finished) {
    out.state = CITADEL_REQUEST_FINISHED;
    out.finish_reason = CITADEL_FINISH_LENGTH;
  } else if (progress.append) {
    out.appended_tokens = 1;
    out.token_id = 0;
  }
}

void VistaModel::step(const citadel_step_batch& batch, citadel_step_output* outputs) {
  for (uint32_t i = 0; i < batch.num_items; ++i) {
    const citadel_step_item& item = batch.items[i];
    citadel_step_output& out = outputs[i];
    out.request_id = item.request_id;
    out.state = CITADEL_REQUEST_RUNNING;
    out.token_id = -1;
    auto it = requests_.find(item.request_id);
    if (it == requests_.end()) {
      out.state = CITADEL_REQUEST_FAILED;
      out.finish_reason = CITADEL_FINISH_ERROR;
      out.error = "vista: unknown request";
      continue;
    }
    try {
      step_one(item, it->second, out);
    } catch (const std::bad_alloc&) {
      throw sdk::PluginError(CITADEL_ERR_OUT_OF_MEMORY, "vista: out of host memory generating a video chunk");
    } catch (const std::exception& e) {
      it->second.error = std::string("vista: ") + e.what();
      out = citadel_step_output{out.struct_size, item.request_id, CITADEL_REQUEST_FAILED, CITADEL_FINISH_ERROR};
      out.token_id = -1;
      out.error = it->second.error.c_str();
    }
  }
}

void VistaModel::close_request(uint64_t request_id) { requests_.erase(request_id); }

}  // namespace citadel::vista
