#include "src/controller/delete_backup_reconciler.h"

#include <map>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/time.h"
#include "lifeboat/api/volume_snapshot_location.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/controller/snapshot_locations.h"
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

DeleteBackupReconciler::DeleteBackupReconciler(const ServerContext& ctx,
                                               std::chrono::milliseconds csi_recreate_timeout)
    : ctx_(ctx), csi_recreate_timeout_(csi_recreate_timeout) {}

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

namespace {

// A gzipped JSON file of the backup; nullopt when it does not exist.
StatusOr<std::optional<json::value>> ReadGzJson(storage::BackupStore& store,
                                                const std::string& backup,
                                                storage::BackupFile file) {
  std::string gz;
  auto sink = StringSink(&gz);
  Status s = store.GetBackupFile(backup, file, *sink);
  if (absl::IsNotFound(s)) return std::optional<json::value>();
  const std::string what = "reading " + std::string(storage::BackupFileName(file)) + " of backup " +
                           backup + ": ";
  if (!s.ok()) return absl::Status(s.code(), what + std::string(s.message()));
  auto text = Gunzip(gz);
  if (!text.ok()) return absl::DataLossError(what + std::string(text.status().message()));
  auto v = ParseJson(*text);
  if (!v.ok()) return absl::DataLossError(what + std::string(v.status().message()));
  return std::optional<json::value>(std::move(*v));
}

}  // namespace

StatusOr<RecordedSnapshots> ReadRecordedSnapshots(storage::BackupStore& store,
                                                  const std::string& backup) {
  RecordedSnapshots out;
  LIFEBOAT_ASSIGN_OR_RETURN(auto native,
                            ReadGzJson(store, backup, storage::BackupFile::kVolumeSnapshots));
  if (native && native->is_array()) {  // Velero writes `null` for none
    for (const auto& snap : native->as_array()) {
      RecordedNativeSnapshot r;
      r.snapshot_id = JsonString(snap, {"status", "providerSnapshotID"}).value_or("");
      if (r.snapshot_id.empty()) continue;  // the snapshot failed: nothing was created
      r.location = JsonString(snap, {"spec", "location"}).value_or("");
      r.pv = JsonString(snap, {"spec", "persistentVolumeName"}).value_or("");
      out.native.push_back(std::move(r));
    }
  }
  std::set<std::string> seen;
  auto add_csi = [&](RecordedCsiSnapshot r) {
    if (r.vsc_name.empty() || !seen.insert(r.vsc_name).second) return;
    out.csi.push_back(std::move(r));
  };
  LIFEBOAT_ASSIGN_OR_RETURN(auto info, ReadGzJson(store, backup, storage::BackupFile::kVolumeInfo));
  if (info && info->is_array()) {
    for (const auto& vol : info->as_array()) {
      const json::value* csi = JsonFind(vol, {"csiSnapshotInfo"});
      if (csi == nullptr || !csi->is_object()) continue;
      add_csi({JsonString(*csi, {"vscName"}).value_or(""),
               JsonString(*csi, {"snapshotHandle"}).value_or(""),
               JsonString(*csi, {"driver"}).value_or("")});
    }
  }
  if (!info) {
    // Backups older than volume info (Velero < 1.13) list the contents themselves.
    LIFEBOAT_ASSIGN_OR_RETURN(
        auto legacy, ReadGzJson(store, backup, storage::BackupFile::kCsiVolumeSnapshotContents));
    if (legacy && legacy->is_array()) {
      for (const auto& vsc : legacy->as_array()) {
        add_csi({JsonString(vsc, {"metadata", "name"}).value_or(""),
                 JsonString(vsc, {"status", "snapshotHandle"}).value_or(""),
                 JsonString(vsc, {"spec", "driver"}).value_or("")});
      }
    }
  }
  return out;
}

void DeleteBackupReconciler::DeleteSnapshots(const std::string& backup, storage::BackupStore& store,
                                             Errors& errs, const CancellationToken& cancel) {
  auto recorded = ReadRecordedSnapshots(store, backup);
  if (!recorded.ok()) return errs.Add(recorded.status(), "error getting backup's volume snapshots");
  DeleteNativeSnapshots(recorded->native, errs, cancel);
  DeleteCsiSnapshots(backup, recorded->csi, errs, cancel);
}

