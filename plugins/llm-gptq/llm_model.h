// llm_model.h — the llm-gptq plugin's model: loads a Hugging Face GPTQ (or
// fp16/bf16) Llama-family checkpoint folder or a GGUF file (gguf_model.h), tokenizes requests (prompt or
// chat messages), and runs the host's step batches on the CPU (or, in CUDA
// builds, on the host's CUDA device and stream) with its KV cache in the host's blocks (kv_layout.h). plugin.cpp registers it; the
// tests drive it through the plugin ABI (tests/llm/plugin_harness.hpp).
//
// Options (plugin.yaml defaults, overridden by the models.d file):
//   chat_template: auto | llama3 | chatml   default_system_prompt: ""
//   threads: 0 (the host's cpu_threads, else all cores)
//   kv_cache_dtype: f16 | f32   max_batch_requests: 64
//   max_step_tokens: 2048       max_context_tokens: 0 (the model's)
//   default_max_tokens: 1024 (when a request names none)
//   tools: auto (tools when the chat template handles them) | on | off
//   gpu_layers: -1 (all) | N, or cpu_offload_gb: GB (cuda only; the other
//   layers streamed from pinned host memory each step, weight_offload.h)
//   tensor_parallel_size: 1 | N (tensor_parallel_forward.h; Hugging Face
//   checkpoints); tensor_parallel_devices: [CUDA ordinals of ranks 1..N-1]
//   (default: the ordinals after the model's device, wrapping around)
#pragma once

#include "forward.h"
#include "generation.h"
#include "hf_config.h"
#include "kv_layout.h"
#include "random_model.h"
#include "request_input.h"
#include "structured_output.h"
#include "tensor_parallel_forward.h"
#include "text_front_end.h"
#include "token_logprobs.h"
#include "weight_offload.h"
#include "weights.h"
#ifdef CITADEL_HAVE_CUDA
#include "cuda_forward.h"
#endif

#include <citadel/sdk.hpp>
#include <citadel/step_outputs.hpp>

#include "runtime/core/thread_pool.h"

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace citadel::llm {

struct LlmOptions {
  std::string chat_template = "auto";
  std::string default_system_prompt;
  unsigned threads = 0;
  runtime::DType kv_dtype = runtime::DType::f16;
  uint32_t max_batch_requests = 64;
  uint32_t max_step_tokens = 2048;
  uint32_t max_context_tokens = 0;
  uint32_t default_max_tokens = 1024;
  std::string tools = "auto";
  // "dummy" (vLLM's --load-format dummy): random weights of the shape and
  // quantization config.json gives, no safetensors read; for benchmarks.
  bool dummy_weights = false;
  WeightOffload offload;
  uint32_t tensor_parallel_size = 1;
  std::vector<int> tensor_parallel_devices;  // ranks 1..; empty: the default

  // Throws PluginError (INVALID_ARGUMENT) naming the option.
  static LlmOptions parse(const boost::json::object& options);
};

class LlmModel final : public sdk::Model {
 public:
  LlmModel(const sdk::Host& host, const sdk::ModelConfig& config);
  ~LlmModel() override;

  citadel_model_info describe() override;
  sdk::RequestPlan open_request(uint64_t request_id, std::string_view input_json,
                                std::span<const uint8_t> payload) override;
  void step(const citadel_step_batch& batch, citadel_step_output* outputs) override;
  void close_request(uint64_t request_id) override;
  std::span<const int32_t> tokenize(std::string_view input_json) override;
  std::string detokenize(std::span<const int32_t> ids) override;

  const HfModelConfig& config() const { return config_; }

 private:
  // tensor_parallel_size > 1: the ranks' shards from `tensors` (the whole
  // checkpoint's), placed on the model's device and the devices after it.
  void start_tensor_parallel(const std::string& name, const citadel_device_info& device, const TensorFinder& tensors,
                             const std::string& source);

  sdk::Host host_;
  LlmOptions options_;
  std::string folder_;
  std::string version_;
  HfModelConfig config_;
  std::optional<InMemoryCheckpoint> dummy_checkpoint_;  // load_format: dummy (weights_ points into it)
  ModelWeights weights_;
  KvGeometry kv_;
  uint32_t max_context_ = 0;
  std::optional<TextFrontEnd> text_;
  std::optional<StructuredOutput> structured_;
  std::unique_ptr<runtime::ThreadPool> pool_;
  std::unique_ptr<ForwardPass> forward_;
  std::unique_ptr<TensorParallelForward> tensor_parallel_;  // tensor_parallel_size > 1 (forward_ null)
  std::vector<citadel_device_claim> device_claims_;        // describe(): ranks 1..'s memory
#ifdef CITADEL_HAVE_CUDA
  std::unique_ptr<CudaForwardPass> cuda_forward_;  // set on CUDA devices (forward_ is then null)
#endif
  std::unordered_map<uint64_t, std::unique_ptr<Generation>> requests_;
  std::vector<float> step_logits_;  // the CPU pass's logits of the last step
  // Logprobs: per open request that asked for them, per item of the step.
  std::optional<TokenTexts> token_texts_;
  std::unordered_map<uint64_t, RequestLogprobs> request_logprobs_;
  std::vector<StepLogprobs> step_logprobs_;
  std::vector<int32_t> tokenized_;  // tokenize()'s answer, valid until the next call
  sdk::StepOutputs step_outputs_;  // the last step's strings and block tables
};

}  // namespace citadel::llm
