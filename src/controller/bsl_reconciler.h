#pragma once

// BackupStorageLocationReconciler: Velero's backup-storage-location controller. It validates a
// location (builds its store through LocationStores and calls BackupStore::Validate) and
// records the outcome in status.phase (Available / Unavailable), status.message (why it is
// unavailable; never a credential) and status.lastValidationTime, and in the
// lifeboat_backup_location_available gauge. docs/server/locations-and-sync.md has the rules.
//
// When a validation is due (Velero's IsReadyToValidate, plus spec changes):
//   - never validated (no status.lastValidationTime): always, whatever the frequency;
//   - the spec changed since this process last validated it (and after a server restart);
//   - otherwise every spec.validationFrequency (default ServerOptions::
//     store_validation_frequency; negative means the default; 0 disables periodic validation).
// A reconcile that is not due writes nothing (so its own status patches do not loop through the
// informer) and asks to be requeued when the next validation is due.
//
// The location named ServerOptions::default_backup_storage_location gets spec.default=true when
// it validates and no location is marked default (Velero's --default-backup-storage-location).
// A deleted location is dropped from the metrics and from the LocationStores cache.
//
// Reconcile errors: the API server's (reading or patching the location). A store that cannot
// be built or validated is not an error: the location becomes Unavailable.
//
// Thread safety: Reconcile may be called concurrently for different locations.

#include <map>
#include <mutex>
#include <string>

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"

namespace lifeboat::controller {

class BackupStorageLocationReconciler : public Reconciler {
 public:
  explicit BackupStorageLocationReconciler(const ServerContext& ctx);

  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override;

 private:
  // The validation period of `bsl` (0: periodic validation disabled).
  std::chrono::milliseconds Frequency(const api::BackupStorageLocation& bsl) const;
  // True when `bsl` is the server's default location and no location is marked default.
  StatusOr<bool> ShouldBecomeDefault(const api::BackupStorageLocation& bsl,
                                     const CancellationToken& cancel);
  StatusOr<Result> Validate(const api::BackupStorageLocation& bsl, const CancellationToken& cancel);

  ServerContext ctx_;
  std::mutex mu_;
  // Location name -> its serialized spec when this process last validated it.
  std::map<std::string, std::string> validated_specs_;
};

// The serialized spec of a location object (what "the spec changed" compares).
std::string SpecFingerprint(const api::BackupStorageLocation& bsl);

}  // namespace lifeboat::controller
