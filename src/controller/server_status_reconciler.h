#pragma once

// ServerStatusRequestReconciler: Velero's server-status-request controller (what `velero
// version` and `velero plugin get` read). A new request gets phase Processed, processedTimestamp,
// serverVersion (ServerOptions::server_version) and the list of built-in plugins {name, kind}:
// the object-store drivers (kind ObjectStore), backup item actions (BackupItemAction) and
// restore item actions (RestoreItemAction). A processed request is deleted one minute after
// processedTimestamp. docs/server/schedules-and-requests.md describes the rules.
//
// Reconcile: OK with requeue_after = the time left until a processed request is deleted;
// errors are the API server's.
//
// Thread safety: Reconcile may be called concurrently for different requests.

#include <chrono>
#include <string>
#include <vector>

#include "lifeboat/api/server_status_request.h"
#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"

namespace lifeboat::controller {

// How long a processed ServerStatusRequest is kept (Velero: one minute).
inline constexpr std::chrono::minutes kServerStatusRequestTtl{1};

// The plugins built into this server, sorted by kind, then name.
std::vector<api::PluginInfo> BuiltinPlugins(const ServerContext& ctx);

class ServerStatusRequestReconciler : public Reconciler {
 public:
  explicit ServerStatusRequestReconciler(const ServerContext& ctx);

  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override;

 private:
  ServerContext ctx_;
  std::vector<api::PluginInfo> plugins_;
};

}  // namespace lifeboat::controller
