// ocr_request.h — one image-to-text request between steps: its known sequence
// (BOS, prompt text, the image's placeholder run, generated tokens), the
// ticket of its image at the plugin's preparation thread (image_preparer.h:
// the compressed file while queued, the prepared views once ready, the rows
// once its encoder thread has run, within the preparer's budget) until the
// prefill takes it, and the encoder's rows after, the
// sampler with the no-repeat n-gram guard, the stop conditions (EOS, max new
// tokens) and the streaming detokenizer. Generated text keeps special tokens
// spelled out, so grounding spans (<|ref|>..<|/ref|><|det|>[[..]]<|/det|>)
// reach the client as the model wrote them. Owned by the model
// (ocr_model.cpp), one per open request; used from one thread at a time.
#pragma once

#include "image_preparer.h"
#include "vision/deep_encoder.h"

#include <citadel/plugin.h>

#include "runtime/kernels/no_repeat_ngram.h"
#include "runtime/kernels/sampling.h"
#include "runtime/text/tokenizer.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace citadel::deepseek_ocr {

struct OcrRequestSetup {
  std::vector<int32_t> prompt;  // laid out (prompt_layout.h)
  uint32_t image_begin = 0;
  uint32_t image_tokens = 0;
  ImagePreparer::Ticket image;        // the payload, submitted to the preparer
  ContentHash content_hash;           // of the image planned at open (plan_image)
  runtime::SamplingParams sampling;
  runtime::NoRepeatNgramSettings ngram;
  uint32_t max_new_tokens = 0;
  int32_t eos_token_id = 1;
};

// What OcrRequest::encode did on the caller's thread.
struct EncodeReport {
  bool prepared_here = false;   // the preparation thread had not started on the image
  bool encoded_here = false;    // the rows were computed on this thread
  double encoder_seconds = 0;   // the encoder's time here outside the preparer
                                // (with no encoder thread); else ImagePreparer::encoder_seconds counts it
};

// What one sampled token produced.
struct SampledToken {
  int32_t token = -1;
  std::string text;
  bool finished = false;
  citadel_finish_reason reason = CITADEL_FINISH_NONE;
};

class OcrRequest {
 public:
  OcrRequest(OcrRequestSetup setup, const runtime::Tokenizer& tokenizer);

  const std::vector<int32_t>& sequence() const { return sequence_; }
  uint32_t prompt_tokens() const { return prompt_tokens_; }
  uint32_t max_new_tokens() const { return max_new_tokens_; }
  uint32_t image_begin() const { return image_begin_; }
  uint32_t image_tokens() const { return image_tokens_; }
  const ContentHash& content_hash() const { return content_hash_; }
  bool finished() const { return finished_; }
  citadel_finish_reason finish_reason() const { return reason_; }

  // Whether positions [begin, end) hold placeholders whose rows the encoder
  // has not produced yet.
  bool needs_encoding(uint64_t begin, uint64_t end) const;
  // Takes the image from the preparer (ImagePreparer::take: its rows when
  // the preparer encodes, waiting for them or computing them here if its
  // threads had not started on them; else the prepared image, which
  // `encoder` then encodes here), checks it against the planned content hash
  // and placeholder count and keeps the rows (once). Throws
  // (ImageInputError, RuntimeError) naming the cause. Called by the step
  // thread at the request's prefill.
  EncodeReport encode(DeepEncoder& encoder);
  // Whether encode() would not wait for the preparer's threads (its rows
  // made, or the image prepared where the caller encodes it).
  bool image_ready() const { return !image_rows_.empty() || ImagePreparer::ready(image_); }
  // The encoder's rows [image_tokens, hidden]; empty before encode().
  const std::vector<float>& image_rows() const { return image_rows_; }

  // Applies the n-gram guard, samples from `logits` (modified), appends the
  // token and returns its text and whether the request is done.
  SampledToken sample_next(std::span<float> logits);
  // True when sample_next would pick the argmax of the logits as given:
  // greedy sampling without repetition penalty, and the n-gram guard bans
  // nothing now. The caller may then pass that argmax to take_argmax.
  bool picks_argmax() const;
  // As sample_next for a request where picks_argmax(): `token` is the
  // argmax of the step's logits row.
  SampledToken take_argmax(int32_t token);

 private:
  // Appends the chosen token; its text and whether the request is done.
  SampledToken append(int32_t token);
  // What sampling a finished request gives: no token, its finish reason.
  SampledToken finished_outcome() const;

  std::vector<int32_t> sequence_;
  uint32_t prompt_tokens_;
  uint32_t image_begin_;
  uint32_t image_tokens_;
  ContentHash content_hash_;
  ImagePreparer::Ticket image_;  // until encoded
  std::vector<float> image_rows_;
  runtime::Sampler sampler_;
  runtime::NoRepeatNgramSettings ngram_;
  uint32_t max_new_tokens_;
  int32_t eos_token_id_;
  size_t tokenizer_vocab_;
  runtime::StreamingDecoder decoder_;
  bool finished_ = false;
  citadel_finish_reason reason_ = CITADEL_FINISH_NONE;
};

}  // namespace citadel::deepseek_ocr
