// LlmModel: instance creation (checkpoint, tokenizer, chat template, options),
// request planning and the step loop over the host's batches.
#include "llm_model.h"

#include "gguf_model.h"
#include "gguf_weights.h"

#include "runtime/core/error.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace citadel::llm {
namespace {

uint32_t option_count(const boost::json::object& options, const char* key, uint32_t fallback) {
  const boost::json::value* value = options.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  if (value->is_int64() && value->as_int64() >= 0 && value->as_int64() <= UINT32_MAX) {
    return static_cast<uint32_t>(value->as_int64());
  }
  if (value->is_uint64() && value->as_uint64() <= UINT32_MAX) return static_cast<uint32_t>(value->as_uint64());
  runtime::throw_invalid(std::string("llm-gptq option '") + key + "' must be a non-negative integer");
}

std::string option_string(const boost::json::object& options, const char* key, const std::string& fallback) {
  const boost::json::value* value = options.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  if (!value->is_string()) runtime::throw_invalid(std::string("llm-gptq option '") + key + "' must be a string");
  return std::string(value->as_string());
}

}  // namespace

LlmOptions LlmOptions::parse(const boost::json::object& options) {
  LlmOptions parsed;
  parsed.chat_template = option_string(options, "chat_template", parsed.chat_template);
  if (parsed.chat_template != "auto" && parsed.chat_template != "llama3" && parsed.chat_template != "chatml") {
    runtime::throw_invalid("llm-gptq option 'chat_template' is '" + parsed.chat_template +
                           "'; expected auto, llama3 or chatml");
  }
  parsed.default_system_prompt = option_string(options, "default_system_prompt", "");
  parsed.threads = option_count(options, "threads", 0);
  const std::string kv = option_string(options, "kv_cache_dtype", "f16");
  if (kv == "f16") parsed.kv_dtype = runtime::DType::f16;
  else if (kv == "f32") parsed.kv_dtype = runtime::DType::f32;
  else runtime::throw_invalid("llm-gptq option 'kv_cache_dtype' is '" + kv + "'; expected f16 or f32");
  parsed.max_batch_requests = std::max(1u, option_count(options, "max_batch_requests", parsed.max_batch_requests));
  parsed.max_step_tokens = std::max(1u, option_count(options, "max_step_tokens", parsed.max_step_tokens));
  parsed.max_context_tokens = option_count(options, "max_context_tokens", 0);
  parsed.default_max_tokens = std::max(1u, option_count(options, "default_max_tokens", parsed.default_max_tokens));
  parsed.tools = option_string(options, "tools", parsed.tools);
  parsed.offload = WeightOffload::parse(options);
  parsed.tensor_parallel_size = option_count(options, "tensor_parallel_size", 1);
  if (parsed.tensor_parallel_size < 1 || parsed.tensor_parallel_size > 16) {
    runtime::throw_invalid("llm-gptq option 'tensor_parallel_size' is " + std::to_string(parsed.tensor_parallel_size) +
                           "; expected 1 to 16");
  }
  if (const boost::json::value* devices = options.if_contains("tensor_parallel_devices");
      devices != nullptr && !devices->is_null()) {
    if (!devices->is_array()) {
      runtime::throw_invalid("llm-gptq option 'tensor_parallel_devices' must be a list of CUDA device ordinals");
    }
    for (const boost::json::value& device : devices->as_array()) {
      if (!device.is_int64() || device.as_int64() < 0 || device.as_int64() > 1023) {
        runtime::throw_invalid("llm-gptq option 'tensor_parallel_devices' holds " + boost::json::serialize(device) +
                               "; expected CUDA device ordinals (0, 1, ...)");
      }
      parsed.tensor_parallel_devices.push_back(static_cast<int>(device.as_int64()));
    }
    if (parsed.tensor_parallel_devices.size() + 1 != parsed.tensor_parallel_size) {
      runtime::throw_invalid("llm-gptq option 'tensor_parallel_devices' names " +
                             std::to_string(parsed.tensor_parallel_devices.size()) + " devices; tensor_parallel_size " +
                             std::to_string(parsed.tensor_parallel_size) + " needs " +
                             std::to_string(parsed.tensor_parallel_size - 1) +
                             " (ranks 1.., rank 0 being the model's device)");
    }
  }
  if (parsed.tensor_parallel_size > 1 && parsed.offload.requested()) {
    runtime::throw_invalid("llm-gptq options 'tensor_parallel_size' and 'gpu_layers'/'cpu_offload_gb' cannot be "
                           "combined");
  }
  const std::string load_format = option_string(options, "load_format", "auto");
  if (load_format != "auto" && load_format != "dummy") {
    runtime::throw_invalid("llm-gptq option 'load_format' is '" + load_format + "'; expected auto or dummy");
  }
  parsed.dummy_weights = load_format == "dummy";
  if (parsed.tools != "auto" && parsed.tools != "on" && parsed.tools != "off")
    runtime::throw_invalid("llm-gptq option 'tools' is '" + parsed.tools + "'; expected auto, on or off");
  return parsed;
}

