// ImagePreparer: a background thread preparing submitted images in order and
// (with an encode function) a second one encoding them, within a budget of
// held (prepared or encoded, not yet taken) bytes.
#include "image_preparer.h"

#include "runtime/core/error.h"

#include <algorithm>
#include <chrono>
#include <exception>

namespace citadel::deepseek_ocr {

struct ImagePreparer::Job {
  // queued -> preparing -> prepared -> [encoding -> encoded] -> done; or failed.
  enum class State { queued, preparing, prepared, encoding, encoded, failed, done };
  ImageSource source;
  State state = State::queued;
  bool cancelled = false;   // the ticket went while a thread worked on it
  PreparedImage image;      // prepared: with pixels; encoded: without
  std::vector<float> rows;  // encoded
  size_t charged = 0;       // bytes of `image` / `rows` counted in Shared::held
  std::exception_ptr error;
};

struct ImagePreparer::Shared {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::shared_ptr<Job>> queue;         // to prepare
  std::deque<std::shared_ptr<Job>> encode_queue;  // prepared, to encode
  size_t held = 0;
  size_t budget = 0;
  bool stopping = false;
  PrepareImageFn prepare;
  EncodeImageFn encode;        // empty: no encoding here (or the preparer is gone)
  std::mutex encoder_mutex;    // one encode call at a time
  double encoder_seconds = 0;  // (mutex)

  // Whether the thread may start the queue's front now (mutex held).
  bool may_start() const {
    return !queue.empty() && (held == 0 || held + queue.front()->source.prepared_bytes <= budget);
  }
  static void unqueue(std::deque<std::shared_ptr<Job>>& from, const std::shared_ptr<Job>& job) {
    const auto it = std::find(from.begin(), from.end(), job);
    if (it != from.end()) from.erase(it);
  }
  // Drops what `job` holds and gives its bytes back (mutex held).
  void free_job(Job& job) {
    held -= job.charged;
    job.charged = 0;
    job.image = PreparedImage();
    job.rows = {};
    job.source.bytes = {};
  }
  // Runs `encode_fn` on `image` under the encoder mutex, adding its time to
  // encoder_seconds (mutex NOT held by the caller).
  std::vector<float> run_encoder(const EncodeImageFn& encode_fn, const PreparedImage& image) {
    std::vector<float> rows;
    double seconds = 0;
    {
      std::lock_guard encoding(encoder_mutex);
      const auto started = std::chrono::steady_clock::now();
      try {
        rows = encode_fn(image);
      } catch (...) {
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::lock_guard lock(mutex);
        encoder_seconds += seconds;
        throw;
      }
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }
    std::lock_guard lock(mutex);
    encoder_seconds += seconds;
    return rows;
  }
};

namespace {

size_t pixel_bytes(const PreparedImage& image) {
  return (image.global_pixels.size() + image.tile_pixels.size()) * sizeof(float);
}

// `image` without its pixels: what the prefill checks against its plan.
PreparedImage without_pixels(PreparedImage image) {
  image.global_pixels = {};
  image.tile_pixels = {};
  return image;
}

}  // namespace

ImagePreparer::ImagePreparer(size_t budget_bytes, PrepareImageFn prepare, EncodeImageFn encode)
    : shared_(std::make_shared<Shared>()), encodes_(static_cast<bool>(encode)) {
  shared_->budget = budget_bytes;
  shared_->prepare = prepare ? std::move(prepare) : [](const ImageSource& source) {
    return prepare_image(source.bytes, source.mode, source.limits, source.max_crops);
  };
  shared_->encode = std::move(encode);
  thread_ = std::thread([this] { prepare_loop(); });
  if (encodes_) encoder_thread_ = std::thread([this] { encode_loop(); });
}

ImagePreparer::~ImagePreparer() {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopping = true;
    shared_->queue.clear();         // tickets still held prepare on take()
    shared_->encode_queue.clear();  // and are taken unencoded
  }
  shared_->changed.notify_all();
  thread_.join();
  if (encoder_thread_.joinable()) encoder_thread_.join();
  std::lock_guard lock(shared_->mutex);
  shared_->encode = nullptr;  // its encoder may be destroyed after this
}

ImagePreparer::Ticket ImagePreparer::submit(ImageSource source) {
  auto job = std::make_shared<Job>();
  job->source = std::move(source);
  {
    std::lock_guard lock(shared_->mutex);
    shared_->queue.push_back(job);
  }
  shared_->changed.notify_all();
  return Ticket(shared_, std::move(job));
}

size_t ImagePreparer::held_bytes() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->held;
}

double ImagePreparer::encoder_seconds() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->encoder_seconds;
}

