// Unix-socket plumbing of the admin server: getting the socket path ready
// before bind (folder, stale file, live host) and the peer-credential check.
//
// Called by AdminServer (admin_server.cpp) only; plain POSIX, no Asio.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "host/config/model_config.h"

namespace citadel::admin {

// Creates the socket's parent folder if missing; removes a stale socket file
// (one that refuses connections). Throws std::runtime_error naming the path
// when another process answers on it, the path is not a socket, or it is too
// long for sockaddr_un.
void prepare_socket_path(const std::string& path);

// The uid, gid and supplementary groups of the process at the other end of
// a connected Unix socket.
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (may include gid)
};
// uid, gid and pid from SO_PEERCRED; the supplementary groups from
// SO_PEERGROUPS (Linux 4.13+: the groups at connect time), else from the
// Groups: line of /proc/<pid>/status (none when neither tells). Throws
// std::runtime_error when SO_PEERCRED fails.
PeerCredentials peer_credentials(int socket_fd);

// The supplementary groups of `pid` from /proc/<pid>/status ("Groups:").
// Throws std::runtime_error when the file cannot be read.
std::vector<gid_t> process_groups(pid_t pid);

// Root and the host's own uid always; then allowed_uids, then allowed_gids
// against the peer's gid and every supplementary group.
bool peer_is_allowed(const PeerCredentials& peer, const config::AdminSettings& settings);

}  // namespace citadel::admin