LlmModel::LlmModel(const sdk::Host& host, const sdk::ModelConfig& config)
    : host_(host), options_(LlmOptions::parse(config.options)), folder_(config.weights) {
  const citadel_device_info device = host_.device();
#ifndef CITADEL_HAVE_CUDA
  if (device.kind != CITADEL_DEVICE_CPU) {
    throw sdk::PluginError(CITADEL_ERR_UNSUPPORTED,
                           "llm-gptq: model '" + config.name + "' asks for a CUDA device; this build of "
                           "llm-gptq runs on the CPU only (set device: cpu)");
  }
#endif
  if (folder_.empty()) runtime::throw_invalid("llm-gptq: model '" + config.name + "' names no weights folder");
  if (is_gguf_path(folder_) && options_.dummy_weights) {
    runtime::throw_invalid("llm-gptq: model '" + config.name + "': load_format dummy needs a Hugging Face folder "
                           "(config.json and the tokenizer), not a GGUF file: " + folder_);
  }
  const uint32_t tensor_parallel = options_.tensor_parallel_size;
  if (is_gguf_path(folder_) && tensor_parallel > 1) {
    runtime::throw_invalid("llm-gptq: model '" + config.name + "': tensor_parallel_size needs a Hugging Face "
                           "checkpoint folder, not a GGUF file: " + folder_);
  }
  TensorFinder tensor_parallel_tensors;  // the whole checkpoint, cut per rank below
  std::string source = folder_;
  if (is_gguf_path(folder_)) {
    GgufModel gguf = load_gguf_model(folder_, options_.chat_template, options_.default_system_prompt);
    config_ = std::move(gguf.config);
    weights_ = std::move(gguf.weights);
    text_.emplace(std::move(*gguf.text));
    version_ = std::move(gguf.version);
  } else {
    try {
      config_ = load_hf_config(folder_);
    } catch (const HfConfigError& error) {
      runtime::throw_invalid(error.what());
    }
    if (options_.dummy_weights) {
      dummy_checkpoint_.emplace(make_random_checkpoint(config_, /*seed=*/1));
      source += " (load_format dummy)";
    }
    const TensorFinder tensors =
        options_.dummy_weights ? dummy_checkpoint_->finder() : checkpoint_tensor_finder(folder_);
    if (tensor_parallel > 1) {
      tensor_parallel_tensors = tensors;
    } else {
      weights_ = load_model_weights(config_, tensors, source);
    }
    text_.emplace(std::filesystem::path(folder_), config_, options_.chat_template, options_.default_system_prompt);
    version_ = config_.model_type + "-" + std::to_string(config_.num_layers) + "l-" +
               (config_.gptq ? "gptq-int" + std::to_string(config_.gptq->bits) : std::string(to_string(config_.dtype))) +
               (options_.dummy_weights ? "-dummy" : "");
  }
  kv_ = KvGeometry{config_.num_layers, config_.num_kv_heads, config_.head_dim, options_.kv_dtype};
  max_context_ = config_.max_position_embeddings;
  if (options_.max_context_tokens > 0) max_context_ = std::min(max_context_, options_.max_context_tokens);

  structured_.emplace(config.name, *text_, options_.tools);
  token_texts_.emplace(text_->tokenizer(), config_.vocab_size);

  unsigned threads = options_.threads;
  if (threads == 0) threads = device.cpu_threads;
  pool_ = std::make_unique<runtime::ThreadPool>(threads);
  if (tensor_parallel > 1) {
    start_tensor_parallel(config.name, device, tensor_parallel_tensors, source);
  }
#ifdef CITADEL_HAVE_CUDA
  if (device.kind == CITADEL_DEVICE_CUDA && !tensor_parallel_) {
    use_cuda_device(device.ordinal);
    std::vector<uint64_t> layer_bytes;
    for (const LayerWeights& layer : weights_.layers) {
      uint64_t bytes = 0;
      for (const Projection* p : {&layer.q, &layer.k, &layer.v, &layer.o, &layer.gate, &layer.up, &layer.down}) {
        bytes += p->weight_bytes();
      }
      layer_bytes.push_back(bytes);
    }
    const uint32_t resident = resident_layer_count(options_.offload, layer_bytes);
    if (options_.offload.requested()) host_.info("llm-gptq: " + config.name + ": " + describe_split(resident, layer_bytes));
    cuda_forward_ = std::make_unique<CudaForwardPass>(config_, weights_, kv_, device.cuda_stream, resident);
  }
#endif
  if (device.kind == CITADEL_DEVICE_CPU && !tensor_parallel_) {
    forward_ = std::make_unique<ForwardPass>(config_, weights_, kv_);
  }

  std::string where = forward_ ? std::to_string(pool_->size()) + " threads"
                               : "CUDA device " + std::to_string(device.ordinal);
  if (tensor_parallel_) {
    where = "tensor parallel: " + tensor_parallel_->description();
    const std::vector<uint64_t> bytes = tensor_parallel_->device_weight_bytes();
    if (tensor_parallel_->on_cuda()) {
      where += ", " + std::to_string((bytes.front() + (1u << 19)) >> 20) + " MiB of weights on rank 0";
    }
  }
#ifdef CITADEL_HAVE_CUDA
  if (cuda_forward_) {  // GGUF block formats stay quantized: about the file's size
    where += ", " + std::to_string((cuda_forward_->device_weight_bytes() + (1u << 19)) >> 20) + " MiB of weights";
  }
#endif
  host_.info("llm-gptq: loaded " + folder_ + " (" + version_ + ", " + where + ", KV " + std::string(runtime::dtype_name(kv_.dtype)) + ")");
}

