#include "src/controller/backup_reconciler.h"

#include <fnmatch.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <utility>

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/time.h"
#include "lifeboat/api/volume_snapshot_location.h"
#include "lifeboat/api/validation.h"
#include "lifeboat/backup/backupper.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/controller/snapshot_locations.h"
#include "lifeboat/kube/object.h"
#include "src/backup/actions/builtin_actions.h"

namespace lifeboat::controller {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr auto kPollInterval = seconds(1);
constexpr auto kProgressInterval = seconds(1);
constexpr auto kConflictRetry = seconds(1);

bool IsPattern(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// Every namespace, or a pattern that may match any of them.
bool Wild(const api::BackupSpec& s) {
  if (s.included_namespaces.empty()) return true;
  for (const auto& i : s.included_namespaces) {
    if (IsPattern(i)) return true;
  }
  return false;
}

bool MatchesAny(const std::vector<std::string>& patterns, const std::string& ns) {
  for (const auto& p : patterns) {
    if (p == ns || ::fnmatch(p.c_str(), ns.c_str(), 0) == 0) return true;
  }
  return false;
}

bool Covers(const api::BackupSpec& s, const std::string& ns) {
  const bool included = s.included_namespaces.empty() || MatchesAny(s.included_namespaces, ns);
  return included && !MatchesAny(s.excluded_namespaces, ns);
}

// `named` lists its namespaces by name: does `other` also take one of them (that `named` keeps)?
bool NamedOverlap(const api::BackupSpec& named, const api::BackupSpec& other) {
  for (const auto& ns : named.included_namespaces) {
    if (Covers(named, ns) && Covers(other, ns)) return true;
  }
  return false;
}

bool AllNamespaces(const api::BackupSpec& s) {
  return s.included_namespaces.empty() ||
         (s.included_namespaces.size() == 1 && s.included_namespaces[0] == "*");
}

// Takes cluster-scoped resources (other than those related to its namespaced items).
bool ClusterScoped(const api::BackupSpec& s) {
  if (!s.included_cluster_scoped_resources.empty()) return true;
  if (s.include_cluster_resources.has_value()) return *s.include_cluster_resources;
  return AllNamespaces(s);
}

bool Terminal(api::BackupPhase p) {
  return p == api::BackupPhase::kCompleted || p == api::BackupPhase::kPartiallyFailed ||
         p == api::BackupPhase::kFailed || p == api::BackupPhase::kFailedValidation;
}

json::value StatusJson(const api::Backup& b) {
  json::value full = api::ToJson(b);
  json::value* st = full.as_object().if_contains("status");
  return st != nullptr ? *st : json::value(json::object());
}

// The status as a whole: fields the new status lacks are removed (a progress or failure reason
// left by an earlier patch must not survive).
json::object FinalStatusPatch(const api::Backup& b) {
  json::value st = StatusJson(b);
  json::object& o = st.as_object();
  for (const char* key : {"progress", "failureReason", "validationErrors", "completionTimestamp",
                          "errors", "warnings", "hookStatus"}) {
    if (!o.contains(key)) o[key] = nullptr;
  }
  json::object patch;
  patch["status"] = std::move(st);
  return patch;
}

}  // namespace

bool MayOverlap(const api::BackupSpec& a, const api::BackupSpec& b) {
  if (ClusterScoped(a) && ClusterScoped(b)) return true;
  if (!Wild(a)) return NamedOverlap(a, b);
  if (!Wild(b)) return NamedOverlap(b, a);
  return true;  // two patterns: assume they may meet
}

std::string LabelSafe(std::string_view value) {
  if (value.size() <= 63) return std::string(value);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(value.data(), value.size(), md.data(), &len, EVP_sha256(), nullptr);
  char hex[7];
  std::snprintf(hex, sizeof(hex), "%02x%02x%02x", md[0], md[1], md[2]);
  return std::string(value.substr(0, 57)) + hex;
}

std::string ScheduleOf(const std::map<std::string, std::string>& labels) {
  auto it = labels.find("velero.io/schedule-name");
  return it == labels.end() ? "" : it->second;
}

Status PatchWithRetry(kube::DynamicClient& client, const kube::GroupVersionResource& gvr,
                      const std::string& ns, const std::string& name, const json::object& patch) {
  Status last;
  auto backoff = milliseconds(200);
  for (int attempt = 0; attempt < 5; ++attempt) {
    last = MergePatch(client, gvr, ns, name, patch).status();
    if (last.ok() || !(absl::IsUnavailable(last) || absl::IsDeadlineExceeded(last))) return last;
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  return last;
}

void RecordFinished(const ServerContext& ctx, const api::Backup& b,
                    const backup::BackupRunStats* stats) {
  const std::string schedule = ScheduleOf(b.metadata.labels);
  if (b.status.phase == api::BackupPhase::kFailedValidation) {
    ctx.metrics->BackupValidationFailed(schedule);
    return;
  }
  metrics::BackupStats s;
  s.schedule = schedule;
  s.backup_name = b.metadata.name;
  s.storage_location = b.spec.storage_location;
  s.result = b.status.phase == api::BackupPhase::kCompleted ? metrics::BackupResult::kCompleted
             : b.status.phase == api::BackupPhase::kPartiallyFailed
                 ? metrics::BackupResult::kPartiallyFailed
                 : metrics::BackupResult::kFailed;
  if (b.status.start_timestamp && b.status.completion_timestamp) {
    auto start = api::ParseRfc3339(*b.status.start_timestamp);
    auto end = api::ParseRfc3339(*b.status.completion_timestamp);
    if (start.ok() && end.ok() && *end >= *start) s.duration = *end - *start;
  }
  if (b.status.progress) s.items_total = b.status.progress->total_items;
  s.errors = b.status.errors;
  s.warnings = b.status.warnings;
  s.volume_snapshots_attempted = b.status.volume_snapshots_attempted;
  s.volume_snapshots_completed = b.status.volume_snapshots_completed;
  s.csi_snapshots_attempted = b.status.csi_volume_snapshots_attempted;
  s.csi_snapshots_completed = b.status.csi_volume_snapshots_completed;
  if (stats != nullptr) {
    s.tarball_bytes = stats->tarball_bytes;
    s.bytes_written = stats->bytes_uploaded;
  }
  ctx.metrics->BackupFinished(s);
}

// ---------------------------------------------------------------------------------------------
// One run of a claimed backup: the Backupper, its progress patches, the cancel watcher and the
// final status.

class BackupReconciler::Run {
 public:
  Run(BackupReconciler& owner, api::Backup b, const CancellationToken& shutdown, bool resume)
      : r_(owner),
        b_(std::move(b)),
        resume_(resume),
        shutdown_(shutdown),
        run_(CancellationSource::ChildOf(shutdown)) {}

  StatusOr<Result> Go() {
    const ServerContext& ctx = r_.ctx_;
    auto loc = ctx.stores->Get(b_.spec.storage_location, shutdown_);
    if (!loc.ok()) {
      if (shutdown_.IsCancelled()) return Result{};
      if (!absl::IsNotFound(loc.status())) return loc.status();  // retried; stays InProgress
      api::Backup failed = b_;
      failed.status.phase = api::BackupPhase::kFailed;
      failed.status.failure_reason =
          "error getting backup storage location: " + std::string(loc.status().message());
      failed.status.completion_timestamp = api::FormatRfc3339(ctx.clock->Now());
      return Finish(failed);
    }
    backup::BackupperDeps deps;
    deps.client = ctx.client;
    deps.discovery = ctx.discovery;
    deps.exec = ctx.exec;
    deps.store = loc->store.get();
    deps.actions = backup::BuiltinBackupItemActions(ctx.client);
    deps.clock = ctx.clock;
    deps.snapshotters = ctx.snapshotters;
    // The locations the backup chose when it started (a missing one, or one whose credential
    // cannot be read, leaves its volumes without native snapshots, with an error in the log).
    for (const auto& name : b_.spec.volume_snapshot_locations) {
      auto got = GetIfExists(*ctx.client, kVolumeSnapshotLocations, ctx.options.ns, name, shutdown_);
      StatusOr<ResolvedSnapshotLocation> loc_or = absl::NotFoundError(
          "volume snapshot location " + ctx.options.ns + "/" + name + " not found");
      if (!got.ok()) {
        loc_or = got.status();
      } else if (got->has_value()) {
        auto vsl = api::VolumeSnapshotLocationFromJson(**got);
        loc_or = vsl.ok() ? ResolveSnapshotLocation(ctx, *vsl, shutdown_)
                          : StatusOr<ResolvedSnapshotLocation>(vsl.status());
      }
      if (!loc_or.ok()) {
        LB_LOG_ERROR("backup {}/{}: {}", ctx.options.ns, b_.metadata.name,
                     std::string(loc_or.status().message()));
        continue;
      }
      deps.snapshot_locations.push_back({loc_or->name, loc_or->provider, loc_or->config});
    }
    backup::BackupperOptions options;
    options.temp_dir = ctx.options.temp_dir;
    options.page_size = ctx.options.client_page_size;
    options.page_bytes = ctx.options.client_page_bytes;
    options.items_as_served = ctx.options.backup_items_as_served;
    options.server_version = ctx.options.server_version;
    // Crash safety: a shutdown keeps the journal for the next run on this machine; a user's
    // cancel or deletion discards it below.
    options.journal_dir = BackupJournalDir(ctx.options);
    options.checkpoint_interval = ctx.options.backup_checkpoint_interval;
    options.keep_journal_on_cancel = true;
    backup::Backupper backupper(std::move(deps), options);

    std::thread watcher([this] { Watch(); });
    api::Backup result = backupper.Run(
        b_, [this](const api::Backup& b) { Progress(b); }, run_.token(), &stats_, resume_);
    stop_watch_.Cancel();
    watcher.join();
    {
      std::lock_guard<std::mutex> lock(progress_mu_);
      final_ = true;
    }
    const int why = why_.load();
    const bool finished_anyway = result.status.phase == api::BackupPhase::kCompleted ||
                                 result.status.phase == api::BackupPhase::kPartiallyFailed;
    if (why == kNone && shutdown_.IsCancelled() && !finished_anyway) {
      LB_LOG_INFO("backup {}/{}: stopped by server shutdown; left InProgress for the next leader",
                  b_.metadata.namespace_, b_.metadata.name);
      return Result{};
    }
    if (why != kNone) backup::DiscardBackupJournal(options.journal_dir, b_.metadata.uid);
    if (why == kDeleted) {
      LB_LOG_INFO("backup {}/{}: the Backup object was deleted; run stopped",
                  b_.metadata.namespace_, b_.metadata.name);
      return Result{};
    }
    if (why == kAnnotation && result.status.phase == api::BackupPhase::kFailed) {
      result.status.failure_reason =
          "backup cancelled (annotation " + std::string(kCancelAnnotation) + "=\"true\")";
    }
    return Finish(result);
  }

 private:
  enum { kNone = 0, kAnnotation = 1, kDeleted = 2 };
  backup::BackupRunStats stats_;

  // Polls the object: the cancel annotation or its deletion stops the run.
  void Watch() {
    const ServerContext& ctx = r_.ctx_;
    const CancellationToken stop = stop_watch_.token();
    while (!stop.WaitFor(kPollInterval)) {
      auto got = GetIfExists(*ctx.client, kBackups, ctx.options.ns, b_.metadata.name, stop);
      if (!got.ok()) continue;  // transient; look again
      const bool gone = !got->has_value() || kube::ObjectUid(**got) != b_.metadata.uid ||
                        JsonFind(**got, {"metadata", "deletionTimestamp"}) != nullptr;
      if (gone) {
        why_ = kDeleted;
        run_.Cancel("the Backup object was deleted");
        return;
      }
      if (Annotation(**got, kCancelAnnotation) == "true") {
        why_ = kAnnotation;
        run_.Cancel("backup cancelled by annotation " + std::string(kCancelAnnotation));
        return;
      }
    }
  }

  // At most one patch a second (plus one per phase change), never after the final one.
  void Progress(const api::Backup& b) {
    std::lock_guard<std::mutex> lock(progress_mu_);
    if (final_) return;
    const auto now = std::chrono::steady_clock::now();
    const std::string phase(api::ToString(b.status.phase));
    if (phase == last_phase_ && now - last_progress_ < kProgressInterval) return;
    last_progress_ = now;
    last_phase_ = phase;
    const ServerContext& ctx = r_.ctx_;
    auto r = PatchStatus(*ctx.client, kBackups, ctx.options.ns, b.metadata.name, StatusJson(b), "",
                         shutdown_);
    if (!r.ok()) {
      LB_LOG_DEBUG("backup {}: progress patch failed: {}", b.metadata.name, r.status().ToString());
    }
  }

  StatusOr<Result> Finish(const api::Backup& result) {
    const ServerContext& ctx = r_.ctx_;
    Status s = PatchWithRetry(*ctx.client, kBackups, ctx.options.ns, result.metadata.name,
                              FinalStatusPatch(result));
    if (absl::IsNotFound(s)) return Result{};
    if (!s.ok()) {
      // Retried: the backup is found InProgress with no runner and adopted from the bucket (or
      // run again when nothing was uploaded).
      return Annotate(s, "updating backup " + result.metadata.name + "'s final status");
    }
    RecordFinished(ctx, result, &stats_);
    LB_LOG_INFO(
        "backup {}/{}: {}{}", result.metadata.namespace_, result.metadata.name,
        api::ToString(result.status.phase),
        result.status.failure_reason.empty() ? "" : " (" + result.status.failure_reason + ")");
    return Result{};
  }

  BackupReconciler& r_;
  api::Backup b_;
  bool resume_;
  CancellationToken shutdown_;
  CancellationSource run_;
  CancellationSource stop_watch_;
  std::atomic<int> why_{kNone};
  std::mutex progress_mu_;
  bool final_ = false;  // guarded by progress_mu_
  std::chrono::steady_clock::time_point last_progress_{};
  std::string last_phase_;
};

// ---------------------------------------------------------------------------------------------

BackupReconciler::BackupReconciler(const ServerContext& ctx) : ctx_(ctx) {}
BackupReconciler::~BackupReconciler() = default;

std::vector<std::string> BackupReconciler::Running() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, spec] : running_) out.push_back(name);
  return out;
}

