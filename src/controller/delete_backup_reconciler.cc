#include "src/controller/delete_backup_reconciler.h"

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/kube/object.h"
#include "src/controller/backup_reconciler.h"

namespace lifeboat::controller {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kStorageLocationLabel = "velero.io/storage-location";

bool StillRunning(api::BackupPhase p) {
  switch (p) {
    case api::BackupPhase::kUnset:
    case api::BackupPhase::kNew:
    case api::BackupPhase::kQueued:
    case api::BackupPhase::kReadyToStart:
    case api::BackupPhase::kInProgress:
    case api::BackupPhase::kWaitingForPluginOperations:
    case api::BackupPhase::kWaitingForPluginOperationsPartiallyFailed:
    case api::BackupPhase::kFinalizing:
    case api::BackupPhase::kFinalizingPartiallyFailed:
      return true;
    default:
      return false;
  }
}

std::string Label(const std::map<std::string, std::string>& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? "" : it->second;
}

json::array ToArray(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

}  // namespace

void DeleteBackupReconciler::Errors::Add(const Status& s, const std::string& context) {
  if (s.ok()) return;
  const std::string msg(s.message());
  messages.push_back(context.empty() ? msg : context + ": " + msg);
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsAborted(s)) {
    transient = true;
  }
}

DeleteBackupReconciler::DeleteBackupReconciler(const ServerContext& ctx) : ctx_(ctx) {}

StatusOr<Result> DeleteBackupReconciler::Reconcile(const std::string& name,
                                                   const CancellationToken& cancel) {
  LIFEBOAT_ASSIGN_OR_RETURN(
      auto got, GetIfExists(*ctx_.client, kDeleteBackupRequests, ctx_.options.ns, name, cancel));
  if (!got || cancel.IsCancelled()) return Result{};
  auto dbr = api::DeleteBackupRequestFromJson(*got);
  if (!dbr.ok()) {
    LB_LOG_ERROR("DeleteBackupRequest {}/{} cannot be read: {}", ctx_.options.ns, name,
                 dbr.status().ToString());
    return Result{};
  }
  if (dbr->status.phase == api::DeleteBackupRequestPhase::kProcessed) return Expire(*dbr);
  const std::string& backup_name = dbr->spec.backup_name;
  if (backup_name.empty()) return Refuse(name, "spec.backupName is required", cancel);
  LIFEBOAT_RETURN_IF_ERROR(DeleteOtherRequests(*dbr, cancel));

  LIFEBOAT_ASSIGN_OR_RETURN(
      auto obj, GetIfExists(*ctx_.client, kBackups, ctx_.options.ns, backup_name, cancel));
  if (!obj) return DeleteOrphanFiles(*dbr, cancel);
  auto backup = api::BackupFromJson(*obj);
  if (!backup.ok()) {
    return Refuse(name, "backup cannot be read: " + std::string(backup.status().message()), cancel);
  }
  if (StillRunning(backup->status.phase))
    return Refuse(name, "backup is still in progress", cancel);

  const std::string& loc = backup->spec.storage_location;
  LIFEBOAT_ASSIGN_OR_RETURN(auto bsl_json, GetIfExists(*ctx_.client, kBackupStorageLocations,
                                                       ctx_.options.ns, loc, cancel));
  if (!bsl_json) return Refuse(name, "backup storage location " + loc + " not found", cancel);
  LIFEBOAT_ASSIGN_OR_RETURN(auto bsl, api::BackupStorageLocationFromJson(*bsl_json));
  if (bsl.spec.access_mode == api::AccessMode::kReadOnly) {
    return Refuse(name,
                  "cannot delete backup because backup storage location " + loc +
                      " is currently in read-only mode",
                  cancel);
  }
  if (bsl.status.phase != api::BackupStorageLocationPhase::kAvailable) {
    return Refuse(name,
                  "cannot delete backup because backup storage location " + loc +
                      " is currently in Unavailable state",
                  cancel);
  }
  return DeleteBackup(*dbr, std::move(*backup), cancel);
}

