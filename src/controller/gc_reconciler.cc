#include "src/controller/gc_reconciler.h"

#include <algorithm>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/delete_backup_request.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/kube/object.h"
#include "src/controller/backup_reconciler.h"

namespace lifeboat::controller {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

// Deleting is collectable too: a deletion that failed (a snapshot that could not be deleted)
// leaves the backup Deleting with a Processed request, and is tried again each period as
// Velero's gc controller does; a request still pending is waited for below.
bool Collectable(api::BackupPhase p) {
  return p == api::BackupPhase::kCompleted || p == api::BackupPhase::kPartiallyFailed ||
         p == api::BackupPhase::kFailed || p == api::BackupPhase::kFailedValidation ||
         p == api::BackupPhase::kDeleting;
}

struct Block {
  std::string reason, message;  // empty: not blocked
};

// Why the backup's location does not allow deleting it now.
StatusOr<Block> CheckLocation(const ServerContext& ctx, const std::string& loc,
                              const CancellationToken& cancel) {
  LIFEBOAT_ASSIGN_OR_RETURN(
      auto got, GetIfExists(*ctx.client, kBackupStorageLocations, ctx.options.ns, loc, cancel));
  if (!got) {
    return Block{"BSLNotFound", "backup storage location " + loc + " does not exist"};
  }
  auto bsl = api::BackupStorageLocationFromJson(*got);
  if (!bsl.ok()) return Block{"BSLCannotGet", std::string(bsl.status().message())};
  if (bsl->spec.access_mode == api::AccessMode::kReadOnly) {
    return Block{"BSLReadOnly",
                 "backup storage location " + loc + " is currently in read-only mode"};
  }
  if (bsl->status.phase != api::BackupStorageLocationPhase::kAvailable) {
    return Block{"BSLUnavailable", "backup storage location " + loc + " is not Available"};
  }
  return Block{};
}

}  // namespace

GcReconciler::GcReconciler(const ServerContext& ctx) : ctx_(ctx) {}

Status GcReconciler::MarkBlocked(const json::value& backup, const std::string& reason,
                                 const std::string& message, const CancellationToken& cancel) {
  const std::string name(kube::ObjectName(backup));
  const auto labels = kube::ObjectLabels(backup);
  auto it = labels.find(std::string(kGcFailureLabel));
  const std::string old_reason = it == labels.end() ? "" : it->second;
  if (old_reason == reason && Annotation(backup, kGcBlockedAnnotation) == message) {
    return absl::OkStatus();
  }
  auto value = [](const std::string& v) {
    return v.empty() ? json::value(nullptr) : json::value(v);
  };
  json::object patch;
  patch["metadata"] = json::object{
      {"labels", json::object{{std::string(kGcFailureLabel), value(reason)}}},
      {"annotations", json::object{{std::string(kGcBlockedAnnotation), value(message)}}}};
  auto r = MergePatch(*ctx_.client, kBackups, ctx_.options.ns, name, patch, "", cancel);
  if (absl::IsNotFound(r.status())) return absl::OkStatus();
  return r.status();
}

StatusOr<Result> GcReconciler::Reconcile(const std::string& name, const CancellationToken& cancel) {
  const auto frequency = ctx_.options.gc_frequency;
  LIFEBOAT_ASSIGN_OR_RETURN(auto got,
                            GetIfExists(*ctx_.client, kBackups, ctx_.options.ns, name, cancel));
  if (!got) return Result{};
  auto b = api::BackupFromJson(*got);
  if (!b.ok()) return Result{};
  // Not finished: the backup controller's next status change brings it back here.
  if (!Collectable(b->status.phase)) return Result{frequency};
  if (!b->status.expiration) return Result{};
  auto expiration = api::ParseRfc3339(*b->status.expiration);
  if (!expiration.ok()) return Result{};
  const auto now = ctx_.clock->Now();
  if (*expiration > now) {
    auto wait = std::chrono::ceil<milliseconds>(*expiration - now);
    return Result{std::clamp(wait, milliseconds(1), frequency)};
  }
  LB_LOG_INFO("backup {}/{} has expired ({})", ctx_.options.ns, name, *b->status.expiration);

  LIFEBOAT_ASSIGN_OR_RETURN(Block block, CheckLocation(ctx_, b->spec.storage_location, cancel));
  LIFEBOAT_RETURN_IF_ERROR(MarkBlocked(*got, block.reason, block.message, cancel));
  if (!block.reason.empty()) {
    LB_LOG_WARN("backup {}/{} cannot be garbage-collected: {}", ctx_.options.ns, name,
                block.message);
    return Result{frequency};
  }

  kube::ListOptions lo;
  lo.label_selector =
      "velero.io/backup-name=" + LabelSafe(name) + ",velero.io/backup-uid=" + b->metadata.uid;
  lo.cancel = cancel;
  LIFEBOAT_ASSIGN_OR_RETURN(auto dbrs,
                            ctx_.client->List(kDeleteBackupRequests, ctx_.options.ns, lo));
  std::vector<std::string> processed;
  for (const auto& item : dbrs.items) {
    auto dbr = api::DeleteBackupRequestFromJson(item);
    if (dbr.ok() && dbr->status.phase != api::DeleteBackupRequestPhase::kProcessed) {
      LB_LOG_DEBUG("backup {} already has a pending deletion request", name);
      return Result{frequency};
    }
    processed.emplace_back(kube::ObjectName(item));
  }
  // Earlier attempts that failed are replaced by the new one (Velero's gc does the same), so
  // a backup that cannot be deleted keeps one request with its latest errors.
  for (const auto& old : processed) {
    kube::DeleteOptions del;
    del.cancel = cancel;
    auto d = ctx_.client->Delete(kDeleteBackupRequests, ctx_.options.ns, old, del);
    if (!d.ok() && !absl::IsNotFound(d.status())) return d.status();
    LB_LOG_INFO("backup {}/{}: its deletion failed before (request {}); trying again", ctx_.options.ns,
                name, old);
  }
  json::value request = {
      {"apiVersion", "velero.io/v1"},
      {"kind", "DeleteBackupRequest"},
      {"metadata",
       {{"generateName", name + "-"},
        {"namespace", ctx_.options.ns},
        {"labels",
         {{"velero.io/backup-name", LabelSafe(name)}, {"velero.io/backup-uid", b->metadata.uid}}}}},
      {"spec", {{"backupName", name}}}};
  kube::WriteOptions wo;
  wo.cancel = cancel;
  LIFEBOAT_ASSIGN_OR_RETURN(
      auto created, ctx_.client->Create(kDeleteBackupRequests, ctx_.options.ns, request, wo));
  LB_LOG_INFO("backup {}/{} expired: created DeleteBackupRequest {}", ctx_.options.ns, name,
              kube::ObjectName(created));
  return Result{frequency};
}

}  // namespace lifeboat::controller
