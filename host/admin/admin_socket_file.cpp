#include "host/admin/admin_socket_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
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

PeerCredentials peer_credentials(int socket_fd) {
  ucred credentials{};
  socklen_t length = sizeof(credentials);
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    throw std::runtime_error(std::string("admin socket: SO_PEERCRED failed: ") + std::strerror(errno));
  }
  return PeerCredentials{credentials.pid, credentials.uid, credentials.gid};
}

bool peer_is_allowed(const PeerCredentials& peer, const config::AdminSettings& settings) {
  if (peer.uid == 0 || peer.uid == ::getuid()) return true;
  const auto& uids = settings.allowed_uids;
  const auto& gids = settings.allowed_gids;
  return std::find(uids.begin(), uids.end(), peer.uid) != uids.end() ||
         std::find(gids.begin(), gids.end(), peer.gid) != gids.end();
}

}  // namespace citadel::admin
