#include "host/admin/admin_reply.h"

#include "host/admin/admin_protocol.h"

namespace citadel::admin {

AdminReply::AdminReply(std::weak_ptr<ReplyLineSink> sink) : sink_(std::move(sink)) {}

AdminReply::~AdminReply() {
  if (!finished_.load() && !cancelled_.load()) {
    fail(error_code::failed, "the command ended without a reply");
  }
}

bool AdminReply::send(boost::json::object line) {
  std::lock_guard lock(mutex_);
  if (finished_.load() || cancelled_.load()) return false;
  std::shared_ptr<ReplyLineSink> sink = sink_.lock();
  if (!sink) return false;
  if (!line.contains("ok")) line["ok"] = true;
  line["more"] = true;
  sink->write_reply_line(std::move(line), false);
  return true;
}

void AdminReply::finish(boost::json::object last) {
  std::lock_guard lock(mutex_);
  if (finished_.exchange(true)) return;
  std::shared_ptr<ReplyLineSink> sink = sink_.lock();
  if (!sink) return;
  if (!last.contains("ok")) {
    // "ok" first, for readers of raw lines.
    boost::json::object ordered;
    ordered["ok"] = true;
    for (auto& field : last) ordered[field.key()] = std::move(field.value());
    last = std::move(ordered);
  }
  last.erase("more");
  sink->write_reply_line(std::move(last), true);
}

void AdminReply::fail(std::string_view code, std::string_view message) {
  finish(make_error_reply(code, message));
}

void AdminReply::on_cancel(std::function<void()> callback) {
  {
    std::lock_guard lock(mutex_);
    if (!cancelled_.load()) {
      cancel_callback_ = std::move(callback);
      return;
    }
  }
  if (callback) callback();
}

void AdminReply::cancel() {
  std::function<void()> callback;
  {
    std::lock_guard lock(mutex_);
    if (finished_.load() || cancelled_.exchange(true)) return;
    callback = std::move(cancel_callback_);
  }
  if (callback) callback();
}

}  // namespace citadel::admin
