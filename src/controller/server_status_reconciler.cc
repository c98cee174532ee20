#include "src/controller/server_status_reconciler.h"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <tuple>
#include <utility>

#include "lifeboat/api/time.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/storage/registry.h"
#include "src/backup/actions/builtin_actions.h"
#include "src/restore/actions/builtin_actions.h"

namespace lifeboat::controller {

namespace json = boost::json;
using std::chrono::milliseconds;
using TimePoint = std::chrono::system_clock::time_point;

std::vector<api::PluginInfo> BuiltinPlugins(const ServerContext& ctx) {
  std::vector<api::PluginInfo> plugins;
  for (const auto& p : storage::KnownProviders()) {
    plugins.push_back({"velero.io/" + p, "ObjectStore"});
  }
  for (const auto& a : backup::BuiltinBackupItemActions(ctx.client)) {
    plugins.push_back({a->Name(), "BackupItemAction"});
  }
  for (const auto& a : restore::BuiltinRestoreItemActions(ctx.client, ctx.options.ns)) {
    plugins.push_back({a->Name(), "RestoreItemAction"});
  }
  std::sort(plugins.begin(), plugins.end(), [](const api::PluginInfo& a, const api::PluginInfo& b) {
    return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
  });
  return plugins;
}

ServerStatusRequestReconciler::ServerStatusRequestReconciler(const ServerContext& ctx)
    : ctx_(ctx), plugins_(BuiltinPlugins(ctx)) {}

StatusOr<Result> ServerStatusRequestReconciler::Reconcile(const std::string& name,
                                                          const CancellationToken& cancel) {
  auto& client = *ctx_.client;
  const std::string& ns = ctx_.options.ns;
  LIFEBOAT_ASSIGN_OR_RETURN(auto found,
                            GetIfExists(client, kServerStatusRequests, ns, name, cancel));
  if (!found) return Result{};
  const json::value& request = *found;
  const TimePoint now = ctx_.clock->Now();
  const std::string phase = JsonString(request, {"status", "phase"}).value_or("");

  if (phase.empty() || phase == "New") {
    json::array plugins;
    for (const auto& p : plugins_)
      plugins.push_back(json::object{{"name", p.name}, {"kind", p.kind}});
    json::object status{{"phase", "Processed"},
                        {"processedTimestamp", api::FormatRfc3339(now)},
                        {"serverVersion", ctx_.options.server_version},
                        {"plugins", std::move(plugins)}};
    LIFEBOAT_RETURN_IF_ERROR(
        PatchStatus(client, kServerStatusRequests, ns, name, status,
                    JsonString(request, {"metadata", "resourceVersion"}).value_or(""), cancel)
            .status());
    LB_LOG_DEBUG("server status request {}/{} processed", ns, name);
    return Result{std::chrono::duration_cast<milliseconds>(kServerStatusRequestTtl)};
  }
  if (phase != "Processed") {
    LB_LOG_WARN("server status request {}/{} has unknown phase {}: ignored", ns, name, phase);
    return Result{};
  }
  // Processed: kept for a minute after processedTimestamp (deleted at once when that is missing
  // or unreadable), then deleted.
  std::optional<TimePoint> processed;
  if (auto text = JsonString(request, {"status", "processedTimestamp"})) {
    if (auto t = api::ParseRfc3339(*text); t.ok()) processed = *t;
  }
  if (processed && *processed + kServerStatusRequestTtl > now) {
    return Result{std::chrono::ceil<milliseconds>(*processed + kServerStatusRequestTtl - now)};
  }
  kube::DeleteOptions del;
  del.cancel = cancel;
  auto deleted = client.Delete(kServerStatusRequests, ns, name, del);
  if (!deleted.ok() && !absl::IsNotFound(deleted.status())) return deleted.status();
  LB_LOG_DEBUG("server status request {}/{} expired: deleted", ns, name);
  return Result{};
}

}  // namespace lifeboat::controller
