#pragma once

// BackupReconciler: runs Backups (docs/server/backups.md). Watches velero.io Backups in the
// server's namespace; the key is the backup's name.
//
//   "" / New (and Queued / ReadyToStart, which only Velero 1.18's queue controller writes):
//     validate (location exists, is not ReadOnly, is Available; spec checks) -> FailedValidation
//     with every problem, or claim it (InProgress + startTimestamp, patched with the
//     resourceVersion read, so two servers never both run it) and run backup::Backupper.
//   InProgress, not run by this process: interrupted (the server died or lost leadership).
//     If the bucket already has velero-backup.json, its status is adopted; otherwise the
//     leftover files are removed and the backup runs again (annotation lifeboat.io/resumed
//     counts how often), continuing from its last local checkpoint when this machine has a
//     usable one (BackupJournalDir), from the start otherwise.
//   Anything else: nothing to do.
//
// While a backup runs, a small thread polls the object about once a second: the annotation
// lifeboat.io/cancel="true" or the object's deletion cancels it (phase Failed) and discards its
// checkpoint journal. The Reconcile token (server shutdown, lost leadership) also stops the
// run, but leaves the backup InProgress for the next leader and keeps the journal, so that a
// server restarted on the same machine resumes it from its last checkpoint.
//
// Concurrency: at most options.concurrent_backups at once, and never two whose namespace
// selections may overlap (MayOverlap); a backup that has to wait stays New and is looked at
// again after kOverlapRetry.
//
// Thread safety: Reconcile may be called from several threads at once for different names.

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "lifeboat/api/backup.h"
#include "lifeboat/backup/backupper.h"
#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"
#include "lifeboat/storage/backup_store.h"

namespace lifeboat::controller {

// Helpers the backup, GC and deletion reconcilers share.
// Velero's label.GetValidName: values over 63 characters become their first 57 characters and
// the first 6 hex digits of their SHA-256.
std::string LabelSafe(std::string_view value);
// The `schedule` label of the metrics: velero.io/schedule-name, "" for a manual backup.
std::string ScheduleOf(const std::map<std::string, std::string>& labels);
// MergePatch (no resourceVersion) retried a few times on Unavailable / DeadlineExceeded.
Status PatchWithRetry(kube::DynamicClient& client, const kube::GroupVersionResource& gvr,
                      const std::string& ns, const std::string& name,
                      const boost::json::object& patch);
// ServerMetrics::BackupFinished (or BackupValidationFailed) for a backup's final status, with
// the uploaded sizes when the run that produced it reported them.
void RecordFinished(const ServerContext& ctx, const api::Backup& b,
                    const backup::BackupRunStats* stats = nullptr);

// Where the backup engine keeps checkpoint journals: options.journal_dir, or
// <temp_dir>/lifeboat-journal.
std::filesystem::path BackupJournalDir(const ServerOptions& options);

// True when two backups might read the same namespace (or both take cluster-scoped resources),
// so they must not run at the same time. Conservative: "*", an empty include list or a wildcard
// pattern overlaps with every other selection unless the other one's namespaces are all
// excluded by name.
bool MayOverlap(const api::BackupSpec& a, const api::BackupSpec& b);

class BackupReconciler : public Reconciler {
 public:
  static constexpr std::chrono::seconds kOverlapRetry{5};

  explicit BackupReconciler(const ServerContext& ctx);
  ~BackupReconciler() override;

  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override;

  // Names of the backups this object is running now (for tests and the server's status).
  std::vector<std::string> Running() const;

 private:
  class Run;
  friend class Run;

  StatusOr<Result> StartNew(api::Backup b, const CancellationToken& cancel);
  StatusOr<Result> Resume(api::Backup b, const CancellationToken& cancel);
  // Validation that needs the cluster, plus the spec's own; fills in the defaults.
  // `wait` is set when the location has not been validated yet (no status.phase).
  std::vector<std::string> Prepare(api::Backup& b, bool* wait, const CancellationToken& cancel);
  // The bucket already has the interrupted backup: take its status from velero-backup.json.
  StatusOr<Result> Adopt(api::Backup b, storage::BackupStore& store);
  // Reserves a running slot; false when the backup has to wait.
  bool Reserve(const api::Backup& b);
  void Release(const std::string& name);
  bool IsRunning(const std::string& name) const;
  // `resume`: the backup was interrupted; continue from its checkpoint when there is one.
  StatusOr<Result> Execute(api::Backup b, const CancellationToken& cancel, bool resume = false);

  ServerContext ctx_;
  mutable std::mutex mu_;
  std::map<std::string, api::BackupSpec> running_;  // guarded by mu_
};

}  // namespace lifeboat::controller