void LlmModel::start_tensor_parallel(const std::string& name, const citadel_device_info& device,
                                     const TensorFinder& tensors, const std::string& source) {
  const auto ranks = static_cast<int>(options_.tensor_parallel_size);
  TensorParallelPlacement placement;
  placement.ranks = ranks;
  placement.cpu_threads_per_rank = std::max(1u, static_cast<unsigned>(pool_->size()) / static_cast<unsigned>(ranks));
#ifdef CITADEL_HAVE_CUDA
  if (device.kind == CITADEL_DEVICE_CUDA) {
    placement.cuda_devices.push_back(device.ordinal);
    if (!options_.tensor_parallel_devices.empty()) {
      placement.cuda_devices.insert(placement.cuda_devices.end(), options_.tensor_parallel_devices.begin(),
                                    options_.tensor_parallel_devices.end());
    } else {
      const int count = cuda_device_count();
      for (int r = 1; r < ranks; ++r) placement.cuda_devices.push_back((device.ordinal + r) % count);
    }
    placement.rank0_stream = device.cuda_stream;
  }
#else
  (void)device;
#endif
  try {
    tensor_parallel_ = std::make_unique<TensorParallelForward>(config_, tensors, source, options_.kv_dtype, placement);
  } catch (const sdk::PluginError& error) {  // the same status (a split that does not fit, out of memory, ...)
    throw runtime::RuntimeError(error.status(), "llm-gptq: model '" + name + "': option 'tensor_parallel_size' " +
                                                    std::to_string(ranks) + ": " + error.what());
  }
  kv_ = tensor_parallel_->rank_kv();  // the host's blocks hold rank 0's share
#ifdef CITADEL_HAVE_CUDA
  if (tensor_parallel_->on_cuda()) use_cuda_device(device.ordinal);
#endif
}

LlmModel::~LlmModel() = default;