StatusOr<Result> DeleteBackupReconciler::Expire(const api::DeleteBackupRequest& dbr) {
  const auto& created = dbr.metadata.creation_timestamp;
  auto when = created ? api::ParseRfc3339(*created) : StatusOr<api::TimePoint>(ctx_.clock->Now());
  if (!when.ok()) return Result{};
  const auto age = ctx_.clock->Now() - *when;
  if (age < kMaxAge) {
    return Result{std::max(milliseconds(1), std::chrono::ceil<milliseconds>(kMaxAge - age))};
  }
  auto r = ctx_.client->Delete(kDeleteBackupRequests, ctx_.options.ns, dbr.metadata.name);
  if (!r.ok() && !absl::IsNotFound(r.status())) return r.status();
  LB_LOG_INFO("deleted DeleteBackupRequest {}/{} (processed, older than 24h)", ctx_.options.ns,
              dbr.metadata.name);
  return Result{};
}

StatusOr<Result> DeleteBackupReconciler::Refuse(const std::string& name, const std::string& error,
                                                const CancellationToken& cancel) {
  json::object status{{"phase", "Processed"}, {"errors", json::array{json::value(error)}}};
  auto r =
      PatchStatus(*ctx_.client, kDeleteBackupRequests, ctx_.options.ns, name, status, "", cancel);
  if (!r.ok() && !absl::IsNotFound(r.status())) return r.status();
  LB_LOG_INFO("DeleteBackupRequest {}/{}: {}", ctx_.options.ns, name, error);
  return Result{kMaxAge};
}

Status DeleteBackupReconciler::DeleteOtherRequests(const api::DeleteBackupRequest& dbr,
                                                   const CancellationToken& cancel) {
  kube::ListOptions lo;
  lo.label_selector = "velero.io/backup-name=" + LabelSafe(dbr.spec.backup_name);
  lo.cancel = cancel;
  LIFEBOAT_ASSIGN_OR_RETURN(auto page,
                            ctx_.client->List(kDeleteBackupRequests, ctx_.options.ns, lo));
  for (const auto& item : page.items) {
    auto other = api::DeleteBackupRequestFromJson(item);
    if (!other.ok() || other->metadata.name == dbr.metadata.name) continue;
    if (other->status.phase == api::DeleteBackupRequestPhase::kInProgress) continue;
    auto r = ctx_.client->Delete(kDeleteBackupRequests, ctx_.options.ns, other->metadata.name);
    if (!r.ok() && !absl::IsNotFound(r.status())) return r.status();
    LB_LOG_INFO("deletion request {} removed (superseded by {})", other->metadata.name,
                dbr.metadata.name);
  }
  return absl::OkStatus();
}

StatusOr<Result> DeleteBackupReconciler::DeleteBackup(const api::DeleteBackupRequest& dbr,
                                                      api::Backup backup,
                                                      const CancellationToken& cancel) {
  const std::string name = backup.metadata.name;
  const std::string schedule = ScheduleOf(backup.metadata.labels);
  json::object labels;
  if (Label(dbr.metadata.labels, "velero.io/backup-name").empty()) {
    labels["velero.io/backup-name"] = LabelSafe(name);
  }
  if (Label(dbr.metadata.labels, "velero.io/backup-uid").empty()) {
    labels["velero.io/backup-uid"] = backup.metadata.uid;
  }
  json::object patch{{"status", json::object{{"phase", "InProgress"}}}};
  if (!labels.empty()) patch["metadata"] = json::object{{"labels", labels}};
  LIFEBOAT_RETURN_IF_ERROR(MergePatch(*ctx_.client, kDeleteBackupRequests, ctx_.options.ns,
                                      dbr.metadata.name, patch, "", cancel)
                               .status());
  if (backup.status.phase != api::BackupPhase::kDeleting) {
    auto r = PatchStatus(*ctx_.client, kBackups, ctx_.options.ns, name,
                         json::object{{"phase", "Deleting"}}, "", cancel);
    if (!r.ok() && !absl::IsNotFound(r.status())) return r.status();
  }
  ctx_.metrics->BackupDeletionAttempted(schedule);
  LB_LOG_INFO("deleting backup {}/{} (request {})", ctx_.options.ns, name, dbr.metadata.name);

  Errors errs;
  auto loc = ctx_.stores->Get(backup.spec.storage_location, cancel);
  if (!loc.ok()) {
    errs.Add(loc.status(), "error getting the backup store");
  } else {
    DeleteSnapshots(name, *loc->store, errs, cancel);
    // With snapshots left, the backup (and its record of them) stays, so nothing is orphaned.
    if (errs.messages.empty()) {
      errs.Add(loc->store->DeleteBackup(name));
      DeleteRestores(name, *loc->store, errs, cancel);
    }
  }
  if (errs.messages.empty()) {
    kube::DeleteOptions del;
    del.cancel = cancel;
    auto r = ctx_.client->Delete(kBackups, ctx_.options.ns, name, del);
    if (!r.ok() && !absl::IsNotFound(r.status())) {
      errs.Add(r.status(), "error deleting backup " + ctx_.options.ns + "/" + name);
    }
  }
  return Conclude(dbr, name, backup.metadata.uid, schedule, errs, cancel);
}

