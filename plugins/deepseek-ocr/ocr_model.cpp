// OcrModel: instance creation, request planning (image decoding and content
// hash, prompt layout, prefix-cache extra key, the image handed to the
// preparation thread, which may also encode it) and the step loop (the
// image's rows at prefill, decoder, sampling).
#include "ocr_model.h"

#include "ocr_input.h"
#include "prompt_layout.h"

#include "runtime/core/error.h"
#include "runtime/kernels/attention.h"
#include "runtime/kernels/sampling.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace citadel::deepseek_ocr {

OcrModel::OcrModel(const sdk::Host& host, const sdk::ModelConfig& config)
    : host_(host), options_(OcrOptions::parse(config.options)), folder_(config.weights) {
  const citadel_device_info device = host_.device();
  if (folder_.empty()) runtime::throw_invalid("deepseek-ocr: model '" + config.name + "' names no weights folder");
  const std::filesystem::path folder(folder_);
  config_ = load_decoder_config(folder);
  checkpoint_ = std::make_unique<runtime::SafetensorsCheckpoint>(folder);
  weights_ = load_decoder_weights(config_, *checkpoint_);
  const std::filesystem::path tokenizer_path = folder / "tokenizer.json";
  if (!std::filesystem::exists(tokenizer_path))
    runtime::throw_not_found("deepseek-ocr: " + tokenizer_path.string() + " is missing (the released tokenizer, "
                             "next to the weights)");
  tokenizer_.emplace(runtime::Tokenizer::from_file(tokenizer_path));
  const std::optional<int32_t> image_id = tokenizer_->token_to_id(kImageToken);
  if (!image_id) runtime::throw_invalid("deepseek-ocr: " + tokenizer_path.string() + " has no <image> token");
  if (*image_id < 0 || static_cast<uint32_t>(*image_id) >= config_.vocab_size)
    runtime::throw_invalid("deepseek-ocr: <image> is id " + std::to_string(*image_id) + ", outside the vocabulary of " +
                           std::to_string(config_.vocab_size));
  image_token_id_ = *image_id;
  max_context_ = config_.max_position_embeddings;
  if (options_.max_context_tokens > 0) max_context_ = std::min(max_context_, options_.max_context_tokens);

  pool_ = std::make_unique<runtime::ThreadPool>(options_.threads > 0 ? options_.threads : device.cpu_threads);
  const bool on_cuda = device.kind == CITADEL_DEVICE_CUDA;
  const bool encoder_thread =
      options_.vision_encoder_thread == OcrOptions::EncoderThread::on ||
      (options_.vision_encoder_thread == OcrOptions::EncoderThread::automatic && on_cuda);
  if (on_cuda) {
    // make_cuda_decoder makes the device current; the encoder takes it (and
    // makes it current on whichever thread encodes) and its own stream.
    decoder_ = make_cuda_decoder(config_, weights_, options_.kv_dtype, device.ordinal, device.cuda_stream);
    encoder_ = DeepEncoder::load_cuda(folder, *pool_);
  } else {
    cpu_pass_ = std::make_unique<DecoderPass>(config_, weights_, options_.kv_dtype);
    decoder_ = make_cpu_decoder(*cpu_pass_, *pool_);
    // A pool runs one parallel_for at a time: an encoder off the step thread
    // needs its own.
    if (encoder_thread) encoder_pool_ = std::make_unique<runtime::ThreadPool>(pool_->size());
    encoder_ = DeepEncoder::load_cpu(folder, encoder_thread ? *encoder_pool_ : *pool_);
  }
  if (encoder_->lm_hidden() != config_.hidden_size)
    runtime::throw_invalid("deepseek-ocr: " + folder_ + ": the projector gives width " +
                           std::to_string(encoder_->lm_hidden()) + ", the decoder's hidden_size is " +
                           std::to_string(config_.hidden_size));
  EncodeImageFn encode;
  if (encoder_thread) {
    encode = [encoder = encoder_.get()](const PreparedImage& image) { return encoder->encode(image); };
  }
  preparer_ = std::make_unique<ImagePreparer>(static_cast<size_t>(options_.prepared_images_mb) << 20,
                                              PrepareImageFn{}, std::move(encode));
  version_ = "deepseek-ocr-" + std::to_string(config_.num_layers) + "l-" + std::to_string(config_.hidden_size) + "w-" +
             std::to_string(config_.n_routed_experts) + "e";
  const std::string where = on_cuda ? "CUDA device " + std::to_string(device.ordinal)
                                   : std::to_string(pool_->size()) + " threads";
  host_.info("deepseek-ocr: loaded " + folder_ + " (" + version_ + ", " + where + ", KV " +
             std::string(runtime::dtype_name(options_.kv_dtype)) + ", vision encoder on " +
             (encoder_thread ? "its own thread" : "the step thread") + ")");
}

