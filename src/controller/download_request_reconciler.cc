#include "src/controller/download_request_reconciler.h"

#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string_view>
#include <utility>

#include "lifeboat/api/download_request.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"

namespace lifeboat::controller {

namespace json = boost::json;
using std::chrono::milliseconds;
using TimePoint = std::chrono::system_clock::time_point;

namespace {

std::optional<TimePoint> TimeAt(const json::value& obj,
                                std::initializer_list<std::string_view> path) {
  auto text = JsonString(obj, path);
  if (!text || text->empty()) return std::nullopt;
  auto t = api::ParseRfc3339(*text);
  if (!t.ok()) return std::nullopt;
  return *t;
}

milliseconds Until(TimePoint t, TimePoint now) {
  if (t <= now) return milliseconds(1);
  return std::chrono::ceil<milliseconds>(t - now);
}

bool IsRestoreKind(std::string_view kind) { return kind.substr(0, 7) == "Restore"; }

// Phases in which a backup or restore has not written any file yet (Velero's guard): a
// request for one of its files fails instead of getting a URL that answers 404.
bool BackupHasNoArtifacts(std::string_view phase) {
  return phase == "New" || phase == "Queued" || phase == "ReadyToStart" ||
         phase == "FailedValidation";
}
bool RestoreHasNoArtifacts(std::string_view phase) {
  return phase == "New" || phase == "FailedValidation";
}

std::string NoArtifacts(std::string_view what, std::string_view name, std::string_view phase) {
  return std::string(what) + " \"" + std::string(name) + "\" is in phase \"" + std::string(phase) +
         "\" and has not written any artifacts";
}

Status Annotate(const Status& s, const std::string& context) {
  return Status(s.code(), context + ": " + std::string(s.message()));
}

}  // namespace

DownloadRequestReconciler::DownloadRequestReconciler(const ServerContext& ctx) : ctx_(ctx) {}

StatusOr<DownloadRequestReconciler::Signed> DownloadRequestReconciler::SignUrl(
    const std::string& kind, const std::string& target, const CancellationToken& cancel) {
  auto& client = *ctx_.client;
  const std::string& ns = ctx_.options.ns;
  if (!api::ParseDownloadTargetKind(kind) || kind.empty()) {
    return Signed{"", "unsupported download target kind \"" + kind + "\""};
  }
  std::string backup_name = target;
  if (IsRestoreKind(kind)) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto restore, GetIfExists(client, kRestores, ns, target, cancel));
    if (!restore) return absl::NotFoundError("restore " + ns + "/" + target + " not found");
    const std::string phase = JsonString(*restore, {"status", "phase"}).value_or("");
    if (RestoreHasNoArtifacts(phase)) return Signed{"", NoArtifacts("restore", target, phase)};
    backup_name = JsonString(*restore, {"spec", "backupName"}).value_or("");
    if (backup_name.empty()) {
      return absl::NotFoundError("restore " + ns + "/" + target + " names no backup yet");
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto backup, GetIfExists(client, kBackups, ns, backup_name, cancel));
  if (!backup) return absl::NotFoundError("backup " + ns + "/" + backup_name + " not found");
  if (!IsRestoreKind(kind)) {
    const std::string phase = JsonString(*backup, {"status", "phase"}).value_or("");
    if (BackupHasNoArtifacts(phase)) return Signed{"", NoArtifacts("backup", target, phase)};
  }
  std::string location = JsonString(*backup, {"spec", "storageLocation"}).value_or("");
  if (location.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(location, ctx_.stores->DefaultLocationName(cancel));
  }
  auto loc = ctx_.stores->Get(location, cancel);
  if (!loc.ok()) {
    return Annotate(loc.status(),
                    "backup storage location " + location + " of backup " + backup_name);
  }
  auto ttl = std::chrono::duration_cast<std::chrono::seconds>(ctx_.options.download_request_ttl);
  if (ttl < std::chrono::seconds(1)) ttl = std::chrono::seconds(1);
  auto url = loc->store->CreateDownloadUrl(kind, target, ttl);
  if (!url.ok()) return Annotate(url.status(), "signing a URL for " + kind + " " + target);
  return Signed{std::move(*url), ""};
}

StatusOr<Result> DownloadRequestReconciler::Reconcile(const std::string& name,
                                                      const CancellationToken& cancel) {
  auto& client = *ctx_.client;
  const std::string& ns = ctx_.options.ns;
  LIFEBOAT_ASSIGN_OR_RETURN(auto found, GetIfExists(client, kDownloadRequests, ns, name, cancel));
  if (!found) return Result{};
  const json::value& request = *found;
  const TimePoint now = ctx_.clock->Now();
  const TimePoint fresh_expiry = std::chrono::floor<std::chrono::seconds>(
      now + std::chrono::duration_cast<TimePoint::duration>(ctx_.options.download_request_ttl));
  const auto expiration = TimeAt(request, {"status", "expiration"});

  // Expired requests go, whatever their phase.
  if (expiration && *expiration <= now) {
    kube::DeleteOptions del;
    del.cancel = cancel;
    auto deleted = client.Delete(kDownloadRequests, ns, name, del);
    if (!deleted.ok() && !absl::IsNotFound(deleted.status())) return deleted.status();
    LB_LOG_DEBUG("download request {}/{} expired: deleted", ns, name);
    return Result{};
  }
  const std::string phase = JsonString(request, {"status", "phase"}).value_or("");
  if (phase != "" && phase != "New") {  // Processed or Failed: wait for the expiry
    if (expiration) return Result{Until(*expiration, now)};
    LIFEBOAT_RETURN_IF_ERROR(
        PatchStatus(client, kDownloadRequests, ns, name,
                    json::object{{"expiration", api::FormatRfc3339(fresh_expiry)}}, "", cancel)
            .status());
    return Result{Until(fresh_expiry, now)};
  }

  const std::string kind = JsonString(request, {"spec", "target", "kind"}).value_or("");
  const std::string target = JsonString(request, {"spec", "target", "name"}).value_or("");
  auto signed_url = SignUrl(kind, target, cancel);
  if (!signed_url.ok()) {
    // Not served yet (retried with backoff); record the expiry once so that a request that can
    // never be served is still deleted after its lifetime.
    if (!expiration) {
      auto patched =
          PatchStatus(client, kDownloadRequests, ns, name,
                      json::object{{"expiration", api::FormatRfc3339(fresh_expiry)}}, "", cancel);
      if (!patched.ok())
        LB_LOG_WARN("download request {}/{}: {}", ns, name, patched.status().ToString());
    }
    return Annotate(signed_url.status(), "download request " + ns + "/" + name);
  }
  json::object status{{"expiration", api::FormatRfc3339(fresh_expiry)}};
  if (signed_url->failure.empty()) {
    status["phase"] = "Processed";
    status["downloadURL"] = signed_url->url;
  } else {
    status["phase"] = "Failed";
    status["message"] = signed_url->failure;
    LB_LOG_INFO("download request {}/{} failed: {}", ns, name, signed_url->failure);
  }
  LIFEBOAT_RETURN_IF_ERROR(
      PatchStatus(client, kDownloadRequests, ns, name, status,
                  JsonString(request, {"metadata", "resourceVersion"}).value_or(""), cancel)
          .status());
  return Result{Until(fresh_expiry, now)};
}

}  // namespace lifeboat::controller
