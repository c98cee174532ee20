#pragma once

// BackupSyncReconciler: Velero's backup-sync controller, keyed by BackupStorageLocation name.
// It makes the cluster's Backup objects follow what a location's bucket holds, so that a new
// cluster pointed at an existing bucket sees its backups (and can restore them), and backups
// deleted from the bucket disappear from the cluster. docs/server/locations-and-sync.md.
//
// A location is synced when it is Available and its last sync (status.lastSyncedTime) is at
// least spec.backupSyncPeriod ago (default ServerOptions::backup_sync_period; negative means
// the default; 0 disables sync for the location). A sync:
//   1. lists the backups in the bucket; every one with no Backup object of that name in the
//      server namespace is created from its velero-backup.json, WITH its status (the CRD has no
//      status subresource), in the server namespace, with spec.storageLocation and the label
//      velero.io/storage-location set to this location and the source cluster's uid,
//      resourceVersion and creationTimestamp dropped. Schedule owner references that do not
//      match a Schedule of this cluster are dropped. Backups still WaitingForPluginOperations
//      or Finalizing are skipped until they expire (then synced as PartiallyFailed). A
//      velero-backup.json that cannot be read or decoded is skipped (logged);
//   2. deletes the Backup objects labelled with this location whose phase is Completed or
//      PartiallyFailed and which the bucket no longer holds (only the Backup object: nothing in
//      the bucket, no restores);
//   3. patches the location's status.lastSyncedTime.
// A reconcile that is not due (or a location not Available) writes nothing and asks to be
// requeued after the time left (or the period).
//
// Reconcile errors: the API server's when reading the location or listing backups, and the
// store's when it cannot be built or listed (retried with backoff). Per-backup failures are
// logged and skipped.
//
// Thread safety: Reconcile may be called concurrently for different locations.

#include <chrono>
#include <set>
#include <string>
#include <string_view>

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"
#include "lifeboat/storage/backup_store.h"

namespace lifeboat::controller {

// The label Velero puts on every backup with the (label-safe) name of its location.
inline constexpr std::string_view kStorageLocationLabel = "velero.io/storage-location";

// Velero's label.GetValidName: a value longer than 63 characters becomes its first 57
// characters followed by the first 6 hex digits of its SHA-256.
std::string LabelValue(std::string_view value);

class BackupSyncReconciler : public Reconciler {
 public:
  explicit BackupSyncReconciler(const ServerContext& ctx);

  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override;

 private:
  // The sync period of `bsl`; 0 when sync is disabled.
  std::chrono::milliseconds Period(const api::BackupStorageLocation& bsl) const;
  Status Sync(const api::BackupStorageLocation& bsl, storage::BackupStore& store,
              const CancellationToken& cancel);
  // Creates the Backup object of `backup` (a name the bucket holds and the cluster does not).
  void SyncOne(const api::BackupStorageLocation& bsl, storage::BackupStore& store,
               const std::string& backup, const CancellationToken& cancel);
  void DeleteOrphans(const api::BackupStorageLocation& bsl, storage::BackupStore& store,
                     const std::set<std::string>& in_bucket,
                     const CancellationToken& cancel);

  ServerContext ctx_;
};

}  // namespace lifeboat::controller
