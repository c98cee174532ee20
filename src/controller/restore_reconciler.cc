#include "src/controller/restore_reconciler.h"

#include <atomic>
#include <cstdlib>
#include <thread>
#include <utility>

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/time.h"
#include "lifeboat/api/validation.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/controller/snapshot_locations.h"
#include "lifeboat/kube/object.h"
#include "lifeboat/restore/restorer.h"
#include "src/restore/object_util.h"

namespace lifeboat::controller {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr auto kPollInterval = seconds(1);
constexpr auto kProgressInterval = seconds(1);
constexpr auto kConflictRetry = seconds(1);
constexpr auto kLocationRetry = seconds(5);
constexpr std::string_view kScheduleLabel = "velero.io/schedule-name";

json::value StatusJson(const api::Restore& r) {
  json::value full = api::ToJson(r);
  json::value* st = full.as_object().if_contains("status");
  return st != nullptr ? *st : json::value(json::object());
}

// The status as a whole: fields the new status lacks are removed (a progress or failure reason
// left by an earlier run must not survive).
json::object FinalStatusPatch(const api::Restore& r) {
  json::value st = StatusJson(r);
  json::object& o = st.as_object();
  for (const char* key : {"progress", "failureReason", "validationErrors", "completionTimestamp",
                          "errors", "warnings", "hookStatus"}) {
    if (!o.contains(key)) o[key] = nullptr;
  }
  return json::object{{"status", std::move(st)}};
}

// MergePatch (no resourceVersion) retried a few times on Unavailable / DeadlineExceeded.
Status PatchRetrying(const ServerContext& ctx, const std::string& name, const json::object& patch) {
  Status last;
  auto backoff = milliseconds(200);
  for (int attempt = 0; attempt < 5; ++attempt) {
    last = MergePatch(*ctx.client, kRestores, ctx.options.ns, name, patch).status();
    if (last.ok() || !(absl::IsUnavailable(last) || absl::IsDeadlineExceeded(last))) return last;
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  return last;
}

std::chrono::nanoseconds Duration(const api::RestoreStatus& s) {
  if (!s.start_timestamp || !s.completion_timestamp) return std::chrono::nanoseconds(0);
  auto start = api::ParseRfc3339(*s.start_timestamp);
  auto end = api::ParseRfc3339(*s.completion_timestamp);
  if (!start.ok() || !end.ok() || *end < *start) return std::chrono::nanoseconds(0);
  return *end - *start;
}

// ServerMetrics for a restore's final status (docs/metrics.md).
void RecordFinished(const ServerContext& ctx, const api::Restore& r) {
  const std::string& schedule = r.spec.schedule_name;
  switch (r.status.phase) {
    case api::RestorePhase::kFailedValidation:
      ctx.metrics->RestoreValidationFailed(schedule);
      return;
    case api::RestorePhase::kCompleted:
      ctx.metrics->RestoreFinished(schedule, metrics::RestoreResult::kCompleted, Duration(r.status));
      return;
    case api::RestorePhase::kPartiallyFailed:
      ctx.metrics->RestoreFinished(schedule, metrics::RestoreResult::kPartiallyFailed,
                                   Duration(r.status));
      return;
    default:
      ctx.metrics->RestoreFinished(schedule, metrics::RestoreResult::kFailed, Duration(r.status));
  }
}

// The Completed backup that started last (Velero's mostRecentCompletedBackup); "" when none.
std::string NewestCompleted(const json::array& items) {
  std::string best;
  api::TimePoint best_start{};
  for (const json::value& item : items) {
    auto b = api::BackupFromJson(item);
    if (!b.ok() || b->status.phase != api::BackupPhase::kCompleted) continue;
    api::TimePoint start{};
    if (b->status.start_timestamp) {
      if (auto t = api::ParseRfc3339(*b->status.start_timestamp); t.ok()) start = *t;
    }
    if (best.empty() || start > best_start) {
      best = b->metadata.name;
      best_start = start;
    }
  }
  return best;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// One run of a claimed restore: the Restorer, its progress patches, the cancel watcher and the
// final status.

class RestoreReconciler::Run {
 public:
  Run(const ServerContext& ctx, api::Restore r, const CancellationToken& shutdown, bool resume)
      : ctx_(ctx), r_(std::move(r)), shutdown_(shutdown), resume_(resume),
        run_(CancellationSource::ChildOf(shutdown)) {}

  StatusOr<Result> Go() {
    const std::string& ns = ctx_.options.ns;
    if (r_.spec.backup_name.empty()) return Fail("the restore names no backup (spec.backupName)");
    auto got = GetIfExists(*ctx_.client, kBackups, ns, r_.spec.backup_name, shutdown_);
    if (shutdown_.IsCancelled()) return Result{};
    if (!got.ok()) return got.status();  // retried; stays InProgress
    if (!got->has_value()) return Fail("backup " + r_.spec.backup_name + " no longer exists");
    auto backup = api::BackupFromJson(**got);
    if (!backup.ok()) return Fail("backup " + r_.spec.backup_name + " cannot be read: " +
                                  std::string(backup.status().message()));
    auto loc = ctx_.stores->Get(backup->spec.storage_location, shutdown_);
    if (!loc.ok()) {
      if (shutdown_.IsCancelled()) return Result{};
      if (!absl::IsNotFound(loc.status())) return loc.status();
      return Fail("error getting backup storage location: " + std::string(loc.status().message()));
    }
    restore::RestorerDeps deps;
    deps.client = ctx_.client;
    deps.discovery = ctx_.discovery;
    deps.exec = ctx_.exec;
    deps.store = loc->store.get();
    deps.clock = ctx_.clock;
    deps.snapshotters = ctx_.snapshotters;
    // Every location, so a snapshot record's location is found by name (a listing failure is
    // retried: the restore stays InProgress).
    auto vsls = AllSnapshotLocations(ctx_, shutdown_);
    if (shutdown_.IsCancelled()) return Result{};
    if (!vsls.ok()) return vsls.status();
    for (auto& l : *vsls) {
      deps.snapshot_locations.push_back({l.name, l.provider, std::move(l.config)});
    }
    restore::RestorerOptions options;
    options.temp_dir = ctx_.options.temp_dir;
    options.velero_namespace = ns;
    options.server_version = ctx_.options.server_version;
    options.resume = resume_;
    restore::Restorer restorer(std::move(deps), options);

    // The stored spec names both the backup and its schedule (as Velero writes it); the engine's
    // validation wants one, and fills the schedule in again from the backup's label.
    api::Restore engine_input = r_;
    engine_input.spec.schedule_name.clear();
    std::thread watcher([this] { Watch(); });
    api::Restore result = restorer.Run(
        std::move(engine_input), *backup, [this](const api::Restore& r) { Progress(r); },
        run_.token());
    stop_watch_.Cancel();
    watcher.join();
    {
      std::lock_guard<std::mutex> lock(progress_mu_);
      final_ = true;
    }
    return Conclude(std::move(result));
  }

 private:
  enum { kNone = 0, kAnnotation = 1, kDeleted = 2 };

  StatusOr<Result> Conclude(api::Restore result) {
    const int why = why_.load();
    if (why == kNone && shutdown_.IsCancelled()) {
      LB_LOG_INFO("restore {}/{}: stopped by server shutdown; left InProgress for the next leader",
                  ctx_.options.ns, r_.metadata.name);
      return Result{};
    }
    if (why != kNone && result.status.phase == api::RestorePhase::kFailed) {
      result.status.failure_reason =
          why == kDeleted ? "the restore was cancelled: the Restore object is being deleted"
                          : "the restore was cancelled (annotation " +
                                std::string(kCancelAnnotation) + "=\"true\")";
    }
    result.spec = r_.spec;
    result.status.start_timestamp = r_.status.start_timestamp;
    if (!result.status.completion_timestamp) {
      result.status.completion_timestamp = api::FormatRfc3339(ctx_.clock->Now());
    }
    return Finish(result);
  }

  StatusOr<Result> Fail(const std::string& reason) {
    api::Restore failed = r_;
    failed.status.phase = api::RestorePhase::kFailed;
    failed.status.failure_reason = reason;
    failed.status.completion_timestamp = api::FormatRfc3339(ctx_.clock->Now());
    return Finish(failed);
  }

  StatusOr<Result> Finish(const api::Restore& result) {
    Status s = PatchRetrying(ctx_, result.metadata.name, FinalStatusPatch(result));
    if (absl::IsNotFound(s)) {
      LB_LOG_INFO("restore {}/{}: the Restore object is gone; run stopped", ctx_.options.ns,
                  result.metadata.name);
      return Result{};
    }
    if (!s.ok()) {
      // Retried: found InProgress with no runner, it is resumed (everything already restored
      // counts as such).
      return Annotate(s, "updating restore " + result.metadata.name + "'s final status");
    }
    RecordFinished(ctx_, result);
    LB_LOG_INFO("restore {}/{}: {}{}", ctx_.options.ns, result.metadata.name,
                api::ToString(result.status.phase),
                result.status.failure_reason.empty() ? "" : " (" + result.status.failure_reason + ")");
    return Result{};
  }

  // Polls the object: the cancel annotation or its deletion stops the run.
  void Watch() {
    const CancellationToken stop = stop_watch_.token();
    while (!stop.WaitFor(kPollInterval)) {
      auto got = GetIfExists(*ctx_.client, kRestores, ctx_.options.ns, r_.metadata.name, stop);
      if (!got.ok()) continue;  // transient; look again
      const bool gone = !got->has_value() || kube::ObjectUid(**got) != r_.metadata.uid ||
                        JsonFind(**got, {"metadata", "deletionTimestamp"}) != nullptr;
      if (gone) {
        why_ = kDeleted;
        run_.Cancel("the Restore object is being deleted");
        return;
      }
      if (Annotation(**got, kCancelAnnotation) == "true") {
        why_ = kAnnotation;
        run_.Cancel("restore cancelled by annotation " + std::string(kCancelAnnotation));
        return;
      }
    }
  }

  // Only status.progress, at most once a second, never after the run ended: the phase is
  // written once, by Finish.
  void Progress(const api::Restore& r) {
    if (!r.status.progress || r.status.phase != api::RestorePhase::kInProgress) return;
    std::lock_guard<std::mutex> lock(progress_mu_);
    if (final_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ < kProgressInterval) return;
    last_progress_ = now;
    json::value st = StatusJson(r);
    const json::value* progress = st.as_object().if_contains("progress");
    if (progress == nullptr) return;
    auto patched = PatchStatus(*ctx_.client, kRestores, ctx_.options.ns, r_.metadata.name,
                               json::object{{"progress", *progress}}, "", shutdown_);
    if (!patched.ok()) {
      LB_LOG_DEBUG("restore {}: progress patch failed: {}", r_.metadata.name,
                   patched.status().ToString());
    }
  }

  const ServerContext& ctx_;
  api::Restore r_;
  CancellationToken shutdown_;
  bool resume_;
  CancellationSource run_;
  CancellationSource stop_watch_;
  std::atomic<int> why_{kNone};
  std::mutex progress_mu_;
  bool final_ = false;  // guarded by progress_mu_
  std::chrono::steady_clock::time_point last_progress_{};
};

// ---------------------------------------------------------------------------------------------

RestoreReconciler::RestoreReconciler(const ServerContext& ctx) : ctx_(ctx) {}
RestoreReconciler::~RestoreReconciler() = default;

std::vector<std::string> RestoreReconciler::Running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::vector<std::string>(running_.begin(), running_.end());
}

bool RestoreReconciler::Reserve(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return running_.insert(name).second;
}

void RestoreReconciler::Release(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase(name);
}

StatusOr<Result> RestoreReconciler::Reconcile(const std::string& name,
                                              const CancellationToken& cancel) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto got,
                            GetIfExists(*ctx_.client, kRestores, ctx_.options.ns, name, cancel));
  if (!got || cancel.IsCancelled()) return Result{};
  if (JsonFind(*got, {"metadata", "deletionTimestamp"}) != nullptr) return Result{};
  auto r = api::RestoreFromJson(*got);
  if (!r.ok()) {
    LB_LOG_ERROR("restore {}/{} cannot be read: {}", ctx_.options.ns, name, r.status().ToString());
    return Result{};
  }
  const bool cancel_asked = Annotation(*got, kCancelAnnotation) == "true";
  switch (r->status.phase) {
    case api::RestorePhase::kUnset:
    case api::RestorePhase::kNew:
      if (cancel_asked) {
        return FailUnstarted(std::move(*r), "the restore was cancelled before it started",
                             /*attempted=*/false);
      }
      return StartNew(std::move(*r), cancel);
    case api::RestorePhase::kInProgress: {
      std::lock_guard<std::mutex> lock(mu_);
      if (running_.count(name) > 0) return Result{};
    }
      if (cancel_asked) {
        return FailUnstarted(std::move(*r),
                             "the restore was cancelled (annotation " +
                                 std::string(kCancelAnnotation) +
                                 "=\"true\") while it was interrupted",
                             /*attempted=*/true);
      }
      return Resume(std::move(*r), cancel);
    default:
      return Result{};
  }
}

