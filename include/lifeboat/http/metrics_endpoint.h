#pragma once

// The Lifeboat server's monitoring endpoint (`lifeboat server --metrics-address`):
//   GET /metrics  Prometheus text format 0.0.4 of a metrics::Registry
//   GET /healthz  200 "ok" while the process serves requests (liveness)
//   GET /readyz   200 "ok" when the readiness check passes, else 503 with its reason
// Other paths answer 404, other methods 405.
//
// Thread safety: the handler may be called from many connection threads at once (the
// registry is thread-safe; the readiness check must be too).

#include <functional>
#include <memory>
#include <string>

#include "lifeboat/common/metrics.h"
#include "lifeboat/common/status.h"
#include "lifeboat/http/server.h"

namespace lifeboat::http {

// OK when the server is ready to work (e.g. it holds or awaits the lease and its caches are
// synced); an error's message is the reason shown by /readyz. Must not block for long.
using ReadinessCheck = std::function<Status()>;

struct MetricsEndpointOptions {
  // host:port. As Velero's `--metrics-address` (default ":8085"), an empty host means every
  // interface. Port 0 picks a free port (tests).
  std::string listen = ":8085";
  ReadinessCheck ready;  // unset: always ready
};

// The request handler alone, for mounting on an existing server. `registry` is borrowed and
// must outlive the handler.
Handler MetricsHandler(const metrics::Registry& registry, ReadinessCheck ready = nullptr);

// Starts a plain-HTTP server with MetricsHandler. `registry` is borrowed and must outlive the
// server. Errors as Server::Start: InvalidArgument for a bad address, Unavailable when it
// cannot be bound.
StatusOr<std::unique_ptr<Server>> StartMetricsServer(const MetricsEndpointOptions& options,
                                                     const metrics::Registry& registry);

}  // namespace lifeboat::http
