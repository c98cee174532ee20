#pragma once

// GcReconciler: Velero's garbage collection of expired backups (docs/server/backups.md).
// Watches Backups in the server's namespace; the key is the backup's name.
//
// A backup whose status.expiration has passed gets a DeleteBackupRequest (generateName
// "<backup>-", labels velero.io/backup-name and velero.io/backup-uid, spec.backupName), unless
// one for it is still New/InProgress; the deletion controller does the rest. When the backup's
// location is missing, ReadOnly or not Available nothing is deleted: the reason is written to
// the label velero.io/gc-failure (Velero's values BSLNotFound, BSLReadOnly, BSLUnavailable) and
// the annotation lifeboat.io/gc-blocked (a sentence), and the backup is looked at again after
// options.gc_frequency. Backups not finished yet (New, InProgress, ...) or being deleted are
// never collected. Before expiry the result asks to be called again at expiry (at most
// gc_frequency later).
//
// Thread safety: Reconcile may be called from several threads at once for different names.

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"

namespace lifeboat::controller {

inline constexpr std::string_view kGcBlockedAnnotation = "lifeboat.io/gc-blocked";
inline constexpr std::string_view kGcFailureLabel = "velero.io/gc-failure";

class GcReconciler : public Reconciler {
 public:
  explicit GcReconciler(const ServerContext& ctx);
  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override;

 private:
  // Sets (or, with empty values, clears) the gc-failure label and gc-blocked annotation.
  Status MarkBlocked(const boost::json::value& backup, const std::string& reason,
                     const std::string& message, const CancellationToken& cancel);

  ServerContext ctx_;
};

}  // namespace lifeboat::controller
