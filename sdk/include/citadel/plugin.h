/*
 * citadel/plugin.h — the Citadel plugin ABI, the only contract between the
 * citadel host and a model plugin (.so).
 *
 * Who uses it: plugin authors (usually through citadel/sdk.hpp) and the host's
 * plugin registry (host/plugins). Plain C: no C++ types, no exceptions, and no
 * memory allocated on one side is freed on the other.
 *
 * Lifecycle, as the host drives it:
 *   1. dlopen the library, look up CITADEL_PLUGIN_ENTRY_SYMBOL and call it with
 *      the host's service table. The plugin returns its operation table
 *      (static storage, lives as long as the library). The host refuses a
 *      table whose abi_major differs from its own, naming both versions.
 *   2. create() one instance per models.d entry; describe() it.
 *   3. For each request: request_open(), then step() repeatedly (batched with
 *      other requests of the same instance) until the request finishes, then
 *      request_close(). request_close() is also how a request is cancelled.
 *   4. destroy() the instance. Everything the plugin allocated for it is freed
 *      here, so the host can dlclose the library afterwards.
 *
 * Threading: the host calls the operations of one instance from one thread at
 * a time. Different instances may be called concurrently. Host services may
 * be called from any thread.
 *
 * Versioning: a change that breaks existing plugins or hosts bumps
 * CITADEL_ABI_VERSION_MAJOR. Appending fields to the end of a struct or
 * functions to the end of a table bumps the minor; every struct that can grow
 * starts with struct_size so either side can tell what the other knows:
 *   - a table or struct passed whole (host api, plugin api, model info,
 *     request plan): read a member only when struct_size covers it
 *     (CITADEL_HAS_MEMBER); a member it does not cover is absent, not NULL;
 *   - arrays of growable structs (step items, step outputs) are walked with
 *     the stride the batch carries (item_size, output_size), never with the
 *     reader's own sizeof; fields beyond the writer's size read as zero.
 * Small leaf records inside those (citadel_prefix_extra_key,
 * citadel_token_logprob, citadel_position_logprobs) never grow: a new need
 * gets a new array.
 *
 * The cache unit. The pool stores, per layer, the keys and values of "cache
 * tokens": positions of the sequence the model attends over. For a text model
 * a cache token is a text token; for an image-to-text model an image becomes
 * a run of vision tokens in the prompt (each one cache token, its placeholder
 * id in prompt_token_ids and the image's content hash in extra_keys); for a
 * video model a cache token is one latent-frame patch token. Everything else
 * a request needs between steps (encoder outputs, cross-attention K/V of a
 * prompt, convolution caches, sampler state) is per-request state the plugin
 * owns, allocates in request_open or step and frees in request_close.
 */
#ifndef CITADEL_PLUGIN_H
#define CITADEL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CITADEL_ABI_VERSION_MAJOR 2
#define CITADEL_ABI_VERSION_MINOR 4

/* True when a struct that starts with struct_size, written by the other side,
 * covers `member` (a table's function or a struct's field). */
#define CITADEL_HAS_MEMBER(pointer, type, member) \
  ((pointer) != NULL && (pointer)->struct_size >= offsetof(type, member) + sizeof(((type*)0)->member))

/* The one symbol a plugin exports. Its type is citadel_plugin_entry_fn. */
#define CITADEL_PLUGIN_ENTRY_SYMBOL "citadel_plugin_entry"

#if defined(__GNUC__)
#define CITADEL_EXPORT __attribute__((visibility("default")))
#else
#define CITADEL_EXPORT
#endif

/* Status codes. Every operation that can fail returns one; the message that
 * explains it is written to a caller-owned citadel_error. */