OcrModel::~OcrModel() = default;

citadel_model_info OcrModel::describe() {
  citadel_model_info info{};
  info.struct_size = sizeof(info);
  info.task = CITADEL_TASK_IMAGE_TO_TEXT;
  info.num_layers = config_.num_layers;
  info.tokens_per_block = kTokensPerBlock;
  info.bytes_per_token_per_layer =
      runtime::kv_bytes_per_token_per_layer(config_.num_kv_heads, config_.head_dim, options_.kv_dtype);
  info.max_context_tokens = max_context_;
  info.max_batch_requests = options_.max_batch_requests;
  info.max_step_tokens = options_.max_step_tokens;
  info.model_version = version_.c_str();
  info.vocab_size = config_.vocab_size;
  return info;
}

sdk::RequestPlan OcrModel::open_request(uint64_t request_id, std::string_view input_json,
                                        std::span<const uint8_t> payload) {
  if (requests_.count(request_id) != 0) runtime::throw_invalid("request " + std::to_string(request_id) + " is already open");
  const OcrInput input = parse_ocr_input(input_json, options_);
  if (payload.empty())
    runtime::throw_invalid("request input: the request carries no image (send it as the request's image payload)");
  // Decoding and the content hash only: the resampling is the preparation
  // thread's (request_open runs under the host's instance lock, which the
  // step thread takes too).
  const ImagePlan image = plan_image(decode_image(payload, options_.image_limits), input.mode, options_.max_crops);
  PromptLayout layout = layout_prompt(*tokenizer_, input.prompt, config_.bos_token_id, image_token_id_,
                                      static_cast<uint32_t>(image.num_image_tokens));
  if (layout.ids.size() >= max_context_)
    runtime::throw_invalid("request input: the prompt has " + std::to_string(layout.ids.size()) + " tokens (" +
                           std::to_string(layout.image_tokens) + " for the image in mode " +
                           std::string(resolution_mode_name(input.mode)) + "); the model's context is " +
                           std::to_string(max_context_) + " tokens");
  OcrRequestSetup setup;
  const uint32_t room = max_context_ - static_cast<uint32_t>(layout.ids.size());
  setup.max_new_tokens = std::min(room, input.max_tokens.value_or(options_.default_max_tokens));
  setup.prompt = std::move(layout.ids);
  setup.image_begin = layout.image_begin;
  setup.image_tokens = layout.image_tokens;
  setup.content_hash = image.content_hash;
  setup.sampling = input.sampling;
  setup.ngram = runtime::NoRepeatNgramSettings{input.ngram_size, input.ngram_window, {}};
  // DeepSeek's whitelist: table cells repeat legitimately.
  for (const char* cell : {"<td>", "</td>"}) {
    if (auto id = tokenizer_->token_to_id(cell)) setup.ngram.whitelist.push_back(*id);
  }
  setup.eos_token_id = config_.eos_token_id;
  ImageSource source;
  source.bytes.assign(payload.begin(), payload.end());
  source.mode = input.mode;
  source.limits = options_.image_limits;
  source.max_crops = options_.max_crops;
  source.prepared_bytes = image.prepared_bytes();
  setup.image = preparer_->submit(std::move(source));
  auto request = std::make_unique<OcrRequest>(std::move(setup), *tokenizer_);

  sdk::RequestPlan plan;
  plan.prompt_tokens = request->prompt_tokens();
  plan.max_new_tokens = request->max_new_tokens();
  plan.prompt_token_ids = request->sequence().data();
  plan_key_ = citadel_prefix_extra_key{request->image_begin(), request->image_begin() + request->image_tokens(),
                                       request->content_hash().low, request->content_hash().high};
  plan.extra_keys = std::span<const citadel_prefix_extra_key>(&plan_key_, 1);
  requests_[request_id] = std::move(request);
  return plan;
}