StatusOr<Result> BackupReconciler::Reconcile(const std::string& name,
                                             const CancellationToken& cancel) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto got,
                            GetIfExists(*ctx_.client, kBackups, ctx_.options.ns, name, cancel));
  if (!got || cancel.IsCancelled()) return Result{};
  auto b = api::BackupFromJson(*got);
  if (!b.ok()) {
    LB_LOG_ERROR("backup {}/{} cannot be read: {}", ctx_.options.ns, name, b.status().ToString());
    return Result{};
  }
  if (JsonFind(*got, {"metadata", "deletionTimestamp"}) != nullptr) return Result{};
  switch (b->status.phase) {
    case api::BackupPhase::kUnset:
    case api::BackupPhase::kNew:
    case api::BackupPhase::kQueued:
    case api::BackupPhase::kReadyToStart:
      return StartNew(std::move(*b), cancel);
    case api::BackupPhase::kInProgress:
      if (IsRunning(name)) return Result{};
      return Resume(std::move(*b), cancel);
    default:
      return Result{};
  }
}

std::vector<std::string> BackupReconciler::Prepare(api::Backup& b, bool* wait,
                                                   const CancellationToken& cancel) {
  std::vector<std::string> problems;
  bool server_default = false;
  if (b.spec.storage_location.empty()) {
    auto marked = ctx_.stores->DefaultLocationName(cancel);
    b.spec.storage_location = marked.ok() ? *marked : ctx_.options.default_backup_storage_location;
    server_default = true;
  }
  const std::string& loc = b.spec.storage_location;
  auto got = GetIfExists(*ctx_.client, kBackupStorageLocations, ctx_.options.ns, loc, cancel);
  if (!got.ok()) {
    problems.push_back("error getting backup storage location: " +
                       std::string(got.status().message()));
  } else if (!got->has_value()) {
    const std::string err = "backupstoragelocations.velero.io \"" + loc + "\" not found";
    problems.push_back(
        server_default
            ? "an existing backup storage location wasn't specified at backup creation time and "
              "the server default '" +
                  loc +
                  "' doesn't exist. Please address this issue (see "
                  "`velero backup-location -h` for options) and create a new backup. Error: " +
                  err
            : "an existing backup storage location wasn't specified at backup creation time and "
              "the default '" +
                  loc +
                  "' wasn't found. Please address this issue (see "
                  "`velero backup-location -h` for options) and create a new backup. Error: " +
                  err);
  } else if (auto bsl = api::BackupStorageLocationFromJson(**got); !bsl.ok()) {
    problems.push_back("error getting backup storage location: " +
                       std::string(bsl.status().message()));
  } else {
    if (bsl->spec.access_mode == api::AccessMode::kReadOnly) {
      problems.push_back("backup can't be created because backup storage location " + loc +
                         " is currently in read-only mode");
    }
    if (bsl->status.phase == api::BackupStorageLocationPhase::kUnset) *wait = true;
    if (bsl->status.phase == api::BackupStorageLocationPhase::kUnavailable) {
      problems.push_back("backup can't be created because BackupStorageLocation " + loc +
                         " is in Unavailable status.");
    }
  }
  if (b.spec.ttl.count() == 0) b.spec.ttl = ctx_.options.default_backup_ttl;
  // Velero's defaults, written back so describe shows what the backup used.
  if (b.spec.csi_snapshot_timeout.count() == 0) b.spec.csi_snapshot_timeout = std::chrono::minutes(10);
  if (b.spec.item_operation_timeout.count() == 0) b.spec.item_operation_timeout = std::chrono::hours(4);
  b.metadata.labels["velero.io/storage-location"] = LabelSafe(loc);
  for (auto& p : api::ValidateBackupSpec(b.spec)) problems.push_back(std::move(p));
  // Velero's choice of volume snapshot locations, recorded in the spec when the backup starts.
  auto vsls = ChooseBackupSnapshotLocations(ctx_, b.spec, cancel);
  if (!vsls.ok()) {
    problems.push_back("error listing volume snapshot locations: " +
                       std::string(vsls.status().message()));
  } else {
    for (auto& p : vsls->errors) problems.push_back(std::move(p));
    b.spec.volume_snapshot_locations = vsls->names;
  }
  return problems;
}

