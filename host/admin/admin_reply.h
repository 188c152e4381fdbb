// The reply channel of one admin command: intermediate lines (send), one final
// line (finish), and notice of a client that went away (cancelled/on_cancel).
//
// Created by AdminServer for every request and handed to the CommandHandler
// (host/admin/host_commands.*). Thread-safe: a handler may finish at once or
// later from any thread (infer finishes from scheduler threads).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace citadel::admin {

// Where an AdminReply's lines go (a connection). Implemented by the server;
// tests may implement it too.
class ReplyLineSink {
 public:
  virtual ~ReplyLineSink() = default;
  // `final` is true for the last line of a request.
  virtual void write_reply_line(boost::json::object line, bool final) = 0;
};

class AdminReply {
 public:
  explicit AdminReply(std::weak_ptr<ReplyLineSink> sink);
  // A reply dropped without finish() finishes with a "failed" error.
  ~AdminReply();
  AdminReply(const AdminReply&) = delete;
  AdminReply& operator=(const AdminReply&) = delete;

  // An intermediate line; "ok": true and "more": true are added. Returns false
  // (and sends nothing) once finished or cancelled.
  bool send(boost::json::object line);
  // The final line; "ok": true is added unless the object sets "ok" itself.
  // Later calls are ignored.
  void finish(boost::json::object last = {});
  // Finishes with {"ok": false, "error": {"code": code, "message": message}}.
  void fail(std::string_view code, std::string_view message);

  bool finished() const { return finished_.load(); }
  // True once the client disconnected (or the server stopped) before finish.
  bool cancelled() const { return cancelled_.load(); }
  // Runs `callback` once when the reply is cancelled; at once (on the calling
  // thread) if it already was. Replaces an earlier callback.
  void on_cancel(std::function<void()> callback);

  // Called by the server when the client is gone; runs the on_cancel callback.
  void cancel();

 private:
  std::weak_ptr<ReplyLineSink> sink_;
  std::mutex mutex_;  // orders lines of concurrent send/finish calls
  std::atomic<bool> finished_{false};
  std::atomic<bool> cancelled_{false};
  std::function<void()> cancel_callback_;
};

}  // namespace citadel::admin
