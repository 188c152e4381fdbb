// image_preparer.h — gets requests' images ready for their prefill off the
// host's step thread: one background thread of the plugin's own prepares
// them (vision/deep_encoder.h prepare_image: decode, resize / pad / tiles,
// f32 views), and, when the model gives an encode function (the CUDA
// DeepEncoder on a stream of its own, or the CPU one on a pool of its own;
// ocr_model.cpp, option vision_encoder_thread), a second thread runs the
// vision encoder on each prepared image, so that neither the step thread nor
// request_open (which the host runs under the instance's lock, so it too
// holds steps back) does the resampling or waits for the encoder.
//
// The model submits a request's encoded image from request_open (after
// planning it with plan_image) and gets a ticket; the request's prefill step
// takes the rows (or, with no encode function, the prepared image) from the
// ticket; closing the request drops the ticket. The preparation thread takes
// tickets in submission order while the held bytes fit `budget_bytes` (the
// first one always may): prepared pixels not yet encoded or taken, plus
// encoded rows not yet taken (a Base page: 12.6 MB of pixels, 1.4 MB of
// rows). A queued request holds only its encoded bytes, so memory stays
// bounded however long the queue. The encoder thread encodes prepared images
// in the order they were prepared.
//
// take() never waits for work nobody has started: on a ticket still queued it
// prepares (and encodes) on the caller's thread; on one prepared but not yet
// picked by the encoder thread it encodes on the caller's thread. On one
// being prepared or encoded it waits. The encode function is called by one
// thread at a time (the encoder thread or a take(); a mutex of the
// preparer's orders them), so the encoder's scratch and cuBLAS handle need no
// second copy.
//
// Thread-safety: submit / take / a ticket's destruction may come from any
// thread (the host calls the model from one at a time). Tickets share the
// preparer's state, so one may outlive it: the destructor drops the queues,
// joins both threads and forgets the encode function (its encoder may go
// next); take() then prepares on the caller's thread and returns the image
// unencoded.
#pragma once

#include "vision/deep_encoder.h"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace citadel::deepseek_ocr {

// What one image needs to be prepared.
struct ImageSource {
  std::vector<uint8_t> bytes;  // the encoded file as sent
  ResolutionMode mode = ResolutionMode::base;
  ImageLimits limits;
  int max_crops = kDefaultMaxCrops;
  size_t prepared_bytes = 0;  // ImagePlan::prepared_bytes(), for the budget
};

// How an image is prepared: prepare_image(bytes, ...) unless a test injects
// another. Called on the preparer's thread or the caller of take().
using PrepareImageFn = std::function<PreparedImage(const ImageSource&)>;
// How a prepared image becomes its placeholder rows (DeepEncoder::encode:
// f32 [num_image_tokens, lm_hidden]). Called on the encoder thread or the
// caller of take(), one call at a time.
using EncodeImageFn = std::function<std::vector<float>(const PreparedImage&)>;

class ImagePreparer {
  struct Shared;
  struct Job;

 public:
  // A submitted image. Move-only; destroying it cancels the preparation or
  // the encoding (or frees the pixels / rows) and gives its budget back.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&&) noexcept = default;
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket();
    explicit operator bool() const { return job_ != nullptr; }

   private:
    friend class ImagePreparer;
    Ticket(std::shared_ptr<Shared> shared, std::shared_ptr<Job> job)
        : shared_(std::move(shared)), job_(std::move(job)) {}
    void release();
    std::shared_ptr<Shared> shared_;
    std::shared_ptr<Job> job_;
  };

  // What take() gives. `image` always carries the prepared image's mode,
  // grid, placeholder count and content hash; its pixels only when not
  // `encoded` (no encode function). `rows` are the encoder's when `encoded`.
  struct Taken {
    PreparedImage image;
    std::vector<float> rows;
    bool encoded = false;
    bool prepared_by_caller = false;  // the thread had not started on it
    bool encoded_by_caller = false;   // the encoder thread had not started on it
  };

  // `encode` empty: images are only prepared (the caller encodes them).
  explicit ImagePreparer(size_t budget_bytes, PrepareImageFn prepare = {}, EncodeImageFn encode = {});
  ~ImagePreparer();
  ImagePreparer(const ImagePreparer&) = delete;
  ImagePreparer& operator=(const ImagePreparer&) = delete;

  // Queues `source` for the background thread(s).
  Ticket submit(ImageSource source);
  // The rows (or prepared image) of `ticket` (then empty): made by the
  // threads, waited for, or made here (see above). Rethrows what preparing or
  // encoding threw (ImageInputError for a bad image). Throws RuntimeError for
  // an empty ticket.
  static Taken take(Ticket& ticket);
  // Whether take() would return without waiting for the threads: the rows
  // are encoded (or preparing or encoding failed), or, with no encode
  // function, the image is prepared. An empty ticket is ready. Never blocks
  // beyond the preparer's lock.
  static bool ready(const Ticket& ticket);

  // Whether images are encoded here (an encode function was given).
  bool encodes() const { return encodes_; }
  // Bytes of prepared pixels and encoded rows not yet taken (tests, metrics).
  size_t held_bytes() const;
  // Seconds the encode function has run so far, on whichever thread (the
  // model reports the growth as vision_encoder_seconds).
  double encoder_seconds() const;

 private:
  void prepare_loop();
  void encode_loop();

  std::shared_ptr<Shared> shared_;
  bool encodes_ = false;
  std::thread thread_;          // prepares
  std::thread encoder_thread_;  // encodes (only with an encode function)
};

}  // namespace citadel::deepseek_ocr