StatusOr<Result> DeleteBackupReconciler::DeleteOrphanFiles(const api::DeleteBackupRequest& dbr,
                                                           const CancellationToken& cancel) {
  const std::string& name = dbr.spec.backup_name;
  std::string location = Label(dbr.metadata.labels, kStorageLocationLabel);
  if (location.empty()) {
    auto marked = ctx_.stores->DefaultLocationName(cancel);
    location = marked.ok() ? *marked : ctx_.options.default_backup_storage_location;
  }
  auto loc = ctx_.stores->Get(location, cancel);
  if (!loc.ok()) {
    if (absl::IsNotFound(loc.status()))
      return Refuse(dbr.metadata.name, "backup not found", cancel);
    return loc.status();
  }
  LIFEBOAT_ASSIGN_OR_RETURN(bool exists, loc->store->BackupExists(name));
  if (!exists) return Refuse(dbr.metadata.name, "backup not found", cancel);
  if (loc->read_only()) {
    return Refuse(dbr.metadata.name,
                  "cannot delete backup because backup storage location " + location +
                      " is currently in read-only mode",
                  cancel);
  }
  json::object patch{{"status", json::object{{"phase", "InProgress"}}}};
  if (Label(dbr.metadata.labels, "velero.io/backup-name").empty()) {
    patch["metadata"] =
        json::object{{"labels", json::object{{"velero.io/backup-name", LabelSafe(name)}}}};
  }
  LIFEBOAT_RETURN_IF_ERROR(MergePatch(*ctx_.client, kDeleteBackupRequests, ctx_.options.ns,
                                      dbr.metadata.name, patch, "", cancel)
                               .status());
  ctx_.metrics->BackupDeletionAttempted("");
  LB_LOG_INFO("Backup object {}/{} is gone; deleting its files from location {}", ctx_.options.ns,
              name, location);
  Errors errs;
  DeleteSnapshots(name, *loc->store, errs, cancel);
  if (errs.messages.empty()) {
    errs.Add(loc->store->DeleteBackup(name));
    DeleteRestores(name, *loc->store, errs, cancel);
  }
  return Conclude(dbr, name, "", "", errs, cancel);
}

void DeleteBackupReconciler::DeleteSnapshots(const std::string& backup, storage::BackupStore& store,
                                             Errors& errs, const CancellationToken& cancel) {
  std::string gz;
  auto sink = StringSink(&gz);
  Status s = store.GetBackupFile(backup, storage::BackupFile::kVolumeSnapshots, *sink);
  if (absl::IsNotFound(s)) return;  // none recorded
  if (!s.ok()) return errs.Add(s, "error getting backup's volume snapshots");
  auto text = Gunzip(gz);
  if (!text.ok()) return errs.Add(text.status(), "error getting backup's volume snapshots");
  auto snapshots = ParseJson(*text);
  if (!snapshots.ok())
    return errs.Add(snapshots.status(), "error getting backup's volume snapshots");
  if (!snapshots->is_array()) return;  // Velero writes `null` for none
  for (const auto& snap : snapshots->as_array()) {
    const std::string id = JsonString(snap, {"status", "providerSnapshotID"}).value_or("");
    if (id.empty()) continue;  // the snapshot failed: nothing was created
    const std::string vsl = JsonString(snap, {"spec", "location"}).value_or("");
    std::string provider = "unknown";
    auto got = GetIfExists(*ctx_.client, kVolumeSnapshotLocations, ctx_.options.ns, vsl, cancel);
    if (got.ok() && got->has_value()) {
      provider = JsonString(**got, {"spec", "provider"}).value_or("unknown");
    }
    errs.messages.push_back("error deleting snapshot " + id +
                            ": no volume snapshotter for provider " + provider +
                            " (volume snapshot location " + vsl + ") is available in this server");
  }
}

