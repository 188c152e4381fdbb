// ImagePreparer: one background thread preparing submitted images in order,
// within a budget of prepared-but-not-taken bytes.
#include "image_preparer.h"

#include "runtime/core/error.h"

#include <algorithm>
#include <exception>

namespace citadel::deepseek_ocr {

struct ImagePreparer::Job {
  enum class State { queued, running, ready, failed, done };
  ImageSource source;
  State state = State::queued;
  bool cancelled = false;  // the ticket went while the thread prepared it
  PreparedImage image;     // when ready
  size_t charged = 0;      // bytes of `image` counted in Shared::held
  std::exception_ptr error;
};

struct ImagePreparer::Shared {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::shared_ptr<Job>> queue;
  size_t held = 0;
  size_t budget = 0;
  bool stopping = false;
  PrepareImageFn prepare;

  // Whether the thread may start the queue's front now (mutex held).
  bool may_start() const {
    return !queue.empty() && (held == 0 || held + queue.front()->source.prepared_bytes <= budget);
  }
  void unqueue(const std::shared_ptr<Job>& job) {
    const auto it = std::find(queue.begin(), queue.end(), job);
    if (it != queue.end()) queue.erase(it);
  }
};

namespace {

size_t pixel_bytes(const PreparedImage& image) {
  return (image.global_pixels.size() + image.tile_pixels.size()) * sizeof(float);
}

}  // namespace

ImagePreparer::ImagePreparer(size_t budget_bytes, PrepareImageFn prepare) : shared_(std::make_shared<Shared>()) {
  shared_->budget = budget_bytes;
  shared_->prepare = prepare ? std::move(prepare) : [](const ImageSource& source) {
    return prepare_image(source.bytes, source.mode, source.limits, source.max_crops);
  };
  thread_ = std::thread([this] { run(); });
}

ImagePreparer::~ImagePreparer() {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopping = true;
    shared_->queue.clear();  // tickets still held prepare on take()
  }
  shared_->changed.notify_all();
  thread_.join();
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

void ImagePreparer::run() {
  Shared& shared = *shared_;
  std::unique_lock lock(shared.mutex);
  for (;;) {
    shared.changed.wait(lock, [&] { return shared.stopping || shared.may_start(); });
    if (shared.stopping) return;
    std::shared_ptr<Job> job = shared.queue.front();
    shared.queue.pop_front();
    job->state = Job::State::running;
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
      job->state = Job::State::ready;
    }
    shared.changed.notify_all();
  }
}

ImagePreparer::Taken ImagePreparer::take(Ticket& ticket) {
  if (!ticket) throw runtime::RuntimeError(CITADEL_ERR_INTERNAL, "deepseek-ocr: the request's image was already taken");
  const std::shared_ptr<Shared> shared = std::move(ticket.shared_);
  const std::shared_ptr<Job> job = std::move(ticket.job_);
  ticket = Ticket();
  std::unique_lock lock(shared->mutex);
  if (job->state == Job::State::queued) {
    // The thread has not started on it: prepare it here rather than wait.
    shared->unqueue(job);
    job->state = Job::State::running;
    lock.unlock();
    shared->changed.notify_all();
    Taken taken;
    taken.prepared_by_caller = true;
    try {
      taken.image = shared->prepare(job->source);
    } catch (...) {
      lock.lock();
      job->state = Job::State::done;
      job->source.bytes = {};
      throw;
    }
    lock.lock();
    job->state = Job::State::done;
    job->source.bytes = {};
    return taken;
  }
  shared->changed.wait(lock, [&] { return job->state != Job::State::running; });
  const Job::State state = job->state;
  job->state = Job::State::done;
  if (state == Job::State::failed) std::rethrow_exception(job->error);
  if (state != Job::State::ready)
    throw runtime::RuntimeError(CITADEL_ERR_INTERNAL, "deepseek-ocr: the request's image was already taken");
  shared->held -= job->charged;
  job->charged = 0;
  Taken taken;
  taken.image = std::move(job->image);
  lock.unlock();
  shared->changed.notify_all();  // budget given back
  return taken;
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
        shared_->unqueue(job_);
        job_->state = Job::State::done;
        job_->source.bytes = {};
        break;
      case Job::State::running:
        job_->cancelled = true;  // the thread drops the result
        break;
      case Job::State::ready:
        shared_->held -= job_->charged;
        job_->charged = 0;
        job_->image = PreparedImage();
        job_->state = Job::State::done;
        break;
      case Job::State::failed:
      case Job::State::done:
        job_->state = Job::State::done;
        break;
    }
  }
  shared_->changed.notify_all();
  shared_.reset();
  job_.reset();
}

}  // namespace citadel::deepseek_ocr