bool BackupReconciler::Reserve(const api::Backup& b) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_.count(b.metadata.name) > 0) return false;
  const int limit = std::max(1, ctx_.options.concurrent_backups);
  if (static_cast<int>(running_.size()) >= limit) return false;
  for (const auto& [other, spec] : running_) {
    if (MayOverlap(b.spec, spec)) {
      LB_LOG_INFO("backup {} waits: its namespaces may overlap those of running backup {}",
                  b.metadata.name, other);
      return false;
    }
  }
  running_[b.metadata.name] = b.spec;
  return true;
}

bool BackupReconciler::IsRunning(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_.count(name) > 0;
}

void BackupReconciler::Release(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase(name);
}

StatusOr<Result> BackupReconciler::StartNew(api::Backup b, const CancellationToken& cancel) {
  const std::string rv = b.metadata.resource_version;
  // A location not validated yet (no phase) is waited for rather than failed.
  bool wait = false;
  std::vector<std::string> problems = Prepare(b, &wait, cancel);
  if (cancel.IsCancelled()) return Result{};
  if (wait && problems.empty()) {
    LB_LOG_INFO("backup {}/{} waits: location {} has not been validated yet", ctx_.options.ns,
                b.metadata.name, b.spec.storage_location);
    return Result{kOverlapRetry};
  }
  json::object patch;
  patch["metadata"] =
      json::object{{"labels", json::object{{"velero.io/storage-location",
                                            b.metadata.labels["velero.io/storage-location"]}}}};
  json::array vsl_names;
  for (const auto& n : b.spec.volume_snapshot_locations) vsl_names.emplace_back(n);
  patch["spec"] = json::object{{"storageLocation", b.spec.storage_location},
                               {"ttl", api::FormatGoDuration(b.spec.ttl)},
                               {"csiSnapshotTimeout", api::FormatGoDuration(b.spec.csi_snapshot_timeout)},
                               {"itemOperationTimeout",
                                api::FormatGoDuration(b.spec.item_operation_timeout)},
                               {"volumeSnapshotLocations", std::move(vsl_names)}};
  const std::string schedule = ScheduleOf(b.metadata.labels);
  if (!problems.empty()) {
    json::array errors;
    for (const auto& p : problems) errors.emplace_back(p);
    patch["status"] = json::object{{"phase", "FailedValidation"}, {"validationErrors", errors}};
    auto r =
        MergePatch(*ctx_.client, kBackups, ctx_.options.ns, b.metadata.name, patch, rv, cancel);
    if (absl::IsAborted(r.status())) return Result{kConflictRetry};
    if (!r.ok()) return r.status();
    ctx_.metrics->BackupValidationFailed(schedule);
    LB_LOG_INFO("backup {}/{}: FailedValidation ({} problems)", ctx_.options.ns, b.metadata.name,
                problems.size());
    return Result{};
  }
  if (!Reserve(b)) return Result{kOverlapRetry};
  const auto now = ctx_.clock->Now();
  patch["status"] = json::object{
      {"phase", "InProgress"},
      {"startTimestamp", api::FormatRfc3339(now)},
      {"expiration", api::FormatRfc3339(now + std::chrono::duration_cast<seconds>(b.spec.ttl))}};
  auto claimed =
      MergePatch(*ctx_.client, kBackups, ctx_.options.ns, b.metadata.name, patch, rv, cancel);
  if (!claimed.ok()) {
    Release(b.metadata.name);
    // A conflict: someone else changed (or claimed) it; look again at what it is now.
    if (absl::IsAborted(claimed.status())) return Result{kConflictRetry};
    if (absl::IsNotFound(claimed.status())) return Result{};
    return claimed.status();
  }
  auto fresh = api::BackupFromJson(*claimed);
  if (!fresh.ok()) {
    Release(b.metadata.name);
    return fresh.status();
  }
  ctx_.metrics->BackupAttempted(schedule);
  LB_LOG_INFO("backup {}/{}: started", ctx_.options.ns, b.metadata.name);
  return Execute(std::move(*fresh), cancel);
}