citadel_model_info LlmModel::describe() {
  citadel_model_info info{};
  info.struct_size = sizeof(info);
  info.task = CITADEL_TASK_TEXT_GENERATION;
  info.num_layers = kv_.num_layers;
  info.tokens_per_block = kTokensPerBlock;
  info.bytes_per_token_per_layer = kv_.bytes_per_token_per_layer();
  info.max_context_tokens = max_context_;
  info.max_batch_requests = options_.max_batch_requests;
  info.max_step_tokens = options_.max_step_tokens;
  info.model_version = version_.c_str();
#ifdef CITADEL_HAVE_CUDA
  if (cuda_forward_) info.device_weight_bytes = cuda_forward_->device_weight_bytes();
#endif
  if (tensor_parallel_) {
    info.device_weight_bytes = tensor_parallel_->device_weight_bytes().front();  // rank 0's device
    info.cache_flags = CITADEL_CACHE_NO_SWAP;  // ranks 1.. keep their K/V by block id (rank_kv_blocks.h)
    device_claims_.clear();
    for (const TensorParallelForward::RankMemory& rank : tensor_parallel_->other_ranks_memory()) {
      citadel_device_claim claim{};
      claim.kind = rank.cuda_device >= 0 ? CITADEL_DEVICE_CUDA : CITADEL_DEVICE_CPU;
      claim.ordinal = rank.cuda_device >= 0 ? rank.cuda_device : -1;
      claim.fixed_bytes = rank.weight_bytes;
      claim.bytes_per_block = rank.bytes_per_block;
      claim.blocks_per_chunk = rank.blocks_per_chunk;
      device_claims_.push_back(claim);
    }
    info.num_device_claims = static_cast<uint32_t>(device_claims_.size());
    info.device_claims = device_claims_.data();
  }
  return info;
}

sdk::RequestPlan LlmModel::open_request(uint64_t request_id, std::string_view input_json,
                                        std::span<const uint8_t> /*payload*/) {
  if (requests_.count(request_id) != 0) {
    runtime::throw_invalid("request " + std::to_string(request_id) + " is already open");
  }
  const RequestInput input = parse_request_input(input_json);
  structured_->check(input);
  std::vector<int32_t> prompt = text_->encode(input, config_.vocab_size);
  if (prompt.empty()) runtime::throw_invalid("request input: the prompt encodes to no tokens");
  if (prompt.size() >= max_context_) {
    runtime::throw_invalid("request input: the prompt has " + std::to_string(prompt.size()) +
                           " tokens; the model's context is " + std::to_string(max_context_) + " tokens");
  }
  GenerationLimits limits;
  const uint32_t room = max_context_ - static_cast<uint32_t>(prompt.size());
  limits.max_new_tokens = std::min(room, input.max_tokens.value_or(options_.default_max_tokens));
  if (!input.ignore_eos) limits.stop_token_ids = text_->stop_token_ids();
  limits.stop_strings = input.stop;
  limits.tokenizer_vocab = text_->tokenizer().vocab_size();
  std::vector<int32_t> end_tokens = text_->stop_token_ids();
  auto generation = std::make_unique<Generation>(std::move(prompt), input.sampling, std::move(limits), text_->tokenizer());
  generation->set_constraint(structured_->constraint_for(input, std::move(end_tokens)));
  sdk::RequestPlan plan;
  plan.prompt_tokens = generation->prompt_tokens();
  plan.max_new_tokens = generation->max_new_tokens();
  plan.prompt_token_ids = generation->sequence().data();
  if (input.logprobs.any()) {
    request_logprobs_[request_id] = RequestLogprobs{input.logprobs};
    plan.compute_whole_prompt = input.logprobs.prompt;  // no prefix-cache skip over scored positions
  }
  requests_[request_id] = std::move(generation);
  return plan;
}