typedef enum citadel_status {
  CITADEL_OK = 0,
  CITADEL_ERR_INVALID_ARGUMENT = 1, /* bad request input or model options */
  CITADEL_ERR_NOT_FOUND = 2,        /* unknown request id, missing file/tensor */
  CITADEL_ERR_OUT_OF_MEMORY = 3,    /* host or device memory exhausted */
  CITADEL_ERR_UNSUPPORTED = 4,      /* valid but not supported by this plugin */
  CITADEL_ERR_INTERNAL = 5,         /* a bug or an unexpected failure */
  CITADEL_ERR_CANCELLED = 6,        /* the request was cancelled */
  CITADEL_ERR_IO = 7,               /* a file could not be read */
  CITADEL_ERR_ABI_MISMATCH = 8,     /* the other side speaks another ABI major */
  /* The device is unusable for the rest of the process (a sticky CUDA error
   * such as cudaErrorIllegalAddress). From step: the host fails the model and
   * reports itself not ready (/ready 503) so that an orchestrator restarts it. */
  CITADEL_ERR_DEVICE_FATAL = 9
} citadel_status;

/* Human-readable name of a status ("invalid_argument", ...). Implemented by
 * the SDK (citadel_sdk) and by the host; never crosses the boundary. */
const char* citadel_status_name(citadel_status status);

#define CITADEL_ERROR_MESSAGE_CAPACITY 1024

/* Caller-owned error record. The callee fills `message` (NUL-terminated,
 * truncated to capacity) when it returns a status other than CITADEL_OK. */
typedef struct citadel_error {
  citadel_status status;
  char message[CITADEL_ERROR_MESSAGE_CAPACITY];
} citadel_error;

typedef enum citadel_log_level {
  CITADEL_LOG_TRACE = 0,
  CITADEL_LOG_DEBUG = 1,
  CITADEL_LOG_INFO = 2,
  CITADEL_LOG_WARN = 3,
  CITADEL_LOG_ERROR = 4
} citadel_log_level;

typedef enum citadel_task_kind {
  CITADEL_TASK_TEXT_GENERATION = 1, /* prompt -> text (completions, chat) */
  CITADEL_TASK_IMAGE_TO_TEXT = 2,   /* image -> text (OCR) */
  CITADEL_TASK_TEXT_TO_VIDEO = 3,   /* prompt -> frames (video) */
  CITADEL_TASK_GENERIC = 4          /* native JSON in, JSON/text out */
} citadel_task_kind;

typedef enum citadel_device_kind {
  CITADEL_DEVICE_CPU = 0,
  CITADEL_DEVICE_CUDA = 1
} citadel_device_kind;

/* Opaque handles. The host owns citadel_host_context (one per model
 * instance); the plugin owns citadel_instance. */
typedef struct citadel_host_context citadel_host_context;
typedef struct citadel_instance citadel_instance;

/* Where an instance runs. For CUDA, cuda_stream is the cudaStream_t the
 * instance must issue its work on (the host synchronises it after step). */
typedef struct citadel_device_info {
  uint32_t struct_size;
  citadel_device_kind kind;
  int32_t ordinal;      /* CUDA device ordinal; -1 for CPU */
  void* cuda_stream;    /* cudaStream_t, NULL for CPU */
  uint32_t cpu_threads; /* threads the instance may use for CPU work */
} citadel_device_info;

/* Services the host offers to plugins. Passed to the entry function; the
 * pointer stays valid as long as the library is loaded. `context` arguments
 * may be NULL for messages that belong to no instance. A plugin checks that a
 * service exists with CITADEL_HAS_MEMBER (struct_size), never by NULL: an
 * older host's table simply ends before the services it does not know. */
typedef struct citadel_host_api {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  void (*log)(citadel_host_context* context, citadel_log_level level, const char* message);
  /* Address of a cache block of this instance's cache space (host memory on
   * the CPU backend, device memory on CUDA). Valid until the end of the
   * current step: blocks may move (compaction, swap) between steps, so
   * plugins never keep these pointers across steps. NULL if the id is not a
   * block of this instance. */
  void* (*cache_block_address)(citadel_host_context* context, uint32_t block_id);
  /* Metrics: `name` is a Prometheus-style suffix, e.g. "kernel_seconds";
   * the host prefixes citadel_plugin_ and adds the model label. */
  void (*metric_counter_add)(citadel_host_context* context, const char* name, double delta);
  void (*metric_gauge_set)(citadel_host_context* context, const char* name, double value);
  /* Device and stream of the instance. */
  citadel_status (*device_info)(citadel_host_context* context, citadel_device_info* out);
} citadel_host_api;

