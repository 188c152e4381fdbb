#include "host/admin/admin_socket_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace citadel::admin {
namespace {

std::runtime_error socket_error(const std::string& path, const std::string& what) {
  return std::runtime_error("admin socket " + path + ": " + what);
}

// True when a process accepts connections on `path`.
bool someone_listens(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const bool connected =
      ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

}  // namespace

void prepare_socket_path(const std::string& path) {
  if (path.empty()) throw std::runtime_error("admin socket: no path configured (admin.socket)");
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    throw socket_error(path, "path is too long for a Unix socket (" + std::to_string(path.size()) +
                                 " bytes, at most " +
                                 std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + ")");
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  if (error) throw socket_error(path, "cannot create folder " + parent.string() + ": " + error.message());

  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) return;  // nothing there
  if (!S_ISSOCK(status.st_mode)) {
    throw socket_error(path, "exists and is not a socket; remove it or choose another admin.socket");
  }
  if (someone_listens(path)) {
    throw socket_error(path, "another process (a running citadel?) is listening on it");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw socket_error(path, std::string("cannot remove the stale socket file: ") + std::strerror(errno));
  }
}

std::vector<gid_t> process_groups(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  std::ifstream status(path);
  if (!status) throw std::runtime_error("admin socket: cannot read " + path);
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream ids(line.substr(7));
    std::vector<gid_t> groups;
    unsigned long id = 0;
    while (ids >> id) groups.push_back(static_cast<gid_t>(id));
    return groups;
  }
  throw std::runtime_error("admin socket: no Groups: line in " + path);
}

namespace {

// SO_PEERGROUPS: the peer's supplementary groups as the kernel recorded
// them at connect(); nullopt where the kernel does not support it.
std::optional<std::vector<gid_t>> socket_peer_groups(int socket_fd) {
#ifdef SO_PEERGROUPS
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 4; ++attempt) {
    socklen_t length = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) == 0) {
      groups.resize(length / sizeof(gid_t));
      return groups;
    }
    if (errno != ERANGE) return std::nullopt;
    groups.resize(length / sizeof(gid_t) + 1);  // the kernel said how many
  }
#else
  (void)socket_fd;
#endif
  return std::nullopt;
}

}  // namespace

PeerCredentials peer_credentials(int socket_fd) {
  ucred credentials{};
  socklen_t length = sizeof(credentials);
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    throw std::runtime_error(std::string("admin socket: SO_PEERCRED failed: ") + std::strerror(errno));
  }
  PeerCredentials peer{credentials.pid, credentials.uid, credentials.gid, {}};
  if (std::optional<std::vector<gid_t>> groups = socket_peer_groups(socket_fd))
    peer.groups = std::move(*groups);
  else {
    try {
      peer.groups = process_groups(peer.pid);
    } catch (const std::exception&) {
      // Gone already, or no /proc: only uid and gid can grant access.
    }
  }
  return peer;
}

bool peer_is_allowed(const PeerCredentials& peer, const config::AdminSettings& settings) {
  if (peer.uid == 0 || peer.uid == ::getuid()) return true;
  const auto& uids = settings.allowed_uids;
  const auto& gids = settings.allowed_gids;
  if (std::find(uids.begin(), uids.end(), peer.uid) != uids.end()) return true;
  if (std::find(gids.begin(), gids.end(), peer.gid) != gids.end()) return true;
  return std::any_of(peer.groups.begin(), peer.groups.end(), [&gids](gid_t group) {
    return std::find(gids.begin(), gids.end(), group) != gids.end();
  });
}

}  // namespace citadel::admin
