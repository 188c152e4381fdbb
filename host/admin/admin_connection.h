// One client connection of the admin server: reads request lines, runs one
// command at a time on the worker pool, writes its reply lines in order, and
// cancels the running command's reply when the client goes away.
//
// Created by AdminServer (admin_server.cpp) for every accepted socket. Lives
// on the server's io thread; reply lines arrive from any thread and are
// posted there.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "host/admin/admin_command_table.h"
#include "host/admin/admin_reply.h"
#include "host/config/model_config.h"

namespace citadel::admin {

class AdminConnection : public ReplyLineSink,
                        public std::enable_shared_from_this<AdminConnection> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  AdminConnection(Socket socket, const config::AdminSettings& settings,
                  std::shared_ptr<const AdminCommandTable> commands,
                  boost::asio::thread_pool& workers);

  void start();  // checks the peer's credentials, then serves (io thread)
  void close();  // io thread; cancels a running command's reply
  // Server stop (io thread): cancels a running command, sends the lines
  // already queued, then closes. closed() tells when that is done.
  void close_after_pending_writes();
  bool closed() const { return closed_; }

  void write_reply_line(boost::json::object line, bool final) override;  // any thread

 private:
  void read_more();
  void on_read(const boost::system::error_code& error, std::size_t bytes);
  void process_buffered_lines();
  void dispatch(std::string_view line);
  void run_help(const std::shared_ptr<AdminReply>& reply) const;
  void queue_line(boost::json::object line);
  void write_next();
  void close_when_done();
  bool peer_hung_up();

  Socket socket_;
  const config::AdminSettings settings_;
  std::shared_ptr<const AdminCommandTable> commands_;
  boost::asio::thread_pool& workers_;

  std::string buffer_;         // bytes received, not yet handled
  std::string read_chunk_;
  bool reading_ = false;
  bool discarding_ = false;    // skipping the rest of an oversized line
  bool peer_done_ = false;     // the client will send nothing more
  bool closed_ = false;
  bool close_after_writes_ = false;
  bool command_running_ = false;
  std::weak_ptr<AdminReply> running_reply_;
  std::optional<boost::json::value> running_id_;
  std::deque<std::string> write_queue_;
  bool writing_ = false;
};

}  // namespace citadel::admin