/* Memory an instance keeps on a device outside its cache blocks and, on a
 * GPU, beyond device_weight_bytes: tensor-parallel ranks past the first, on
 * other GPUs or in host memory, each with its shard of the weights and its
 * share of every cache block, found by the host's block id. The instance
 * allocates that share `blocks_per_chunk` block ids at a time. A leaf
 * record: it never grows. */
typedef struct citadel_device_claim {
  citadel_device_kind kind; /* CITADEL_DEVICE_CUDA or CITADEL_DEVICE_CPU */
  int32_t ordinal;          /* CUDA device ordinal; -1 for CPU */
  uint64_t fixed_bytes;     /* weights and workspaces there */
  uint64_t bytes_per_block; /* kept there per host cache block id */
  uint32_t blocks_per_chunk; /* >= 1 */
  uint32_t reserved;        /* 0 */
} citadel_device_claim;

/* What an instance needs from the host's cache pool and scheduler. One cache
 * block holds `tokens_per_block` cache tokens for every layer:
 *   block_bytes = tokens_per_block * num_layers * bytes_per_token_per_layer
 * and its layout inside the block is the plugin's business. */
typedef struct citadel_model_info {
  uint32_t struct_size;
  citadel_task_kind task;
  uint32_t num_layers;
  uint32_t tokens_per_block;
  uint64_t bytes_per_token_per_layer; /* K and V together */
  uint32_t max_context_tokens;        /* per request: prompt + generated */
  uint32_t max_batch_requests;        /* requests one step may carry */
  uint32_t max_step_tokens;           /* cache tokens one step may process */
  const char* model_version;          /* plugin-owned, lives with the instance */
  /* Token ids the model can produce are [0, vocab_size); 0: not stated. The
   * host fails a request whose step output appends a token outside it. */
  uint32_t vocab_size;
  /* ABI 2.1: device bytes the instance's weights take on its device (0: none
   * or not stated, e.g. on the CPU). The host subtracts them from what its
   * cache pool and `device: auto` consider free on that device and shows
   * them in `citadelctl models` / `pool` and /metrics. */
  uint64_t device_weight_bytes;
  /* ABI 2.3: CITADEL_CACHE_* flags (0 from older plugins). */
  uint32_t cache_flags;
  /* ABI 2.4: memory on other devices (NULL when none); plugin-owned, lives
   * with the instance. While the instance lives the host takes, from the
   * budget of the cache pool on each claim's device, fixed_bytes plus
   * bytes_per_block for every block id its cache space can hold (rounded
   * up to blocks_per_chunk), and shows the claim in `citadelctl pool` and
   * /metrics. A claim on a device without a pool fails the model. */
  uint32_t num_device_claims;
  const citadel_device_claim* device_claims;
} citadel_model_info;

/* citadel_model_info.cache_flags: the host must not move the contents of
 * the instance's blocks to its host swap tier, because part of each block's
 * cache lives outside it, keyed by the block id (llm-gptq's tensor-parallel
 * ranks past the first). A preempted request of such an instance is
 * recomputed instead. Compaction (same id, data moved) stays allowed. */
#define CITADEL_CACHE_NO_SWAP 1u

/* Content that placeholder tokens stand for, for prefix caching: the prompt
 * positions [begin, end) hold a run of placeholder ids (an image's vision
 * tokens) whose cache entries depend on `hash` (a 128-bit hash of the
 * content, e.g. of the image's bytes or pixels) as well as on the ids. The
 * host mixes the hash into every prefix block that overlaps the run, so two
 * prompts share a block only when their ids and their content are equal
 * (vLLM's extra keys). */
typedef struct citadel_prefix_extra_key {
  uint32_t begin;
  uint32_t end;
  uint64_t hash_low;
  uint64_t hash_high;
} citadel_prefix_extra_key;

/* Flags of a request plan. */
enum {
  /* The plugin needs every prompt position computed by this request (e.g. it
   * reports prompt logprobs): the host never skips positions through a
   * prefix-cache hit. It still publishes the blocks for other requests. */
  CITADEL_PLAN_COMPUTE_WHOLE_PROMPT = 1u << 0
};