void DeleteBackupReconciler::DeleteRestores(const std::string& backup, storage::BackupStore& store,
                                            Errors& errs, const CancellationToken& cancel) {
  kube::ListAllOptions lo;
  lo.list.cancel = cancel;
  std::vector<std::string> restores;
  auto listed =
      kube::ListAll(*ctx_.client, kRestores, ctx_.options.ns, lo, [&](json::value&& item) {
        if (JsonString(item, {"spec", "backupName"}).value_or("") == backup) {
          restores.emplace_back(kube::ObjectName(item));
        }
        return absl::OkStatus();
      });
  if (!listed.ok()) return errs.Add(listed.status(), "error listing restores");
  for (const auto& r : restores) {
    if (Status s = store.DeleteRestore(r); !s.ok()) {
      errs.Add(s);  // the object stays, so the files can still be found
      continue;
    }
    kube::DeleteOptions del;
    del.cancel = cancel;
    auto d = ctx_.client->Delete(kRestores, ctx_.options.ns, r, del);
    if (!d.ok() && !absl::IsNotFound(d.status())) {
      errs.Add(d.status(), "error deleting restore " + ctx_.options.ns + "/" + r);
    }
  }
}

StatusOr<Result> DeleteBackupReconciler::Conclude(const api::DeleteBackupRequest& dbr,
                                                  const std::string& backup, const std::string& uid,
                                                  const std::string& schedule, const Errors& errs,
                                                  const CancellationToken& cancel) {
  const std::string& name = dbr.metadata.name;
  if (errs.messages.empty()) {
    ctx_.metrics->BackupDeletionSucceeded(schedule);
    auto r = PatchStatus(*ctx_.client, kDeleteBackupRequests, ctx_.options.ns, name,
                         json::object{{"phase", "Processed"}, {"errors", nullptr}}, "", cancel);
    if (!r.ok() && !absl::IsNotFound(r.status())) return r.status();
    // Everything is gone: so are the requests for it (Velero).
    kube::ListOptions lo;
    lo.label_selector = "velero.io/backup-name=" + LabelSafe(backup);
    if (!uid.empty()) lo.label_selector += ",velero.io/backup-uid=" + uid;
    auto d = ctx_.client->DeleteCollection(kDeleteBackupRequests, ctx_.options.ns, {}, lo);
    if (!d.ok()) {
      LB_LOG_WARN("backup {} deleted, but its DeleteBackupRequests were not: {}", backup,
                  d.status().ToString());
    }
    LB_LOG_INFO("backup {}/{} deleted", ctx_.options.ns, backup);
    return Result{kMaxAge};
  }
  ctx_.metrics->BackupDeletionFailed(schedule);
  const std::string phase = errs.transient ? "InProgress" : "Processed";
  auto r =
      PatchStatus(*ctx_.client, kDeleteBackupRequests, ctx_.options.ns, name,
                  json::object{{"phase", phase}, {"errors", ToArray(errs.messages)}}, "", cancel);
  if (!r.ok() && !absl::IsNotFound(r.status())) return r.status();
  LB_LOG_WARN("deleting backup {}/{} failed: {}", ctx_.options.ns, backup, Join(errs.messages));
  if (errs.transient) {
    return absl::UnavailableError("deleting backup " + backup + ": " + Join(errs.messages));
  }
  return Result{kMaxAge};
}

}  // namespace lifeboat::controller
