// The admin server's registry of named commands and their help texts.
//
// Owned by AdminServer; read by every connection (admin_connection.cpp) when
// a request arrives. Thread-safe: commands may be added while serving.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "host/admin/admin_server.h"

namespace citadel::admin {

class AdminCommandTable {
 public:
  void add(std::string name, std::string help, CommandHandler handler);
  std::optional<CommandHandler> find(const std::string& name) const;
  // (name, help) of every command, sorted by name.
  std::vector<std::pair<std::string, std::string>> list() const;

 private:
  struct Entry {
    std::string help;
    CommandHandler handler;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry> commands_;
};

}  // namespace citadel::admin
