#pragma once

// RestoreReconciler: runs Restores (docs/server/restores.md). Watches velero.io Restores in the
// server's namespace; the key is the restore's name.
//
//   "" / New: validate as Velero's restore controller does — the spec (api::ValidateRestoreSpec:
//     exactly one of backupName / scheduleName, filters, policy, hooks), the schedule's newest
//     Completed Backup object (its name is written into spec.backupName), the Backup object
//     (exists, Completed or PartiallyFailed), its location (exists, not Unavailable; one with no
//     phase yet is waited for) -> FailedValidation with every problem in
//     status.validationErrors, or claim it (InProgress + startTimestamp, patched with the
//     resourceVersion read: a conflict means someone else changed it, look again) and run
//     restore::Restorer.
//   InProgress, not run by this process: interrupted (the server died or lost leadership). It
//     runs again with RestorerOptions::resume — what the interrupted run created carries the
//     restore's velero.io/restore-name label and counts as restored — and the annotation
//     lifeboat.io/resumed counts how often.
//   Anything else: nothing to do.
//
// While a restore runs, a small thread polls the object about once a second: the annotation
// lifeboat.io/cancel="true" or the object's deletion cancels the engine (phase Failed, reason
// "cancelled"). The Reconcile token (server shutdown, lost leadership) also stops the engine,
// but writes no final status: the restore stays InProgress for the next leader to resume.
//
// Concurrency: no rule beyond the controller's worker count (options.concurrent_restores);
// restores of overlapping namespaces may run at once, as in Velero.
//
// Thread safety: Reconcile may be called from several threads at once for different names.

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/restore.h"
#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"

namespace lifeboat::controller {

class RestoreReconciler : public Reconciler {
 public:
  explicit RestoreReconciler(const ServerContext& ctx);
  ~RestoreReconciler() override;

  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override;

  // Names of the restores this object is running now (for tests and the server's status).
  std::vector<std::string> Running() const;

 private:
  class Run;

  StatusOr<Result> StartNew(api::Restore r, const CancellationToken& cancel);
  StatusOr<Result> Resume(api::Restore r, const CancellationToken& cancel);
  // Velero's validateAndComplete: every problem found; fills spec.backupName (schedule) and
  // spec.scheduleName (the backup's label) and `backup`. `wait`: the location has no phase yet.
  std::vector<std::string> Validate(api::Restore& r, api::Backup* backup, bool* wait,
                                    const CancellationToken& cancel);
  // A restore that was asked to stop before this process ran it: Failed.
  StatusOr<Result> FailUnstarted(api::Restore r, const std::string& reason, bool attempted);
  StatusOr<Result> Execute(api::Restore r, const CancellationToken& cancel, bool resume);
  bool Reserve(const std::string& name);
  void Release(const std::string& name);

  ServerContext ctx_;
  mutable std::mutex mu_;
  std::set<std::string> running_;  // guarded by mu_
};

}  // namespace lifeboat::controller