std::vector<char> OcrModel::items_to_defer(const citadel_step_batch& batch) const {
  std::vector<char> waiting(batch.num_items, 0);
  if (!options_.defer_unready_images || !sdk::step_may_defer(batch)) return waiting;
  bool other_work = false;
  for (size_t i = 0; i < batch.num_items; ++i) {
    const citadel_step_item& item = batch.items[i];
    const auto found = requests_.find(item.request_id);
    if (found == requests_.end() || found->second->finished() || item.num_new_tokens == 0) continue;
    const OcrRequest& request = *found->second;
    const uint64_t begin = item.num_computed_tokens, end = begin + item.num_new_tokens;
    if (request.needs_encoding(begin, end) && !request.image_ready()) {
      waiting[i] = 1;
    } else {
      other_work = true;
    }
  }
  // Nothing else to compute: wait for the first image rather than defer all.
  if (!other_work) {
    const auto first = std::find(waiting.begin(), waiting.end(), 1);
    if (first != waiting.end()) *first = 0;
  }
  return waiting;
}

void OcrModel::step(const citadel_step_batch& batch, citadel_step_output* outputs) {
  const size_t count = batch.num_items;
  step_outputs_.begin(batch, outputs);
  std::vector<DecoderChunk> chunks;
  std::vector<size_t> chunk_item;
  uint64_t processed_tokens = 0;
  double encoder_seconds = 0;  // encodes run on this thread outside the preparer
  double encoder_wait_seconds = 0;
  uint64_t prepared_here = 0, encoded_here = 0;

  const std::vector<char> deferred = items_to_defer(batch);
  for (size_t i = 0; i < count; ++i) {
    const citadel_step_item& item = batch.items[i];
    const std::string request_name = "deepseek-ocr: request " + std::to_string(item.request_id);
    auto found = requests_.find(item.request_id);
    if (found == requests_.end()) {
      step_outputs_.fail(i, "deepseek-ocr: unknown request id " + std::to_string(item.request_id));
      continue;
    }
    OcrRequest& request = *found->second;
    if (request.finished()) {
      step_outputs_.finish(i, request.finish_reason());
      continue;
    }
    const uint64_t begin = item.num_computed_tokens;
    const uint64_t end = begin + item.num_new_tokens;
    if (end > request.sequence().size()) {
      step_outputs_.fail(i, request_name + " step asks for positions up to " + std::to_string(end) +
                                " but the request knows " + std::to_string(request.sequence().size()) + " tokens");
      continue;
    }
    std::span<void* const> blocks = step_outputs_.blocks(i, host_);
    if (blocks.size() != item.num_blocks || end > uint64_t{item.num_blocks} * kTokensPerBlock) {
      step_outputs_.fail(i, request_name + " needs cache blocks for " + std::to_string(end) +
                                " positions, the step gave " + std::to_string(blocks.size()));
      continue;
    }
    if (item.num_new_tokens == 0) continue;
    if (deferred[i]) {
      step_outputs_.defer(i);
      continue;
    }
    if (request.needs_encoding(begin, end)) {
      // The rows: ready, waited for, or made here (ocr_request.h).
      const auto started = std::chrono::steady_clock::now();
      std::string failure;
      try {
        const EncodeReport report = request.encode(*encoder_);
        prepared_here += report.prepared_here ? 1 : 0;
        encoded_here += report.encoded_here ? 1 : 0;
        encoder_seconds += report.encoder_seconds;
      } catch (const std::exception& error) {
        failure = error.what();
      }
      encoder_wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (!failure.empty() || request.image_rows().empty()) {
        step_outputs_.fail(i, request_name + ": preparing or encoding the image failed: " +
                                  (failure.empty() ? std::string("no rows") : failure));
        continue;
      }
    }
    DecoderChunk chunk;
    chunk.tokens = std::span<const int32_t>(request.sequence().data() + begin, item.num_new_tokens);
    chunk.first_position = item.num_computed_tokens;
    chunk.blocks = blocks;
    if (!request.image_rows().empty())
      chunk.image = EmbeddingRun{request.image_begin(), request.image_tokens(), request.image_rows().data()};
    chunk.want_logits = end == request.sequence().size();
    chunk.argmax_only = chunk.want_logits && request.picks_argmax();
    chunks.push_back(chunk);
    chunk_item.push_back(i);
    processed_tokens += item.num_new_tokens;
  }

  // The rows to sample from, and each row's argmax where the backend
  // computed it (on CUDA: the greedy rows' logits are not copied).
  const auto forward_started = std::chrono::steady_clock::now();
  const DecoderBackend::StepLogits logits = decoder_->run_step(chunks);
  const double forward_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - forward_started).count();
  const size_t vocab = config_.vocab_size;
  size_t logits_row = 0;
  for (size_t c = 0; c < chunks.size(); ++c) {
    if (!chunks[c].want_logits || chunks[c].tokens.empty()) continue;
    const size_t i = chunk_item[c];
    OcrRequest& request = *requests_.at(batch.items[i].request_id);
    const std::span<float> row = logits.rows.subspan(logits_row * vocab, vocab);
    SampledToken sampled;
    if (chunks[c].argmax_only) {
      sampled = request.take_argmax(logits.argmax.empty() ? runtime::argmax(row) : logits.argmax[logits_row]);
    } else {
      sampled = request.sample_next(row);
    }
    ++logits_row;
    step_outputs_.append(i, sampled.token, std::move(sampled.text));
    if (sampled.finished) step_outputs_.finish(i, sampled.reason);
  }
  step_outputs_.publish();
  host_.gauge_set("open_requests", static_cast<double>(requests_.size()));
  if (logits_row > 0) host_.counter_add("generated_tokens", static_cast<double>(logits_row));
  if (processed_tokens > 0) host_.counter_add("processed_tokens", static_cast<double>(processed_tokens));
  // The encoder's own time, wherever it ran (its thread's as it finishes).
  const double encoder_total = preparer_->encoder_seconds();
  encoder_seconds += encoder_total - reported_encoder_seconds_;
  reported_encoder_seconds_ = encoder_total;
  if (encoder_seconds > 0) host_.counter_add("vision_encoder_seconds", encoder_seconds);
  // What the step thread spent getting rows: waiting for the encoder thread,
  // or preparing / encoding here.
  if (encoder_wait_seconds > 0) host_.counter_add("vision_encoder_wait_seconds", encoder_wait_seconds);
  // Images the preparation thread had not started on by their prefill.
  if (prepared_here > 0) host_.counter_add("images_prepared_on_step_thread", static_cast<double>(prepared_here));
  // Images whose rows the step thread computed (all of them without an encoder thread).
  if (encoded_here > 0) host_.counter_add("images_encoded_on_step_thread", static_cast<double>(encoded_here));
  if (!chunks.empty()) host_.counter_add("forward_seconds", forward_seconds);  // the decoder pass, its copies included
}

void OcrModel::close_request(uint64_t request_id) { requests_.erase(request_id); }

std::string OcrModel::detokenize(std::span<const int32_t> ids) {
  const size_t vocab = tokenizer_->vocab_size();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || static_cast<size_t>(ids[i]) >= vocab)
      runtime::throw_invalid("tokens[" + std::to_string(i) + "] is " + std::to_string(ids[i]) +
                             ", outside the tokenizer's vocabulary of " + std::to_string(vocab));
  }
  return tokenizer_->decode(ids, /*skip_special_tokens=*/false);
}

}  // namespace citadel::deepseek_ocr
