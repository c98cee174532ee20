#pragma once

// DeleteBackupReconciler: Velero's backup deletion controller (docs/server/backups.md).
// Watches DeleteBackupRequests in the server's namespace; the key is the request's name.
//
//   New: refused (phase Processed, status.errors) when spec.backupName is empty, the backup is
//     not finished ("backup is still in progress"), or its location is missing, ReadOnly or not
//     Available. Otherwise: request InProgress (labels velero.io/backup-name/-uid), backup
//     Deleting, then its native volume snapshots, its files, the Restores made from it (their
//     files and objects) and the Backup object are deleted. No errors: Processed, and every
//     request for that backup is deleted (as Velero does). Errors: status.errors; a transient
//     one (Unavailable, DeadlineExceeded, Aborted) keeps the request InProgress and returns an
//     error so the work queue retries (each step is idempotent); others end Processed.
//   The Backup object is gone: the backup's files are still deleted from the location named by
//     the request's velero.io/storage-location label (else the default location).
//   Processed: deleted once 24 h old (Velero's deleteBackupRequestMaxAge).
//
// Native snapshots need a VolumeSnapshotter, which this server does not have yet: a backup
// that recorded snapshots is not deleted (an error names each provider and snapshot ID), so no
// snapshot is orphaned.
//
// Thread safety: Reconcile may be called from several threads at once for different names.

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/delete_backup_request.h"
#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"
#include "lifeboat/storage/backup_store.h"

namespace lifeboat::controller {

class DeleteBackupReconciler : public Reconciler {
 public:
  static constexpr std::chrono::hours kMaxAge{24};

  explicit DeleteBackupReconciler(const ServerContext& ctx);
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
  void DeleteRestores(const std::string& backup, storage::BackupStore& store, Errors& errs,
                      const CancellationToken& cancel);
  // Processed (or, on a transient failure, still InProgress) with the errors.
  StatusOr<Result> Conclude(const api::DeleteBackupRequest& dbr, const std::string& backup,
                            const std::string& uid, const std::string& schedule, const Errors& errs,
                            const CancellationToken& cancel);

  ServerContext ctx_;
};

}  // namespace lifeboat::controller
