// Unix-socket plumbing of the admin server: getting the socket path ready
// before bind (folder, stale file, live host) and the peer-credential check.
//
// Called by AdminServer (admin_server.cpp) only; plain POSIX, no Asio.
#pragma once

#include <string>
#include <sys/types.h>

#include "host/config/model_config.h"

namespace citadel::admin {

// Creates the socket's parent folder if missing; removes a stale socket file
// (one that refuses connections). Throws std::runtime_error naming the path
// when another process answers on it, the path is not a socket, or it is too
// long for sockaddr_un.
void prepare_socket_path(const std::string& path);

// The uid and gid of the process at the other end of a connected Unix socket.
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};
// Throws std::runtime_error when the kernel does not tell.
PeerCredentials peer_credentials(int socket_fd);

// Root and the host's own uid always; then allowed_uids / allowed_gids.
bool peer_is_allowed(const PeerCredentials& peer, const config::AdminSettings& settings);

}  // namespace citadel::admin