/* What the host needs to admit a request, filled by request_open. */
typedef struct citadel_request_plan {
  uint32_t struct_size;
  uint32_t prompt_tokens;  /* cache tokens the input occupies */
  uint32_t max_new_tokens; /* upper bound on tokens the request will append;
                              0: process the prompt only (finish after it) */
  /* Token ids of the prompt, used by the host for prefix caching. May be
   * NULL (no prefix sharing). Plugin-owned, valid until the next call on
   * this instance. */
  const int32_t* prompt_token_ids;
  /* Extra keys of placeholder runs (sorted by begin, not overlapping, inside
   * [0, prompt_tokens)); NULL when none. Plugin-owned like prompt_token_ids. */
  uint32_t num_extra_keys;
  const citadel_prefix_extra_key* extra_keys;
  uint32_t flags; /* CITADEL_PLAN_* */
} citadel_request_plan;

/* One request's share of a step. Positions [0, num_computed_tokens) are in the
 * cache already (possibly shared with other requests through prefix caching);
 * the plugin processes the next num_new_tokens known tokens of the request's
 * sequence (a prefill chunk, or 1 for a decode step) and writes their cache
 * entries into the blocks. block_ids[i] covers positions
 * [i*tokens_per_block, (i+1)*tokens_per_block). */
typedef struct citadel_step_item {
  uint32_t struct_size; /* the host's sizeof(citadel_step_item) */
  uint64_t request_id;
  uint32_t num_computed_tokens;
  uint32_t num_new_tokens;
  uint32_t num_blocks;
  const uint32_t* block_ids;
  void* const* block_addresses; /* same as cache_block_address(block_ids[i]) */
} citadel_step_item;

/* items is an array of num_items entries of item_size bytes each (the host's
 * sizeof(citadel_step_item)); outputs passed to step() has num_items entries
 * of output_size bytes each, zeroed by the host apart from struct_size. The
 * SDK hides both strides (it hands the model arrays of its own structs). */
typedef struct citadel_step_batch {
  uint32_t struct_size;
  uint32_t num_items;
  uint32_t item_size;
  uint32_t output_size;
  const citadel_step_item* items;
  /* ABI 2.2: CITADEL_STEP_* flags (absent from older hosts: none). */
  uint32_t flags;
} citadel_step_batch;

/* The host takes CITADEL_REQUEST_DEFERRED outputs in this step. */
#define CITADEL_STEP_MAY_DEFER 0x1u

typedef enum citadel_request_state {
  CITADEL_REQUEST_RUNNING = 0,
  CITADEL_REQUEST_FINISHED = 1,
  CITADEL_REQUEST_FAILED = 2,
  /* ABI 2.2, only in a batch with CITADEL_STEP_MAY_DEFER: the plugin did not
   * process the item this step because an input of the request is not ready
   * (an image still being encoded on another thread), so the rest of the
   * batch need not wait for it. Nothing was written to its cache blocks;
   * appended_tokens 0, no text or data. The host keeps its computed tokens
   * and schedules the same tokens again; when every item of a step is
   * deferred it waits a moment before the next step. */
  CITADEL_REQUEST_DEFERRED = 3
} citadel_request_state;

typedef enum citadel_finish_reason {
  CITADEL_FINISH_NONE = 0,
  CITADEL_FINISH_STOP = 1,   /* stop token or stop string */
  CITADEL_FINISH_LENGTH = 2, /* max_new_tokens or context length reached */
  CITADEL_FINISH_ERROR = 3
} citadel_finish_reason;

/* One token and its log-probability under the model: the log-softmax of the
 * model's raw logits (before temperature, top-k/top-p and penalties). `text`
 * is the token's own bytes (not necessarily complete UTF-8; special tokens
 * spelled out), text_len of them. */
typedef struct citadel_token_logprob {
  int32_t token_id;
  float logprob;
  const char* text;
  uint32_t text_len;
} citadel_token_logprob;

/* Logprobs of the token at one sequence position: the token itself (its
 * logprob is NaN where there is none: the first prompt token) and the
 * num_top most likely tokens at that position, most likely first. */
typedef struct citadel_position_logprobs {
  citadel_token_logprob token;
  uint32_t num_top;
  const citadel_token_logprob* top;
} citadel_position_logprobs;

/* One request's result of a step. All pointers are plugin-owned and valid
 * until the next call on this instance. */