std::vector<std::string> RestoreReconciler::Validate(api::Restore& r, api::Backup* backup,
                                                     bool* wait, const CancellationToken& cancel) {
  const std::string& ns = ctx_.options.ns;
  std::vector<std::string> problems = api::ValidateRestoreSpec(r.spec);
  if (r.spec.backup_name.empty() == r.spec.schedule_name.empty()) return problems;
  if (!r.spec.schedule_name.empty()) {
    kube::ListOptions list;
    list.label_selector =
        std::string(kScheduleLabel) + "=" + restore::LabelSafe(r.spec.schedule_name);
    list.cancel = cancel;
    auto page = ctx_.client->List(kBackups, ns, list);
    if (!page.ok()) {
      problems.push_back("Unable to list backups for schedule");
      return problems;
    }
    if (page->items.empty()) problems.push_back("No backups found for schedule");
    const std::string newest = NewestCompleted(page->items);
    if (newest.empty()) {
      problems.push_back("No completed backups found for schedule");
      return problems;
    }
    r.spec.backup_name = newest;
  }
  auto got = GetIfExists(*ctx_.client, kBackups, ns, r.spec.backup_name, cancel);
  if (!got.ok() || !got->has_value()) {
    problems.push_back("Error retrieving backup: can't find backup " + ns + "/" +
                       r.spec.backup_name + ": " +
                       (got.ok() ? "backups.velero.io \"" + r.spec.backup_name + "\" not found"
                                 : std::string(got.status().message())));
    return problems;
  }
  auto b = api::BackupFromJson(**got);
  if (!b.ok()) {
    problems.push_back("Error retrieving backup: " + std::string(b.status().message()));
    return problems;
  }
  if (r.spec.schedule_name.empty()) {
    if (auto it = b->metadata.labels.find(std::string(kScheduleLabel));
        it != b->metadata.labels.end()) {
      r.spec.schedule_name = it->second;
    }
  }
  if (b->status.phase != api::BackupPhase::kCompleted &&
      b->status.phase != api::BackupPhase::kPartiallyFailed) {
    problems.push_back("backup " + b->metadata.name + " is in phase " +
                       std::string(api::ToString(b->status.phase)) +
                       "; only Completed and PartiallyFailed backups can be restored");
  }
  auto loc = ctx_.stores->Get(b->spec.storage_location, cancel);
  if (!loc.ok()) {
    problems.push_back("Error retrieving backup: " + std::string(loc.status().message()));
  } else if (loc->bsl.status.phase == api::BackupStorageLocationPhase::kUnavailable) {
    problems.push_back("The BSL " + b->spec.storage_location +
                       " is unavailable, cannot retrieve the backup");
  } else if (loc->bsl.status.phase == api::BackupStorageLocationPhase::kUnset) {
    *wait = true;
  }
  *backup = std::move(*b);
  return problems;
}

