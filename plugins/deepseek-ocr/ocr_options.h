// ocr_options.h — the deepseek-ocr plugin's options (plugin.yaml defaults,
// overridden by the models.d file's `options:`), parsed and checked once when
// an instance is created. Errors name the option (INVALID_ARGUMENT).
//   threads: 0 (the host's cpu_threads)   kv_cache_dtype: f16 | f32
//   max_batch_requests, max_step_tokens, max_context_tokens (0: the model's)
//   default_max_tokens          default_mode: tiny|small|base|large|gundam
//   default_prompt ("<image>\n<|grounding|>Convert the document to markdown.")
//   max_crops (Gundam tiles, 2..9)   ngram_size / ngram_window (0: no guard)
//   max_image_bytes / max_image_side / max_image_pixels (refused before decoding)
//   prepared_images_mb: prepared (f32) images of queued requests held at most
//     (image_preparer.h; beyond it a queued request keeps its encoded bytes),
//     their encoded rows (f32 [tokens, 1280]) counted too
//   vision_encoder_thread: auto | true | false — run the vision encoder on a
//     thread of the plugin's own ahead of the prefill (image_preparer.h);
//     auto: on CUDA yes (a stream of its own), on the CPU no (the encoder
//     then gets a thread pool of its own, as large as the decoder's)
//   defer_unready_images: false | true — a prefill whose image the
//     preparer's threads have not finished is deferred (where the host
//     takes that, ABI 2.2) rather than waited for, so that the step's other
//     requests go on; the first waits when nothing else is to compute. Off
//     by default: it makes many more, smaller steps, and its throughput on a
//     GPU is not yet measured (bench/README.md, "deferred prefills")
// Used by the model (ocr_model.cpp) and the request parser (ocr_input.cpp).
#pragma once

#include "vision/deep_encoder.h"

#include "runtime/core/dtype.h"

#include <boost/json.hpp>

#include <cstdint>
#include <string>

namespace citadel::deepseek_ocr {

struct OcrOptions {
  unsigned threads = 0;
  runtime::DType kv_dtype = runtime::DType::f16;
  uint32_t max_batch_requests = 16;
  uint32_t max_step_tokens = 2048;
  uint32_t max_context_tokens = 0;
  uint32_t default_max_tokens = 4096;
  ResolutionMode default_mode = ResolutionMode::gundam;
  std::string default_prompt = "<image>\n<|grounding|>Convert the document to markdown.";
  int max_crops = kDefaultMaxCrops;
  uint32_t ngram_size = 30;
  uint32_t ngram_window = 90;
  ImageLimits image_limits;
  uint64_t prepared_images_mb = 512;
  enum class EncoderThread { automatic, on, off };
  EncoderThread vision_encoder_thread = EncoderThread::automatic;
  bool defer_unready_images = false;

  // Throws PluginError (INVALID_ARGUMENT) naming the option.
  static OcrOptions parse(const boost::json::object& options);
};

}  // namespace citadel::deepseek_ocr