typedef struct citadel_step_output {
  uint32_t struct_size; /* set by the host: the size it allocated */
  uint64_t request_id;
  citadel_request_state state;
  citadel_finish_reason finish_reason;
  /* Tokens appended to the request's known sequence by this step: 1 when the
   * step processed the last known token and sampled a new one, else 0. */
  uint32_t appended_tokens;
  int32_t token_id;   /* the appended token, -1 if none */
  const char* text;   /* text produced by this step (UTF-8, may be empty) */
  uint32_t text_len;
  const uint8_t* data; /* binary output (a frame, an image), or NULL */
  uint64_t data_len;
  const char* data_type; /* MIME type of data, or NULL */
  const char* error;     /* message when state == FAILED, else NULL */
  /* Logprobs of consecutive sequence positions starting at
   * logprobs_first_position: prompt positions (when the request asked for
   * prompt logprobs; each reported once, even after a recomputation) and the
   * appended token. num_logprobs 0 when the request asked for none. */
  uint32_t logprobs_first_position;
  uint32_t num_logprobs;
  const citadel_position_logprobs* logprobs;
} citadel_step_output;

/* Token ids, plugin-owned, valid until the next call on the instance. */
typedef struct citadel_token_ids {
  uint32_t struct_size;
  uint32_t count;
  const int32_t* ids;
} citadel_token_ids;

/* Text, plugin-owned, valid until the next call on the instance. */
typedef struct citadel_text {
  uint32_t struct_size;
  uint32_t length;
  const char* text;
} citadel_text;

/* Operations a plugin offers. Returned by the entry function. */
typedef struct citadel_plugin_api {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  const char* plugin_name;    /* e.g. "llm-gptq" */
  const char* plugin_version; /* e.g. "1.2.0" */

  /* Create an instance from its configuration: a JSON object with "name",
   * "weights", "device" and "options" (the models.d file's plugin options).
   * `context` identifies the instance in host service calls. */
  citadel_status (*create)(citadel_host_context* context, const char* config_json,
                           citadel_instance** out_instance, citadel_error* error);
  citadel_status (*describe)(citadel_instance* instance, citadel_model_info* out_info,
                             citadel_error* error);
  /* Parse and plan a request. input_json is the request's native input (see
   * each task's input schema in docs/plugin-authoring.md); payload is an
   * optional binary attachment (an image), NULL when absent. */
  citadel_status (*request_open)(citadel_instance* instance, uint64_t request_id,
                                 const char* input_json, const uint8_t* payload,
                                 uint64_t payload_len, citadel_request_plan* out_plan,
                                 citadel_error* error);
  /* Advance a batch by one unit of work. outputs has batch->num_items
   * entries of batch->output_size bytes, in the order of batch->items. A failure of one request is
   * reported in its output (state FAILED); a non-OK return fails the batch. */
  citadel_status (*step)(citadel_instance* instance, const citadel_step_batch* batch,
                         citadel_step_output* outputs, citadel_error* error);
  /* Forget a request: finished, failed or cancelled. Never fails. */
  void (*request_close)(citadel_instance* instance, uint64_t request_id);
  /* Free the instance and everything it allocated. */
  void (*destroy)(citadel_instance* instance);

  /* Optional (check with CITADEL_HAS_MEMBER; NULL when the plugin has no
   * tokenizer). tokenize: the token ids input_json's prompt becomes, with the
   * request input's schema ({"prompt"} or {"messages"}; other fields are
   * ignored), exactly as request_open would encode it. detokenize: the text
   * of `count` ids (special tokens spelled out). */
  citadel_status (*tokenize)(citadel_instance* instance, const char* input_json,
                             citadel_token_ids* out_ids, citadel_error* error);
  citadel_status (*detokenize)(citadel_instance* instance, const int32_t* ids, uint32_t count,
                               citadel_text* out_text, citadel_error* error);
} citadel_plugin_api;

/* The entry function. Called once after loading. Returns the plugin's
 * operation table (never NULL; static storage). The host compares its
 * abi_major with its own before calling anything else. */
typedef const citadel_plugin_api* (*citadel_plugin_entry_fn)(const citadel_host_api* host);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CITADEL_PLUGIN_H */