void DeleteBackupReconciler::DeleteNativeSnapshots(
    const std::vector<RecordedNativeSnapshot>& snapshots, Errors& errs,
    const CancellationToken& cancel) {
  // One snapshotter per location (or the reason there is none).
  std::map<std::string, StatusOr<std::unique_ptr<plugin::VolumeSnapshotter>>> snapshotters;
  auto snapshotter = [&](const std::string& vsl) -> StatusOr<plugin::VolumeSnapshotter*> {
    auto it = snapshotters.find(vsl);
    if (it == snapshotters.end()) {
      auto make = [&]() -> StatusOr<std::unique_ptr<plugin::VolumeSnapshotter>> {
        LIFEBOAT_ASSIGN_OR_RETURN(auto got, GetIfExists(*ctx_.client, kVolumeSnapshotLocations,
                                                        ctx_.options.ns, vsl, cancel));
        if (!got) {
          return absl::FailedPreconditionError("volume snapshot location " + vsl + " not found");
        }
        auto loc = api::VolumeSnapshotLocationFromJson(*got);
        if (!loc.ok()) {
          return absl::FailedPreconditionError("volume snapshot location " + vsl +
                                               " cannot be read: " +
                                               std::string(loc.status().message()));
        }
        const std::string& provider = loc->spec.provider;
        // With its credential (spec.credential -> config "credentialsFile"), as the backup had.
        auto resolved = ResolveSnapshotLocation(ctx_, *loc, cancel);
        if (!resolved.ok()) {
          return absl::Status(resolved.status().code(),
                              "volume snapshot location " + vsl + ": " +
                                  std::string(resolved.status().message()));
        }
        if (!ctx_.snapshotters) {
          return absl::FailedPreconditionError("no volume snapshotter for provider " + provider +
                                               " (volume snapshot location " + vsl +
                                               ") is available in this server");
        }
        auto made = ctx_.snapshotters(provider, resolved->config);
        if (absl::IsNotFound(made.status())) {
          return absl::FailedPreconditionError("no volume snapshotter for provider " + provider +
                                               " (volume snapshot location " + vsl +
                                               ") is available in this server");
        }
        if (!made.ok()) {
          return absl::Status(made.status().code(),
                              "volume snapshot location " + vsl + " (provider " + provider +
                                  "): " + std::string(made.status().message()));
        }
        if (*made == nullptr) return absl::InternalError("provider " + provider + " made nothing");
        return std::move(*made);
      };
      it = snapshotters.emplace(vsl, make()).first;
    }
    if (!it->second.ok()) return it->second.status();
    return it->second->get();
  };
  for (const auto& snap : snapshots) {
    if (cancel.IsCancelled()) return errs.Add(absl::AbortedError("cancelled"));
    const std::string context = "error deleting snapshot " + snap.snapshot_id;
    auto s = snapshotter(snap.location);
    Status deleted = s.ok() ? (*s)->DeleteSnapshot(snap.snapshot_id) : s.status();
    if (!deleted.ok()) {
      ctx_.metrics->VolumeSnapshotDeletionFailed(metrics::SnapshotKind::kNative);
      errs.Add(deleted, context);
      continue;
    }
    ctx_.metrics->VolumeSnapshotDeleted(metrics::SnapshotKind::kNative);
    LB_LOG_INFO("deleted snapshot {} of volume {} (volume snapshot location {})", snap.snapshot_id,
                snap.pv, snap.location);
  }
}

void DeleteBackupReconciler::DeleteCsiSnapshots(const std::string& backup,
                                                const std::vector<RecordedCsiSnapshot>& recorded,
                                                Errors& errs, const CancellationToken& cancel) {
  std::map<std::string, const RecordedCsiSnapshot*> names;
  for (const auto& r : recorded) names[r.vsc_name] = &r;
  kube::ListAllOptions lo;
  lo.list.label_selector = std::string(kBackupNameLabel) + "=" + LabelSafe(backup);
  lo.list.cancel = cancel;
  auto listed = kube::ListAll(*ctx_.client, kCsiSnapshotContents, "", lo, [&](json::value&& item) {
    names.emplace(std::string(kube::ObjectName(item)), nullptr);
    return absl::OkStatus();
  });
  // NotFound: the cluster does not serve snapshot.storage.k8s.io (no CSI snapshots here).
  if (!listed.ok() && !absl::IsNotFound(listed.status())) {
    return errs.Add(listed.status(), "error listing VolumeSnapshotContents");
  }
  for (const auto& [name, rec] : names) {
    if (cancel.IsCancelled()) return errs.Add(absl::AbortedError("cancelled"));
    Status s = DeleteContent(backup, name, rec, cancel);
    if (!s.ok()) {
      ctx_.metrics->VolumeSnapshotDeletionFailed(metrics::SnapshotKind::kCsi);
      errs.Add(s, "error deleting VolumeSnapshotContent " + name);
      continue;
    }
  }
}