std::filesystem::path BackupJournalDir(const ServerOptions& options) {
  return options.journal_dir.empty() ? options.temp_dir / "lifeboat-journal" : options.journal_dir;
}

StatusOr<Result> BackupReconciler::Execute(api::Backup b, const CancellationToken& cancel,
                                           bool resume) {
  const std::string name = b.metadata.name;
  auto result = Run(*this, std::move(b), cancel, resume).Go();
  Release(name);
  return result;
}

StatusOr<Result> BackupReconciler::Resume(api::Backup b, const CancellationToken& cancel) {
  const std::string name = b.metadata.name;
  if (!Reserve(b)) return Result{kOverlapRetry};
  auto loc = ctx_.stores->Get(b.spec.storage_location, cancel);
  if (!loc.ok()) {
    Release(name);
    if (!absl::IsNotFound(loc.status())) return loc.status();
    b.status.phase = api::BackupPhase::kFailed;
    b.status.failure_reason =
        "the interrupted backup cannot be resumed: " + std::string(loc.status().message());
    backup::DiscardBackupJournal(BackupJournalDir(ctx_.options), b.metadata.uid);
    b.status.completion_timestamp = api::FormatRfc3339(ctx_.clock->Now());
    LIFEBOAT_RETURN_IF_ERROR(
        PatchWithRetry(*ctx_.client, kBackups, ctx_.options.ns, name, FinalStatusPatch(b)));
    RecordFinished(ctx_, b);
    return Result{};
  }
  auto exists = loc->store->BackupExists(name);
  if (!exists.ok()) {
    Release(name);
    return exists.status();
  }
  if (*exists) {
    Release(name);
    backup::DiscardBackupJournal(BackupJournalDir(ctx_.options), b.metadata.uid);
    return Adopt(std::move(b), *loc->store);
  }
  // Nothing visible was uploaded (velero-backup.json goes last); drop what the dead attempt
  // may have left in the bucket (the log, a tarball) and run again under the same name: from
  // the local checkpoint journal when this machine has a usable one (the engine checks it and
  // logs which), from the start otherwise.
  if (Status s = loc->store->DeleteBackup(name); !s.ok()) {
    Release(name);
    return Annotate(s, "removing the files of interrupted backup " + name);
  }
  int attempt = 1;
  if (auto it = b.metadata.annotations.find(std::string(kResumedAnnotation));
      it != b.metadata.annotations.end()) {
    attempt = std::atoi(it->second.c_str()) + 1;
  }
  json::object patch;
  patch["metadata"] = json::object{
      {"annotations", json::object{{std::string(kResumedAnnotation), std::to_string(attempt)}}}};
  patch["status"] = json::object{{"phase", "InProgress"},
                                 {"startTimestamp", api::FormatRfc3339(ctx_.clock->Now())},
                                 {"progress", nullptr},
                                 {"completionTimestamp", nullptr},
                                 {"failureReason", nullptr}};
  auto claimed = MergePatch(*ctx_.client, kBackups, ctx_.options.ns, name, patch,
                            b.metadata.resource_version, cancel);
  if (!claimed.ok()) {
    Release(name);
    if (absl::IsAborted(claimed.status())) return Result{kConflictRetry};
    if (absl::IsNotFound(claimed.status())) return Result{};
    return claimed.status();
  }
  auto fresh = api::BackupFromJson(*claimed);
  if (!fresh.ok()) {
    Release(name);
    return fresh.status();
  }
  LB_LOG_WARN(
      "backup {}/{} was InProgress with no server running it (interrupted); "
      "running it again, from its checkpoint if there is a usable one (resumed {} time(s))",
      ctx_.options.ns, name, attempt);
  // Each run counts as an attempt of the process that makes it (as restores do), so that a
  // restarted server's success counter never exceeds its attempt counter.
  ctx_.metrics->BackupAttempted(ScheduleOf(fresh->metadata.labels));
  return Execute(std::move(*fresh), cancel, /*resume=*/true);
}

