// The admin socket's peer check counts supplementary groups: a client whose
// uid and primary gid are not allowed gets in when one of its supplementary
// groups is in admin.allowed_gids, and is refused otherwise. The end-to-end
// case forks a client that drops to a stranger uid with a chosen group set
// (needs root; skipped otherwise) and talks to a real AdminServer.
#include <catch2/catch.hpp>

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "host/admin/admin_server.h"
#include "host/admin/admin_socket_file.h"
#include "support/test_support.hpp"

using citadel::admin::peer_is_allowed;

namespace {

std::vector<gid_t> own_groups() {
  std::vector<gid_t> groups(static_cast<size_t>(std::max(0, ::getgroups(0, nullptr))));
  groups.resize(static_cast<size_t>(::getgroups(static_cast<int>(groups.size()), groups.data())));
  std::sort(groups.begin(), groups.end());
  return groups;
}

// Forks a client that becomes uid/gid `stranger` with supplementary groups
// `groups`, connects to `socket`, sends one `status`-like line and reads
// the reply. Exit 0: served; 1: refused (forbidden); 3+: could not try.
int client_as_stranger(const std::string& socket, uid_t stranger, const std::vector<gid_t>& groups) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(stranger) != 0 ||
        ::setuid(stranger) != 0)
      ::_exit(3);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket.c_str(), sizeof(address.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) ::_exit(4);
    const char request[] = "{\"cmd\":\"echo\"}\n";
    // A refused peer may be closed on before the request is sent: no SIGPIPE,
    // and the refusal is still there to read.
    (void)::send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL);
    char reply[4096] = {};
    size_t used = 0;
    while (used < sizeof(reply) - 1 && std::memchr(reply, '\n', used) == nullptr) {
      const ssize_t n = ::read(fd, reply + used, sizeof(reply) - 1 - used);
      if (n <= 0) break;
      used += static_cast<size_t>(n);
    }
    if (std::strstr(reply, "\"ok\":true") != nullptr) ::_exit(0);
    if (std::strstr(reply, "forbidden") != nullptr) ::_exit(1);
    ::_exit(6);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

}  // namespace

TEST_CASE("peer check: a supplementary group in allowed_gids lets a stranger in", "[admin]") {
  citadel::config::AdminSettings settings;
  const uid_t stranger = ::getuid() == 4242 ? 4243 : 4242;
  settings.allowed_gids = {999};
  CHECK(peer_is_allowed({1, stranger, 998, {5000, 999}}, settings));
  CHECK_FALSE(peer_is_allowed({1, stranger, 998, {5000, 5001}}, settings));
  CHECK_FALSE(peer_is_allowed({1, stranger, 998, {}}, settings));
}

TEST_CASE("peer_credentials reports the peer's supplementary groups", "[admin]") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  citadel::admin::PeerCredentials peer = citadel::admin::peer_credentials(fds[0]);
  ::close(fds[0]);
  ::close(fds[1]);
  std::sort(peer.groups.begin(), peer.groups.end());
  CHECK(peer.groups == own_groups());
  std::vector<gid_t> from_proc = citadel::admin::process_groups(::getpid());
  std::sort(from_proc.begin(), from_proc.end());
  CHECK(from_proc == own_groups());
  CHECK_THROWS_WITH(citadel::admin::process_groups(-5), Catch::Contains("/proc/-5/status"));
}

TEST_CASE("a real client in an allowed supplementary group is served; others are refused",
          "[admin]") {
  if (::geteuid() != 0) {
    WARN("needs root to run a client as another uid with chosen groups; skipped");
    return;
  }
  citadel::test::TempDir dir;
  std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
  citadel::config::AdminSettings settings;
  settings.socket = (dir.path() / "admin.sock").string();
  settings.mode = 0666;  // the file permission lets anyone connect; the peer check decides
  const gid_t allowed_group = 4711;
  settings.allowed_gids = {allowed_group};
  citadel::admin::AdminServer server(settings);
  server.add_command("echo", "reply with the request", [](const boost::json::object&, auto reply) {
    reply->finish(boost::json::object{});
  });
  server.start();
  std::filesystem::permissions(dir.path() / "admin.sock", std::filesystem::perms(0666));
  const uid_t stranger = 4242;
  CHECK(client_as_stranger(settings.socket, stranger, {4000, allowed_group}) == 0);
  CHECK(client_as_stranger(settings.socket, stranger, {4000, 4001}) == 1);
  CHECK(client_as_stranger(settings.socket, stranger, {}) == 1);
  server.stop();
}