Status DeleteBackupReconciler::DeleteContent(const std::string& backup, const std::string& name,
                                             const RecordedCsiSnapshot* recorded,
                                             const CancellationToken& cancel) {
  json::object patch{{"spec", json::object{{"deletionPolicy", "Delete"}}}};
  auto patched = MergePatch(*ctx_.client, kCsiSnapshotContents, "", name, patch, "", cancel);
  if (absl::IsNotFound(patched.status())) {
    if (recorded != nullptr && !recorded->snapshot_handle.empty() && !recorded->driver.empty()) {
      return RecreateAndDelete(backup, *recorded, cancel);
    }
    LB_LOG_INFO("VolumeSnapshotContent {} of backup {} is already gone", name, backup);
    return absl::OkStatus();
  }
  LIFEBOAT_RETURN_IF_ERROR(patched.status());
  kube::DeleteOptions del;
  del.cancel = cancel;
  auto d = ctx_.client->Delete(kCsiSnapshotContents, "", name, del);
  if (!d.ok() && !absl::IsNotFound(d.status())) return d.status();
  ctx_.metrics->VolumeSnapshotDeleted(metrics::SnapshotKind::kCsi);
  LB_LOG_INFO("deleted VolumeSnapshotContent {} of backup {} (deletionPolicy Delete)", name,
              backup);
  return absl::OkStatus();
}

Status DeleteBackupReconciler::RecreateAndDelete(const std::string& backup,
                                                 const RecordedCsiSnapshot& rec,
                                                 const CancellationToken& cancel) {
  // Pre-provisioned, as Velero's delete action re-creates it: the driver then deletes the
  // snapshot when the content is deleted.
  json::value vsc = {
      {"apiVersion", "snapshot.storage.k8s.io/v1"},
      {"kind", "VolumeSnapshotContent"},
      {"metadata",
       {{"name", rec.vsc_name},
        {"labels", {{std::string(kBackupNameLabel), LabelSafe(backup)}}}}},
      {"spec",
       {{"deletionPolicy", "Delete"},
        {"driver", rec.driver},
        {"source", {{"snapshotHandle", rec.snapshot_handle}}},
        // Required by the CRD; no such VolumeSnapshot exists.
        {"volumeSnapshotRef", {{"name", rec.vsc_name}, {"namespace", ctx_.options.ns}}}}}};
  kube::WriteOptions wo;
  wo.cancel = cancel;
  auto created = ctx_.client->Create(kCsiSnapshotContents, "", vsc, wo);
  if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
  LB_LOG_INFO("VolumeSnapshotContent {} of backup {} was gone; re-created it for snapshot {} "
              "(driver {}) to delete the snapshot",
              rec.vsc_name, backup, rec.snapshot_handle, rec.driver);
  // Wait until the driver has taken it (ready), or reports that it cannot find the snapshot.
  const auto deadline = std::chrono::steady_clock::now() + csi_recreate_timeout_;
  std::string error;
  for (;;) {
    auto got = GetIfExists(*ctx_.client, kCsiSnapshotContents, "", rec.vsc_name, cancel);
    if (!got.ok()) return got.status();
    if (!got->has_value()) return absl::OkStatus();  // deleted meanwhile
    const json::value* ready = JsonFind(**got, {"status", "readyToUse"});
    if (ready != nullptr && ready->is_bool() && ready->as_bool()) break;
    if (const json::value* e = JsonFind(**got, {"status", "error"}); e && e->is_object()) {
      error = JsonString(*e, {"message"}).value_or("error");
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      // Delete it anyway (policy Delete) so nothing half-made stays; the retry re-creates it.
      (void)ctx_.client->Delete(kCsiSnapshotContents, "", rec.vsc_name);
      return absl::DeadlineExceededError("re-created VolumeSnapshotContent for snapshot " +
                                         rec.snapshot_handle + " did not become ready within " +
                                         std::to_string(csi_recreate_timeout_.count()) + " ms");
    }
    if (cancel.IsCancelled()) return absl::AbortedError("cancelled");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kube::DeleteOptions del;
  del.cancel = cancel;
  auto d = ctx_.client->Delete(kCsiSnapshotContents, "", rec.vsc_name, del);
  if (!d.ok() && !absl::IsNotFound(d.status())) return d.status();
  if (!error.empty()) {
    // CSI drivers answer NotFound for a snapshot that does not exist ("... not found"): then
    // there is nothing left to delete. Any other error may leave the snapshot behind.
    if (absl::AsciiStrToLower(error).find("not found") == std::string::npos) {
      return absl::FailedPreconditionError("the driver cannot take over snapshot " +
                                           rec.snapshot_handle + ": " + error);
    }
    LB_LOG_WARN("snapshot {} of backup {} (driver {}) is already gone: {}", rec.snapshot_handle,
                backup, rec.driver, error);
  } else {
    ctx_.metrics->VolumeSnapshotDeleted(metrics::SnapshotKind::kCsi);
  }
  return absl::OkStatus();
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
