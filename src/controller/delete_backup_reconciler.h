#pragma once

// DeleteBackupReconciler: Velero's backup deletion controller (docs/server/backups.md).
// Watches DeleteBackupRequests in the server's namespace; the key is the request's name.
//
//   New: refused (phase Processed, status.errors) when spec.backupName is empty, the backup is
//     not finished ("backup is still in progress"), or its location is missing, ReadOnly or not
//     Available. Otherwise: request InProgress (labels velero.io/backup-name/-uid), backup
//     Deleting, then its volume snapshots (native and CSI, below), its files, the Restores made
//     from it (their files and objects) and the Backup object are deleted. No errors: Processed, and every
//     request for that backup is deleted (as Velero does). Errors: status.errors; a transient
//     one (Unavailable, DeadlineExceeded, Aborted) keeps the request InProgress and returns an
//     error so the work queue retries (each step is idempotent); others end Processed.
//   The Backup object is gone: the backup's files are still deleted from the location named by
//     the request's velero.io/storage-location label (else the default location).
//   Processed: deleted once 24 h old (Velero's deleteBackupRequestMaxAge).
//
// Volume snapshots (docs/server/volume-snapshots.md):
//   - native: every snapshot with a provider ID in <backup>-volumesnapshots.json.gz is deleted
//     with ctx.snapshotters(provider, config) of the VolumeSnapshotLocation it names. A missing
//     location, an unknown provider or a failed DeleteSnapshot is an error naming the snapshot.
//   - CSI (Velero's csi-volumesnapshotcontent-delete action): the VolumeSnapshotContents named by
//     <backup>-volumeinfo.json.gz (csiSnapshotInfo.vscName; legacy backups:
//     <backup>-csi-volumesnapshotcontents.json.gz) and those labelled
//     velero.io/backup-name=<backup> get spec.deletionPolicy Delete and are deleted, so the CSI
//     driver deletes the snapshot. A recorded content that is no longer in the cluster (removed
//     by hand, or the backup came from another cluster) but whose handle and driver are known
//     is re-created pre-provisioned with deletionPolicy Delete, awaited (readyToUse, at most
//     csi_recreate_timeout) and deleted, as Velero 1.14+ does; a status.error saying "not found"
//     means the snapshot is already gone, any other status.error is an error.
//   Any failure keeps the backup, its files and its record of the snapshots (so no snapshot is
//   orphaned and a new request can try again).
//
// Thread safety: Reconcile may be called from several threads at once for different names.

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/delete_backup_request.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"
#include "lifeboat/storage/backup_store.h"

namespace lifeboat::controller {

inline const kube::GroupVersionResource kCsiSnapshotContents{"snapshot.storage.k8s.io", "v1",
                                                             "volumesnapshotcontents"};
// The label Velero's CSI actions put on a backup's VolumeSnapshots and VolumeSnapshotContents
// (value: LabelSafe(backup name)), and the tag Velero gives a native snapshot (the raw name).
inline constexpr std::string_view kBackupNameLabel = "velero.io/backup-name";
inline constexpr std::string_view kBackupSnapshotTag = "velero.io/backup";

// What a backup's files say about its volume snapshots.
struct RecordedNativeSnapshot {
  std::string snapshot_id;  // status.providerSnapshotID (never empty here)
  std::string location;     // spec.location: the VolumeSnapshotLocation
  std::string pv;           // spec.persistentVolumeName
};
struct RecordedCsiSnapshot {
  std::string vsc_name;  // the VolumeSnapshotContent
  std::string snapshot_handle;
  std::string driver;
};
struct RecordedSnapshots {
  std::vector<RecordedNativeSnapshot> native;
  std::vector<RecordedCsiSnapshot> csi;
};
// Reads <backup>-volumesnapshots.json.gz (records with a providerSnapshotID),
// <backup>-volumeinfo.json.gz (csiSnapshotInfo with a vscName) and, for backups older than
// volume info, <backup>-csi-volumesnapshotcontents.json.gz. Missing files (or `null`) record
// nothing; a file that cannot be read or decoded is an error.
StatusOr<RecordedSnapshots> ReadRecordedSnapshots(storage::BackupStore& store,
                                                  const std::string& backup);

class DeleteBackupReconciler : public Reconciler {
 public:
  static constexpr std::chrono::hours kMaxAge{24};

  // `csi_recreate_timeout`: how long a re-created VolumeSnapshotContent may take to become
  // ready before its deletion counts as failed (and the request is retried).
  explicit DeleteBackupReconciler(
      const ServerContext& ctx,
      std::chrono::milliseconds csi_recreate_timeout = std::chrono::minutes(1));
  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override;

 private:
  struct Errors {
    std::vector<std::string> messages;
    bool transient = false;
    void Add(const Status& s, const std::string& context = "");
  };

  StatusOr<Result> Expire(const api::DeleteBackupRequest& dbr);
  StatusOr<Result> Refuse(const std::string& name, const std::string& error,
                          const CancellationToken& cancel);
  StatusOr<Result> DeleteBackup(const api::DeleteBackupRequest& dbr, api::Backup backup,
                                const CancellationToken& cancel);
  StatusOr<Result> DeleteOrphanFiles(const api::DeleteBackupRequest& dbr,
                                     const CancellationToken& cancel);
  // Velero keeps one request per backup: the others (not being processed) are removed.
  Status DeleteOtherRequests(const api::DeleteBackupRequest& dbr, const CancellationToken& cancel);
  void DeleteSnapshots(const std::string& backup, storage::BackupStore& store, Errors& errs,
                       const CancellationToken& cancel);
  void DeleteNativeSnapshots(const std::vector<RecordedNativeSnapshot>& snapshots, Errors& errs,
                             const CancellationToken& cancel);
  void DeleteCsiSnapshots(const std::string& backup, const std::vector<RecordedCsiSnapshot>& recorded,
                          Errors& errs, const CancellationToken& cancel);
  // Deletes one VolumeSnapshotContent (deletionPolicy Delete first); re-creates it from
  // `recorded` when it is gone and the handle is known.
  Status DeleteContent(const std::string& backup, const std::string& name,
                       const RecordedCsiSnapshot* recorded, const CancellationToken& cancel);
  Status RecreateAndDelete(const std::string& backup, const RecordedCsiSnapshot& recorded,
                           const CancellationToken& cancel);
  void DeleteRestores(const std::string& backup, storage::BackupStore& store, Errors& errs,
                      const CancellationToken& cancel);
  // Processed (or, on a transient failure, still InProgress) with the errors.
  StatusOr<Result> Conclude(const api::DeleteBackupRequest& dbr, const std::string& backup,
                            const std::string& uid, const std::string& schedule, const Errors& errs,
                            const CancellationToken& cancel);

  ServerContext ctx_;
  std::chrono::milliseconds csi_recreate_timeout_;
};

}  // namespace lifeboat::controller