void ImagePreparer::prepare_loop() {
  Shared& shared = *shared_;
  std::unique_lock lock(shared.mutex);
  for (;;) {
    shared.changed.wait(lock, [&] { return shared.stopping || shared.may_start(); });
    if (shared.stopping) return;
    std::shared_ptr<Job> job = shared.queue.front();
    shared.queue.pop_front();
    job->state = Job::State::preparing;
    lock.unlock();
    PreparedImage image;
    std::exception_ptr error;
    try {
      image = shared.prepare(job->source);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    job->source.bytes = {};
    if (job->cancelled) {
      job->state = Job::State::done;
    } else if (error) {
      job->state = Job::State::failed;
      job->error = error;
    } else {
      job->charged = pixel_bytes(image);
      job->image = std::move(image);
      shared.held += job->charged;
      job->state = Job::State::prepared;
      if (shared.encode && !shared.stopping) shared.encode_queue.push_back(job);
    }
    shared.changed.notify_all();
  }
}

void ImagePreparer::encode_loop() {
  Shared& shared = *shared_;
  const EncodeImageFn encode = shared.encode;  // set before the thread started
  std::unique_lock lock(shared.mutex);
  for (;;) {
    shared.changed.wait(lock, [&] { return shared.stopping || !shared.encode_queue.empty(); });
    if (shared.stopping) return;
    std::shared_ptr<Job> job = shared.encode_queue.front();
    shared.encode_queue.pop_front();
    job->state = Job::State::encoding;
    lock.unlock();
    std::vector<float> rows;
    std::exception_ptr error;
    try {
      rows = shared.run_encoder(encode, job->image);  // job->image is ours while encoding
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    shared.held -= job->charged;
    job->charged = 0;
    if (job->cancelled) {
      shared.free_job(*job);
      job->state = Job::State::done;
    } else if (error) {
      shared.free_job(*job);
      job->state = Job::State::failed;
      job->error = error;
    } else {
      job->image = without_pixels(std::move(job->image));
      job->charged = rows.size() * sizeof(float);
      job->rows = std::move(rows);
      shared.held += job->charged;
      job->state = Job::State::encoded;
    }
    shared.changed.notify_all();
  }
}

bool ImagePreparer::ready(const Ticket& ticket) {
  if (!ticket) return true;
  std::lock_guard lock(ticket.shared_->mutex);
  switch (ticket.job_->state) {
    case Job::State::encoded:
    case Job::State::failed:
    case Job::State::done:
      return true;
    case Job::State::prepared:
      return !ticket.shared_->encode;  // nothing more happens to it on the threads
    default:
      return false;
  }
}

ImagePreparer::Taken ImagePreparer::take(Ticket& ticket) {
  if (!ticket) throw runtime::RuntimeError(CITADEL_ERR_INTERNAL, "deepseek-ocr: the request's image was already taken");
  const std::shared_ptr<Shared> shared = std::move(ticket.shared_);
  const std::shared_ptr<Job> job = std::move(ticket.job_);
  ticket = Ticket();
  std::unique_lock lock(shared->mutex);
  // On any failure below: the job is finished with, its bytes given back.
  auto finish = [&] {
    shared->free_job(*job);
    job->state = Job::State::done;
    lock.unlock();
    shared->changed.notify_all();  // budget given back
  };
  Taken taken;
  for (;;) {
    switch (job->state) {
      case Job::State::preparing:
      case Job::State::encoding:
        shared->changed.wait(lock);
        continue;
      case Job::State::queued: {
        // The thread has not started on it: prepare it here rather than wait.
        Shared::unqueue(shared->queue, job);
        job->state = Job::State::preparing;
        const EncodeImageFn encode = shared->encode;
        lock.unlock();
        shared->changed.notify_all();
        taken.prepared_by_caller = true;
        try {
          taken.image = shared->prepare(job->source);
          if (encode) {
            taken.rows = shared->run_encoder(encode, taken.image);
            taken.image = without_pixels(std::move(taken.image));
            taken.encoded = taken.encoded_by_caller = true;
          }
        } catch (...) {
          lock.lock();
          finish();
          throw;
        }
        lock.lock();
        finish();
        return taken;
      }
      case Job::State::prepared: {
        const EncodeImageFn encode = shared->encode;
        if (!encode) {
          taken.image = std::move(job->image);
          finish();
          return taken;
        }
        // The encoder thread has not picked it yet: encode it here.
        Shared::unqueue(shared->encode_queue, job);
        job->state = Job::State::encoding;
        lock.unlock();
        try {
          taken.rows = shared->run_encoder(encode, job->image);
        } catch (...) {
          lock.lock();
          finish();
          throw;
        }
        lock.lock();
        taken.image = without_pixels(std::move(job->image));
        taken.encoded = taken.encoded_by_caller = true;
        finish();
        return taken;
      }
      case Job::State::encoded:
        taken.image = std::move(job->image);
        taken.rows = std::move(job->rows);
        taken.encoded = true;
        finish();
        return taken;
      case Job::State::failed: {
        const std::exception_ptr error = job->error;
        finish();
        std::rethrow_exception(error);
      }
      case Job::State::done:
        break;
    }
    throw runtime::RuntimeError(CITADEL_ERR_INTERNAL, "deepseek-ocr: the request's image was already taken");
  }
}

ImagePreparer::Ticket& ImagePreparer::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    shared_ = std::move(other.shared_);
    job_ = std::move(other.job_);
  }
  return *this;
}

ImagePreparer::Ticket::~Ticket() { release(); }

void ImagePreparer::Ticket::release() {
  if (!job_) return;
  {
    std::lock_guard lock(shared_->mutex);
    switch (job_->state) {
      case Job::State::queued:
        Shared::unqueue(shared_->queue, job_);
        shared_->free_job(*job_);
        job_->state = Job::State::done;
        break;
      case Job::State::preparing:
      case Job::State::encoding:
        job_->cancelled = true;  // the thread drops the result
        break;
      case Job::State::prepared:
        Shared::unqueue(shared_->encode_queue, job_);
        shared_->free_job(*job_);
        job_->state = Job::State::done;
        break;
      case Job::State::encoded:
      case Job::State::failed:
      case Job::State::done:
        shared_->free_job(*job_);
        job_->state = Job::State::done;
        break;
    }
  }
  shared_->changed.notify_all();
  shared_.reset();
  job_.reset();
}

}  // namespace citadel::deepseek_ocr