void LlmModel::step(const citadel_step_batch& batch, citadel_step_output* outputs) {
  const size_t count = batch.num_items;
  step_outputs_.begin(batch, outputs);
  step_logprobs_.resize(std::max(step_logprobs_.size(), count));
  for (StepLogprobs& logprobs : step_logprobs_) logprobs.clear();
  std::vector<SequenceChunk> chunks;
  std::vector<size_t> chunk_item;  // item index of each chunk
  uint64_t processed_tokens = 0;

  for (size_t i = 0; i < count; ++i) {
    const citadel_step_item& item = batch.items[i];
    auto found = requests_.find(item.request_id);
    auto fail = [&](const std::string& message) { step_outputs_.fail(i, message); };
    if (found == requests_.end()) {
      fail("llm-gptq: unknown request id " + std::to_string(item.request_id));
      continue;
    }
    Generation& generation = *found->second;
    if (generation.finished()) {
      step_outputs_.finish(i, generation.finish_reason());
      continue;
    }
    const uint64_t end = uint64_t{item.num_computed_tokens} + item.num_new_tokens;
    if (end > generation.sequence().size()) {
      fail("llm-gptq: request " + std::to_string(item.request_id) + " step asks for positions up to " +
           std::to_string(end) + " but the request knows " + std::to_string(generation.sequence().size()) +
           " tokens");
      continue;
    }
    if (end > uint64_t{item.num_blocks} * kTokensPerBlock) {
      fail("llm-gptq: request " + std::to_string(item.request_id) + " needs cache blocks for " +
           std::to_string(end) + " positions, the step gave " + std::to_string(item.num_blocks));
      continue;
    }
    std::span<void* const> blocks = step_outputs_.blocks(i, host_);
    if (blocks.size() != item.num_blocks) {
      fail("llm-gptq: request " + std::to_string(item.request_id) + " has a cache block without an address");
      continue;
    }
    if (item.num_new_tokens == 0) continue;
    SequenceChunk chunk;
    chunk.tokens = std::span<const int32_t>(generation.sequence().data() + item.num_computed_tokens,
                                            item.num_new_tokens);
    chunk.first_position = item.num_computed_tokens;
    chunk.blocks = blocks;
    chunk.block_ids = std::span<const uint32_t>(item.block_ids, item.num_blocks);
    chunk.want_logits = end == generation.sequence().size();
    if (auto scored = request_logprobs_.find(item.request_id); scored != request_logprobs_.end()) {
      chunk.all_logits = scored->second.wants_all_rows(chunk.first_position, generation.prompt_tokens());
    } else {
      chunk.argmax_only = chunk.want_logits && generation.max_new_tokens() > 0 && generation.picks_argmax();
    }
    chunks.push_back(chunk);
    chunk_item.push_back(i);
    processed_tokens += item.num_new_tokens;
  }

  const auto forward_started = std::chrono::steady_clock::now();
  // The step's logits rows; on CUDA, with the argmax of every row computed
  // on the device, and the rows of argmax_only chunks not copied.
  std::span<float> logits;
  std::span<const int32_t> device_argmax;
#ifdef CITADEL_HAVE_CUDA
  if (cuda_forward_) {
    use_cuda_device(host_.device().ordinal);
    const CudaForwardPass::StepLogits step = cuda_forward_->run_step(chunks);  // synchronizes the stream
    logits = step.rows;
    device_argmax = step.argmax;
  }
#endif
  if (forward_) {
    step_logits_ = forward_->run(chunks, *pool_);
    logits = step_logits_;
  }
  if (tensor_parallel_ && tensor_parallel_->on_cuda()) {
#ifdef CITADEL_HAVE_CUDA
    const CudaForwardPass::StepLogits step = tensor_parallel_->run_step(chunks);  // every rank synchronized
    logits = step.rows;
    device_argmax = step.argmax;
#endif
  } else if (tensor_parallel_) {
    step_logits_ = tensor_parallel_->run(chunks);
    logits = step_logits_;
  }
  const auto sampling_started = std::chrono::steady_clock::now();
  const size_t vocab = config_.vocab_size;
  size_t logits_row = 0;
  // Rows to sample: each on its own row of `logits`, in place, except for
  // requests that report logprobs (those need the raw row afterwards).
  struct Pending {
    size_t item;
    Generation* generation;
    size_t row;
    std::unordered_map<uint64_t, RequestLogprobs>::iterator scored;
    bool argmax_only;
    TokenOutcome outcome;
  };
  std::vector<Pending> pending;
  for (size_t c = 0; c < chunks.size(); ++c) {
    const size_t rows = logits_rows(chunks[c]);
    logits_row += rows;
    const size_t i = chunk_item[c];
    const uint64_t request_id = batch.items[i].request_id;
    Generation& generation = *requests_.at(request_id);
    auto scored = request_logprobs_.find(request_id);
    if (chunks[c].all_logits && scored != request_logprobs_.end()) {
      step_logprobs_[i].add_prompt_rows(
          scored->second, std::span(generation.sequence()).first(generation.prompt_tokens()), chunks[c],
          std::span<const float>(logits).subspan((logits_row - rows) * vocab, rows * vocab), vocab);
    }
    if (!chunks[c].want_logits) continue;
    if (generation.max_new_tokens() == 0) {  // prompt logprobs only
      generation.finish_after_prompt();
      step_outputs_.finish(i, generation.finish_reason());
      continue;
    }
    pending.push_back(Pending{i, &generation, logits_row - 1, scored, chunks[c].argmax_only, {}});
  }
  // Requests sample independently (each its own Generation, sampler and
  // decoder): one row per task of the pool.
  auto sample = [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      Pending& next = pending[static_cast<size_t>(p)];
      const std::span<float> row = logits.subspan(next.row * vocab, vocab);
      if (next.argmax_only) {
        next.outcome = next.generation->take_argmax(device_argmax.empty() ? runtime::argmax(row)
                                                                          : device_argmax[next.row]);
      } else if (next.scored != request_logprobs_.end()) {
        std::vector<float> copy(row.begin(), row.end());
        next.outcome = next.generation->sample_next(copy);
      } else {
        next.outcome = next.generation->sample_next(row);
      }
    }
  };
  // With the device's argmax a greedy row costs one token's detokenizing, a
  // microsecond or so: waking the pool's threads for such rows costs more
  // than it saves. Rows that sample or take the argmax of a whole
  // vocabulary on the CPU go to the pool.
  const bool light_rows = !device_argmax.empty() && std::all_of(pending.begin(), pending.end(), [](const Pending& p) {
    return p.argmax_only;
  });
  if (pending.size() > 1 && pool_->size() > 1 && !light_rows) {
    pool_->parallel_for(0, static_cast<int64_t>(pending.size()), sample);
  } else {
    sample(0, static_cast<int64_t>(pending.size()));
  }
  uint64_t generated = 0;
  for (Pending& next : pending) {
    ++generated;
    if (next.scored != request_logprobs_.end()) {
      const Generation& generation = *next.generation;
      step_logprobs_[next.item].add_sampled(next.scored->second,
                                            generation.prompt_tokens() + generation.generated_tokens() - 1,
                                            next.outcome.token,
                                            std::span<const float>(logits).subspan(next.row * vocab, vocab));
    }
    step_outputs_.append(next.item, next.outcome.token, std::move(next.outcome.text));
    if (next.outcome.finished) step_outputs_.finish(next.item, next.outcome.reason);
  }
  step_outputs_.publish();
  for (size_t i = 0; i < count; ++i) step_logprobs_[i].export_to(outputs[i], *token_texts_);
  // Where a step's time goes (bench/throughput/end_to_end.sh sets these
  // beside the host's step time): the forward pass with the copy of its
  // results, then sampling and detokenizing.
  const auto step_done = std::chrono::steady_clock::now();
  if (!chunks.empty()) {
    host_.counter_add("forward_seconds", std::chrono::duration<double>(sampling_started - forward_started).count());
    host_.counter_add("sampling_seconds", std::chrono::duration<double>(step_done - sampling_started).count());
  }
  host_.gauge_set("open_requests", static_cast<double>(requests_.size()));
  if (generated > 0) host_.counter_add("generated_tokens", static_cast<double>(generated));
  if (processed_tokens > 0) host_.counter_add("processed_tokens", static_cast<double>(processed_tokens));
}

void LlmModel::close_request(uint64_t request_id) {
  requests_.erase(request_id);
  request_logprobs_.erase(request_id);
}

std::span<const int32_t> LlmModel::tokenize(std::string_view input_json) {
  tokenized_ = text_->encode(parse_request_input(input_json), config_.vocab_size);
  return tokenized_;
}

std::string LlmModel::detokenize(std::span<const int32_t> ids) {
  const size_t vocab = text_->tokenizer().vocab_size();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || static_cast<size_t>(ids[i]) >= vocab) {
      runtime::throw_invalid("tokens[" + std::to_string(i) + "] is " + std::to_string(ids[i]) +
                             ", outside the tokenizer's vocabulary of " + std::to_string(vocab));
    }
  }
  return text_->tokenizer().decode(ids, /*skip_special_tokens=*/false);
}

}  // namespace citadel::llm
