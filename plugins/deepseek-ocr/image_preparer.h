// image_preparer.h — prepares requests' images (vision/deep_encoder.h
// prepare_image: decode, resize / pad / tiles, f32 views) on one background
// thread of the plugin's own, so that neither the host's step thread nor
// request_open (which the host runs under the instance's lock, so it too
// holds steps back) does the resampling.
//
// The model submits a request's encoded image from request_open (after
// planning it with plan_image) and gets a ticket; the request's prefill step
// takes the prepared image from the ticket; closing the request drops the
// ticket. The thread prepares tickets in submission order while the prepared,
// not yet taken images fit `budget_bytes` (the first one always may): a
// queued request holds only its encoded bytes, so memory stays bounded
// however long the queue. take() on a ticket the thread has not started
// prepares it on the caller's thread (the old behaviour, and the fallback
// when the queue is behind); on one being prepared it waits.
//
// Thread-safety: submit / take / a ticket's destruction may come from any
// thread (the host calls the model from one at a time). Tickets share the
// preparer's state, so one may outlive it: the destructor drops the queue and
// joins the thread, and take() then prepares on the caller's thread.
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

class ImagePreparer {
  struct Shared;
  struct Job;

 public:
  // A submitted image. Move-only; destroying it cancels the preparation
  // (or frees the prepared pixels) and gives its budget back.
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

  // What take() gives: the image, and whether the caller's thread had to
  // prepare it (the background thread had not started on it).
  struct Taken {
    PreparedImage image;
    bool prepared_by_caller = false;
  };

  explicit ImagePreparer(size_t budget_bytes, PrepareImageFn prepare = {});
  ~ImagePreparer();
  ImagePreparer(const ImagePreparer&) = delete;
  ImagePreparer& operator=(const ImagePreparer&) = delete;

  // Queues `source` for the background thread.
  Ticket submit(ImageSource source);
  // The prepared image of `ticket` (then empty): prepared by the thread,
  // waited for, or prepared here when still queued. Rethrows what preparing
  // threw (ImageInputError for a bad image). Throws RuntimeError for an
  // empty ticket.
  static Taken take(Ticket& ticket);

  // Bytes of prepared images not yet taken (for tests and metrics).
  size_t held_bytes() const;

 private:
  void run();

  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace citadel::deepseek_ocr
