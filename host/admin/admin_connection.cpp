#include "host/admin/admin_connection.h"

#include <poll.h>

#include "host/admin/admin_protocol.h"
#include "host/admin/admin_server.h"
#include "host/admin/admin_socket_file.h"

namespace citadel::admin {
namespace {

constexpr std::size_t kReadChunkBytes = 64 * 1024;

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

AdminConnection::AdminConnection(Socket socket, const config::AdminSettings& settings,
                                 std::shared_ptr<const AdminCommandTable> commands,
                                 boost::asio::thread_pool& workers)
    : socket_(std::move(socket)), settings_(settings), commands_(std::move(commands)),
      workers_(workers) {
  read_chunk_.resize(kReadChunkBytes);
}

void AdminConnection::start() {
  PeerCredentials peer;
  try {
    peer = peer_credentials(socket_.native_handle());
  } catch (const std::exception& error) {
    queue_line(make_error_reply(error_code::forbidden, error.what()));
    close_when_done();
    return;
  }
  if (!peer_is_allowed(peer, settings_)) {
    queue_line(make_error_reply(
        error_code::forbidden, "uid " + std::to_string(peer.uid) + " (gid " +
                                   std::to_string(peer.gid) +
                                   ", " + std::to_string(peer.groups.size()) +
                                   " supplementary group(s)) may not use the admin socket "
                                   "(admin.allowed_uids, admin.allowed_gids)"));
    close_when_done();
    return;
  }
  read_more();
}

void AdminConnection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (std::shared_ptr<AdminReply> reply = running_reply_.lock()) reply->cancel();
}

void AdminConnection::close_after_pending_writes() {
  if (closed_) return;
  if (std::shared_ptr<AdminReply> reply = running_reply_.lock()) reply->cancel();
  close_after_writes_ = true;
  write_next();
}

void AdminConnection::read_more() {
  if (reading_ || closed_ || peer_done_ || close_after_writes_) return;
  // While a command runs, keep reading (to notice a client that goes away)
  // unless the client has already queued more than a line's worth.
  if (buffer_.size() > settings_.max_line_bytes + kReadChunkBytes) return;
  reading_ = true;
  socket_.async_read_some(
      boost::asio::buffer(read_chunk_),
      [self = shared_from_this()](const boost::system::error_code& error, std::size_t bytes) {
        self->on_read(error, bytes);
      });
}

bool AdminConnection::peer_hung_up() {
  pollfd descriptor{socket_.native_handle(), 0, 0};
  return ::poll(&descriptor, 1, 0) > 0 && (descriptor.revents & (POLLHUP | POLLERR)) != 0;
}

void AdminConnection::on_read(const boost::system::error_code& error, std::size_t bytes) {
  reading_ = false;
  if (closed_) return;
  if (error) {
    peer_done_ = true;
    // End of input: a client that only shut down its sending side still gets
    // its replies; one that closed the connection cancels the running command.
    if (error != boost::asio::error::eof || (command_running_ && peer_hung_up())) {
      close();
      return;
    }
    process_buffered_lines();
    close_when_done();
    return;
  }
  buffer_.append(read_chunk_.data(), bytes);
  process_buffered_lines();
  read_more();
}

void AdminConnection::process_buffered_lines() {
  const std::size_t limit = settings_.max_line_bytes;
  while (!command_running_ && !closed_ && !close_after_writes_) {
    const std::size_t newline = buffer_.find('\n');
    if (discarding_) {
      if (newline == std::string::npos) {
        buffer_.clear();
        return;
      }
      buffer_.erase(0, newline + 1);
      discarding_ = false;
      continue;
    }
    if (newline == std::string::npos) {
      if (buffer_.size() > limit) {
        running_id_.reset();
        queue_line(make_error_reply(error_code::line_too_long,
                                    "request line longer than " + std::to_string(limit) +
                                        " bytes (admin.max_line_bytes); discarded"));
        buffer_.clear();
        discarding_ = true;
        continue;
      }
      if (peer_done_ && !buffer_.empty()) {  // a last line without its newline
        std::string line = std::move(buffer_);
        buffer_.clear();
        if (!is_blank(line)) dispatch(line);
      }
      return;
    }
    if (newline > limit) {
      running_id_.reset();
      queue_line(make_error_reply(error_code::line_too_long,
                                  "request line of " + std::to_string(newline) +
                                      " bytes is longer than " + std::to_string(limit) +
                                      " bytes (admin.max_line_bytes); discarded"));
      buffer_.erase(0, newline + 1);
      continue;
    }
    std::string line = buffer_.substr(0, newline);
    buffer_.erase(0, newline + 1);
    if (!is_blank(line)) dispatch(line);
  }
}

void AdminConnection::dispatch(std::string_view line) {
  ParsedRequest parsed = parse_request_line(line);
  running_id_ = parsed.id;
  if (!parsed.ok()) {
    queue_line(make_error_reply(parsed.error_code, parsed.error_message));
    return;
  }
  std::optional<CommandHandler> handler;
  const bool is_help = parsed.command == "help";
  if (!is_help) {
    handler = commands_->find(parsed.command);
    if (!handler) {
      queue_line(make_error_reply(error_code::unknown_command,
                                  "unknown command \"" + parsed.command +
                                      "\" (\"help\" lists the commands)"));
      return;
    }
  }
  command_running_ = true;
  auto reply = std::make_shared<AdminReply>(weak_from_this());
  running_reply_ = reply;
  boost::asio::post(workers_, [self = shared_from_this(), handler = std::move(handler),
                               request = std::move(parsed.request), reply]() mutable {
    try {
      if (handler) {
        (*handler)(request, reply);
      } else {
        self->run_help(reply);
      }
    } catch (const AdminCommandError& error) {
      reply->fail(error.code(), error.what());
    } catch (const std::exception& error) {
      reply->fail(error_code::failed, error.what());
    }
  });
}

void AdminConnection::run_help(const std::shared_ptr<AdminReply>& reply) const {
  boost::json::array commands;
  boost::json::object help;
  help["name"] = "help";
  help["help"] = "list the commands and what they do";
  commands.push_back(std::move(help));
  for (const auto& [name, text] : commands_->list()) {
    if (name == "help") continue;
    boost::json::object entry;
    entry["name"] = name;
    entry["help"] = text;
    commands.push_back(std::move(entry));
  }
  boost::json::object last;
  last["commands"] = std::move(commands);
  reply->finish(std::move(last));
}

void AdminConnection::write_reply_line(boost::json::object line, bool final) {
  boost::asio::post(socket_.get_executor(),
                    [self = shared_from_this(), line = std::move(line), final]() mutable {
                      if (self->closed_) return;
                      self->queue_line(std::move(line));
                      if (!final) return;
                      self->command_running_ = false;
                      self->running_reply_.reset();
                      self->process_buffered_lines();
                      if (self->peer_done_) {
                        self->close_when_done();
                      } else {
                        self->read_more();
                      }
                    });
}

void AdminConnection::queue_line(boost::json::object line) {
  if (closed_) return;
  write_queue_.push_back(serialize_reply_line(std::move(line), running_id_));
  write_next();
}

void AdminConnection::write_next() {
  if (writing_ || closed_) return;
  if (write_queue_.empty()) {
    if (close_after_writes_) close();
    return;
  }
  writing_ = true;
  boost::asio::async_write(
      socket_, boost::asio::buffer(write_queue_.front()),
      [self = shared_from_this()](const boost::system::error_code& error, std::size_t) {
        self->writing_ = false;
        if (error) {
          self->close();
          return;
        }
        self->write_queue_.pop_front();
        self->write_next();
      });
}

void AdminConnection::close_when_done() {
  if (command_running_) return;  // closes after the running command's last line
  close_after_writes_ = true;
  write_next();
}

}  // namespace citadel::admin