StatusOr<Result> BackupReconciler::Adopt(api::Backup b, storage::BackupStore& store) {
  const std::string name = b.metadata.name;
  LIFEBOAT_ASSIGN_OR_RETURN(std::string text, store.GetBackupMetadata(name));
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return Annotate(parsed.status(), "reading velero-backup.json of " + name);
  auto stored = api::BackupFromJson(*parsed);
  if (!stored.ok()) return Annotate(stored.status(), "reading velero-backup.json of " + name);
  b.status = stored->status;
  if (!Terminal(b.status.phase)) {
    // Written by a server that rewrites the file as it goes (Velero): not a finished backup.
    b.status.failure_reason = "the backup was interrupted; velero-backup.json in the bucket says " +
                              std::string(api::ToString(b.status.phase));
    b.status.phase = api::BackupPhase::kFailed;
    b.status.completion_timestamp = api::FormatRfc3339(ctx_.clock->Now());
  }
  LIFEBOAT_RETURN_IF_ERROR(
      PatchWithRetry(*ctx_.client, kBackups, ctx_.options.ns, name, FinalStatusPatch(b)));
  RecordFinished(ctx_, b);
  LB_LOG_WARN(
      "backup {}/{} was InProgress with no server running it, but the bucket already "
      "holds it: adopted its status ({}) from velero-backup.json",
      ctx_.options.ns, name, api::ToString(b.status.phase));
  return Result{};
}

}  // namespace lifeboat::controller
