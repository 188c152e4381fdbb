#include "host/admin/admin_command_table.h"

namespace citadel::admin {

void AdminCommandTable::add(std::string name, std::string help, CommandHandler handler) {
  std::lock_guard lock(mutex_);
  commands_[std::move(name)] = Entry{std::move(help), std::move(handler)};
}

std::optional<CommandHandler> AdminCommandTable::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto found = commands_.find(name);
  if (found == commands_.end()) return std::nullopt;
  return found->second.handler;
}

std::vector<std::pair<std::string, std::string>> AdminCommandTable::list() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [name, entry] : commands_) entries.emplace_back(name, entry.help);
  return entries;
}

}  // namespace citadel::admin