StatusOr<Result> RestoreReconciler::StartNew(api::Restore r, const CancellationToken& cancel) {
  const std::string name = r.metadata.name;
  const std::string rv = r.metadata.resource_version;
  const api::RestoreSpec asked = r.spec;
  api::Backup backup;
  bool wait = false;
  std::vector<std::string> problems = Validate(r, &backup, &wait, cancel);
  if (cancel.IsCancelled()) return Result{};
  if (wait && problems.empty()) {
    LB_LOG_INFO("restore {}/{} waits: location {} has not been validated yet", ctx_.options.ns,
                name, backup.spec.storage_location);
    return Result{kLocationRetry};
  }
  // Velero writes the backup a schedule's restore takes, and the schedule of the backup.
  json::object spec;
  if (r.spec.backup_name != asked.backup_name) spec["backupName"] = r.spec.backup_name;
  if (r.spec.schedule_name != asked.schedule_name) spec["scheduleName"] = r.spec.schedule_name;
  json::object patch;
  if (!spec.empty()) patch["spec"] = std::move(spec);
  const std::string& schedule = r.spec.schedule_name;
  if (!problems.empty()) {
    json::array errors;
    for (const auto& p : problems) errors.emplace_back(json::string(p));
    patch["status"] = json::object{{"phase", "FailedValidation"}, {"validationErrors", errors}};
    auto patched = MergePatch(*ctx_.client, kRestores, ctx_.options.ns, name, patch, rv, cancel);
    if (absl::IsAborted(patched.status())) return Result{kConflictRetry};
    if (absl::IsNotFound(patched.status())) return Result{};
    if (!patched.ok()) return patched.status();
    ctx_.metrics->RestoreValidationFailed(schedule);
    LB_LOG_INFO("restore {}/{}: FailedValidation ({} problem(s))", ctx_.options.ns, name,
                problems.size());
    return Result{};
  }
  if (!Reserve(name)) return Result{};
  patch["status"] = json::object{{"phase", "InProgress"},
                                 {"startTimestamp", api::FormatRfc3339(ctx_.clock->Now())}};
  auto claimed = MergePatch(*ctx_.client, kRestores, ctx_.options.ns, name, patch, rv, cancel);
  auto fresh = claimed.ok() ? api::RestoreFromJson(*claimed) : StatusOr<api::Restore>(claimed.status());
  if (!fresh.ok()) {
    Release(name);
    // A conflict: someone else changed (or claimed) it; look again at what it is now.
    if (absl::IsAborted(fresh.status())) return Result{kConflictRetry};
    if (absl::IsNotFound(fresh.status())) return Result{};
    return fresh.status();
  }
  ctx_.metrics->RestoreAttempted(schedule);
  LB_LOG_INFO("restore {}/{}: started (backup {})", ctx_.options.ns, name, r.spec.backup_name);
  return Execute(std::move(*fresh), cancel, /*resume=*/false);
}

