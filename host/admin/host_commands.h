// The host's admin commands: status, models, model, pool, reload, load,
// unload, drain, version, infer and benchmark, registered on the AdminServer. Each reads
// or drives the running core::Host; replies are JSON objects (see
// docs/operations.md for their fields).
//
// Called once by core::Host when it builds its admin server.
#pragma once

namespace citadel::core {
class Host;
}

namespace citadel::admin {

class AdminServer;

void register_host_commands(AdminServer& server, core::Host& host);

}  // namespace citadel::admin
