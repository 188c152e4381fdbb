// The admin `benchmark` command (the seeds' /benchmark): runs the throughput
// load generator (host/loadgen) against this host's own HTTP server and
// replies with its report. The run happens on its own thread; the reply comes
// when it is done.
//
// Called by register_host_commands.
#pragma once

namespace citadel::core {
class Host;
}

namespace citadel::admin {

class AdminServer;

void register_benchmark_command(AdminServer& server, core::Host& host);

}  // namespace citadel::admin