StatusOr<Result> RestoreReconciler::Resume(api::Restore r, const CancellationToken& cancel) {
  const std::string name = r.metadata.name;
  if (!Reserve(name)) return Result{};
  int attempt = 1;
  if (auto it = r.metadata.annotations.find(std::string(kResumedAnnotation));
      it != r.metadata.annotations.end()) {
    attempt = std::atoi(it->second.c_str()) + 1;
  }
  json::object patch{{"metadata", json::object{{"annotations",
                                                json::object{{std::string(kResumedAnnotation),
                                                              std::to_string(attempt)}}}}}};
  if (!r.status.start_timestamp) {
    patch["status"] = json::object{{"startTimestamp", api::FormatRfc3339(ctx_.clock->Now())}};
  }
  auto claimed = MergePatch(*ctx_.client, kRestores, ctx_.options.ns, name, patch,
                            r.metadata.resource_version, cancel);
  auto fresh = claimed.ok() ? api::RestoreFromJson(*claimed) : StatusOr<api::Restore>(claimed.status());
  if (!fresh.ok()) {
    Release(name);
    if (absl::IsAborted(fresh.status())) return Result{kConflictRetry};
    if (absl::IsNotFound(fresh.status())) return Result{};
    return fresh.status();
  }
  ctx_.metrics->RestoreAttempted(fresh->spec.schedule_name);
  LB_LOG_WARN("restore {}/{} was InProgress with no server running it (interrupted); resuming it "
              "(resumed {} time(s)): what it already restored is recognised by its "
              "velero.io/restore-name label",
              ctx_.options.ns, name, attempt);
  return Execute(std::move(*fresh), cancel, /*resume=*/true);
}

StatusOr<Result> RestoreReconciler::Execute(api::Restore r, const CancellationToken& cancel,
                                            bool resume) {
  const std::string name = r.metadata.name;
  auto result = Run(ctx_, std::move(r), cancel, resume).Go();
  Release(name);
  return result;
}

StatusOr<Result> RestoreReconciler::FailUnstarted(api::Restore r, const std::string& reason,
                                                  bool attempted) {
  r.status.phase = api::RestorePhase::kFailed;
  r.status.failure_reason = reason;
  r.status.completion_timestamp = api::FormatRfc3339(ctx_.clock->Now());
  Status s = PatchRetrying(ctx_, r.metadata.name, FinalStatusPatch(r));
  if (absl::IsNotFound(s)) return Result{};
  LIFEBOAT_RETURN_IF_ERROR(s);
  if (attempted) RecordFinished(ctx_, r);
  LB_LOG_INFO("restore {}/{}: Failed ({})", ctx_.options.ns, r.metadata.name, reason);
  return Result{};
}

}  // namespace lifeboat::controller
