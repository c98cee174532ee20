#include "lifeboat/restore/restorer.h"

#include <stdlib.h>

#include <system_error>

#include "lifeboat/api/time.h"
#include "lifeboat/api/validation.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/object.h"
#include "src/restore/object_util.h"
#include "src/restore/priorities.h"
#include "src/restore/resource_modifiers.h"
#include "src/restore/restore_run.h"
#include "src/restore/work_pool.h"

namespace lifeboat::restore {
namespace fs = std::filesystem;
namespace json = boost::json;
namespace {

// A private directory removed with everything in it when the run ends.
class TempDir {
 public:
  static StatusOr<TempDir> Create(const fs::path& parent) {
    std::string tmpl = (parent / "lifeboat-restore-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError("cannot create a temporary directory under " + parent.string());
    }
    return TempDir(tmpl);
  }
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

std::vector<std::string> ValidateAgainstBackup(const api::Restore& r, const api::Backup& b) {
  std::vector<std::string> errs = api::ValidateRestoreSpec(r.spec);
  if (!r.spec.backup_name.empty() && r.spec.backup_name != b.metadata.name) {
    errs.push_back("the restore names backup " + r.spec.backup_name + " but was given backup " +
                   b.metadata.name);
  }
  if (b.status.phase != api::BackupPhase::kCompleted &&
      b.status.phase != api::BackupPhase::kPartiallyFailed) {
    errs.push_back("backup " + b.metadata.name + " is in phase " +
                   std::string(api::ToString(b.status.phase)) +
                   "; only Completed and PartiallyFailed backups can be restored");
  }
  return errs;
}

// <backup>-volumesnapshots.json.gz: Velero's volume.Snapshot list, by PV name.
StatusOr<std::map<std::string, NativeSnapshot>> ReadNativeSnapshots(storage::BackupStore& store,
                                                                   const std::string& backup) {
  std::map<std::string, NativeSnapshot> out;
  std::string gz;
  auto sink = StringSink(&gz);
  Status got = store.GetBackupFile(backup, storage::BackupFile::kVolumeSnapshots, *sink);
  if (absl::IsNotFound(got)) return out;
  LIFEBOAT_RETURN_IF_ERROR(got);
  LIFEBOAT_RETURN_IF_ERROR(sink->Close());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string text, Gunzip(gz));
  LIFEBOAT_ASSIGN_OR_RETURN(json::value list, ParseJson(text));
  if (!list.is_array()) return out;  // "null": none
  for (const json::value& s : list.as_array()) {
    if (JsonString(s, {"status", "phase"}).value_or("") != "Completed") continue;
    NativeSnapshot n;
    n.location = JsonString(s, {"spec", "location"}).value_or("");
    n.snapshot_id = JsonString(s, {"status", "providerSnapshotID"}).value_or("");
    n.volume_type = JsonString(s, {"spec", "volumeType"}).value_or("");
    n.volume_az = JsonString(s, {"spec", "volumeAZ"}).value_or("");
    n.iops = JsonInt(s, {"spec", "volumeIOPS"});
    out[JsonString(s, {"spec", "persistentVolumeName"}).value_or("")] = std::move(n);
  }
  return out;
}

// <backup>-volumeinfo.json.gz (Velero 1.13+): the PVs whose data was kept by a CSI snapshot, a
// file-system backup or a data mover. Older backups have no such file (none, then).
// `raw` receives the parsed file (null when there is none), for the restore's own volume info.
StatusOr<std::set<std::string>> ReadDataElsewhere(storage::BackupStore& store,
                                                  const std::string& backup, json::value* raw) {
  std::set<std::string> out;
  std::string gz;
  auto sink = StringSink(&gz);
  Status got = store.GetBackupFile(backup, storage::BackupFile::kVolumeInfo, *sink);
  if (absl::IsNotFound(got)) return out;
  LIFEBOAT_RETURN_IF_ERROR(got);
  LIFEBOAT_RETURN_IF_ERROR(sink->Close());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string text, Gunzip(gz));
  LIFEBOAT_ASSIGN_OR_RETURN(json::value list, ParseJson(text));
  if (!list.is_array()) return out;
  *raw = list;
  for (const json::value& v : list.as_array()) {
    const std::string method = JsonString(v, {"backupMethod"}).value_or("");
    if (method == "CSISnapshot" || method == "PodVolumeBackup" ||
        JsonBool(v, {"snapshotDataMoved"}).value_or(false)) {
      out.insert(JsonString(v, {"pvName"}).value_or(""));
    }
  }
  return out;
}

Status PutGzippedJson(storage::BackupStore& store, const std::string& restore,
                      storage::RestoreFile file, const json::value& v) {
  auto body = StringSource(Gzip(json::serialize(v)));
  return store.PutRestoreFile(restore, file, *body);
}

}  // namespace

StatusOr<api::Backup> FindBackupToRestore(storage::BackupStore& store, const api::RestoreSpec& spec) {
  auto load = [&](const std::string& name) -> StatusOr<api::Backup> {
    LIFEBOAT_ASSIGN_OR_RETURN(std::string text, store.GetBackupMetadata(name));
    LIFEBOAT_ASSIGN_OR_RETURN(json::value v, ParseJson(text));
    return api::BackupFromJson(v);
  };
  if (!spec.backup_name.empty()) return load(spec.backup_name);
  if (spec.schedule_name.empty()) {
    return absl::InvalidArgumentError("the restore names neither a backup nor a schedule");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> names, store.ListBackups());
  std::optional<api::Backup> latest;
  for (const std::string& name : names) {
    auto b = load(name);
    if (!b.ok()) continue;  // a broken metadata file is not a candidate
    auto label = b->metadata.labels.find("velero.io/schedule-name");
    if (label == b->metadata.labels.end() || label->second != spec.schedule_name ||
        b->status.phase != api::BackupPhase::kCompleted) {
      continue;
    }
    // RFC 3339 UTC timestamps of one format compare as strings.
    if (!latest || b->status.start_timestamp.value_or("") > latest->status.start_timestamp.value_or("")) {
      latest = std::move(*b);
    }
  }
  if (!latest) {
    return absl::NotFoundError("no Completed backup of schedule " + spec.schedule_name);
  }
  return *latest;
}

Restorer::Restorer(RestorerDeps deps, RestorerOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

api::Restore Restorer::Run(api::Restore r, const api::Backup& backup, const ProgressFn& progress,
                           const CancellationToken& cancel) {
  Clock* clock = deps_.clock != nullptr ? deps_.clock : &RealClock();
  auto report = [&] {
    if (progress) progress(r);
  };
  if (auto problems = ValidateAgainstBackup(r, backup); !problems.empty()) {
    r.status.phase = api::RestorePhase::kFailedValidation;
    r.status.validation_errors = std::move(problems);
    return r;
  }
  // Velero fills in the backup a schedule's restore took, and the schedule of a backup's.
  if (r.spec.backup_name.empty()) r.spec.backup_name = backup.metadata.name;
  if (r.spec.schedule_name.empty()) {
    if (auto it = backup.metadata.labels.find("velero.io/schedule-name");
        it != backup.metadata.labels.end()) {
      r.spec.schedule_name = it->second;
    }
  }
  auto modifiers = LoadModifiersFor(r, deps_.client, options_.velero_namespace);
  if (!modifiers.ok()) {
    r.status.phase = api::RestorePhase::kFailedValidation;
    r.status.validation_errors = {"resourceModifier: " + std::string(modifiers.status().message())};
    return r;
  }
  r.status.phase = api::RestorePhase::kInProgress;
  r.status.start_timestamp = api::FormatRfc3339(clock->Now());
  report();

  auto fail = [&](std::string reason) {
    r.status.phase = api::RestorePhase::kFailed;
    r.status.failure_reason = std::move(reason);
    r.status.completion_timestamp = api::FormatRfc3339(clock->Now());
    return r;
  };
  auto temp = TempDir::Create(options_.temp_dir);
  if (!temp.ok()) return fail(std::string(temp.status().message()));
  const fs::path log_path = temp->path() / "log.gz";
  auto log_file = ScratchFileSink(log_path, 0600);  // in a temp dir: read back, then deleted
  if (!log_file.ok()) return fail(std::string(log_file.status().message()));
  engine::RestoreLog log(log_file->get(), r.metadata.namespace_ + "/" + r.metadata.name, clock,
                         engine::LogKind::kRestore);
  log.Info("starting restore of backup " + backup.metadata.namespace_ + "/" +
           backup.metadata.name + " (" + options_.server_version + ")");
  if (options_.resume) {
    log.Info("resuming an interrupted restore: existing items labelled velero.io/restore-name=" +
             LabelSafe(r.metadata.name) + " count as restored");
  }

  std::unique_ptr<RestoreRun> run;
  json::value backup_volume_info;  // the backup's <b>-volumeinfo.json.gz, null when none
  std::string failure = [&]() -> std::string {
    const fs::path tarball = temp->path() / "backup.tar.gz";
    {
      auto sink = ScratchFileSink(tarball, 0600);  // a scratch copy: never fsynced
      if (!sink.ok()) return std::string(sink.status().message());
      Status got = deps_.store->GetBackupFile(backup.metadata.name,
                                              storage::BackupFile::kContents, **sink);
      if (got.ok()) got = (*sink)->Close();
      if (!got.ok()) return "error downloading the backup's tarball: " + std::string(got.message());
    }
    auto source = FileSource(tarball);
    if (!source.ok()) return std::string(source.status().message());
    // Every entry is read and checked; items go to one spool file, never to a file each.
    const auto read_start = clock->Now();
    auto contents = BackupContents::Read(**source, temp->path() / "items.spool",
                                         options_.archive_limits);
    if (!contents.ok() && absl::IsFailedPrecondition(contents.status())) {
      return std::string(contents.status().message());
    }
    if (!contents.ok()) {
      return "the backup's tarball cannot be read: " + std::string(contents.status().message());
    }
    log.Info("Read " + std::to_string(contents->spooled_items()) + " items of the backup's tarball in " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                clock->Now() - read_start)
                                .count()) +
             " ms");
    std::error_code ec;
    fs::remove(tarball, ec);
    if (!contents.ok()) return std::string(contents.status().message());
    auto snapshots = ReadNativeSnapshots(*deps_.store, backup.metadata.name);
    if (!snapshots.ok()) {
      return "error reading the backup's volume snapshots: " +
             std::string(snapshots.status().message());
    }
    auto data_elsewhere = ReadDataElsewhere(*deps_.store, backup.metadata.name, &backup_volume_info);
    if (!data_elsewhere.ok()) {
      return "error reading the backup's volume info: " +
             std::string(data_elsewhere.status().message());
    }
    run = std::make_unique<RestoreRun>(deps_, options_, r, backup, std::move(*contents), log,
                                       cancel);
    if (Status s = run->Prepare(std::move(*snapshots), std::move(*data_elsewhere),
                                std::move(*modifiers));
        !s.ok()) {
      return std::string(s.message());
    }
    r.status.progress = api::RestoreProgress{run->total_items(), 0};
    auto last = clock->Now();
    Status s = run->RestoreAll([&] {
      if (clock->Now() - last < std::chrono::seconds(1)) return;
      last = clock->Now();
      r.status.progress->items_restored = run->items_restored();
      report();
    });
    if (!s.ok()) return std::string(s.message());
    if (cancel.IsCancelled()) return "the restore was cancelled";
    return "";
  }();
  std::optional<json::value> restore_volume_info;
  if (run != nullptr) {
    run->WaitForHooks();
    r.status.progress = api::RestoreProgress{run->total_items(), run->items_restored()};
    if (run->hooks_attempted() > 0) {
      r.status.hook_status = api::HookStatus{run->hooks_attempted(), run->hooks_failed()};
    }
    // <restore>-volumeinfo.json.gz: how each volume restored from a snapshot came back (only
    // when the backup has volume info to build it from).
    if (!backup_volume_info.is_null()) {
      auto vi = BuildRestoreVolumeInfo(*deps_.client, r, backup_volume_info);
      if (vi.ok()) {
        restore_volume_info = std::move(*vi);
      } else {
        log.Warn("error building the restore's volume info: " + std::string(vi.status().message()));
      }
    }
  }
  if (!failure.empty()) log.Error(failure);
  log.Info("restore finished");
  r.status.warnings = log.warnings();
  r.status.errors = log.errors();
  const std::string& name = r.metadata.name;
  Status uploaded = PutGzippedJson(*deps_.store, name, storage::RestoreFile::kResults,
                                   log.ResultsJson());
  if (uploaded.ok() && run != nullptr) {
    uploaded = PutGzippedJson(*deps_.store, name, storage::RestoreFile::kResourceList,
                              run->resource_list().ToJson());
  }
  if (uploaded.ok() && restore_volume_info) {
    uploaded = PutGzippedJson(*deps_.store, name, storage::RestoreFile::kVolumeInfo,
                              *restore_volume_info);
  }
  if (Status closed = log.Close(); uploaded.ok()) uploaded = closed;  // closes log_file too
  if (uploaded.ok()) {
    auto body = FileSource(log_path);
    uploaded = body.ok() ? deps_.store->PutRestoreFile(name, storage::RestoreFile::kLog, **body)
                         : body.status();
  }
  if (!failure.empty()) return fail(failure);
  if (!uploaded.ok()) {
    return fail("error uploading the restore's log and results: " +
                std::string(uploaded.message()));
  }
  r.status.phase = r.status.errors > 0 ? api::RestorePhase::kPartiallyFailed
                                       : api::RestorePhase::kCompleted;
  r.status.completion_timestamp = api::FormatRfc3339(clock->Now());
  report();
  return r;
}

// ---------------------------------------------------------------------------------------------
// RestoreRun: preparation and the priority loop.

Status RestoreRun::Prepare(std::map<std::string, NativeSnapshot> snapshots,
                           std::set<std::string> data_elsewhere,
                           std::unique_ptr<ResourceModifiers> modifiers) {
  // The API restored into is read as it is now, as a backup's is: a type served since the
  // discovery was loaded (an operator installed before restoring its custom resources) is found
  // even right after a lookup miss (a miss refreshes at most every 30 s). On failure the restore
  // goes on with the earlier view and says so.
  if (Status s = deps_.discovery->Refresh(); !s.ok()) {
    log_.Warn("Refreshing API discovery failed; restoring with the resources discovered earlier: " +
              std::string(s.message()));
  }
  snapshots_ = std::move(snapshots);
  modifiers_ = std::move(modifiers);
  data_elsewhere_ = std::move(data_elsewhere);
  total_items_ = contents_.CountItems();
  context_.restore = &restore_;
  context_.restore_uid = restore_.metadata.uid;
  context_.velero_namespace = options_.velero_namespace;
  context_.backup_name = backup_.metadata.name;
  const api::RestoreSpec& spec = restore_.spec;
  namespaces_ = api::NamespaceIncludesExcludes(spec.included_namespaces, spec.excluded_namespaces);
  auto canonical = [&](const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (const std::string& n : names) {
      auto r = n == "*" ? StatusOr<kube::ApiResource>(absl::NotFoundError("")) : deps_.discovery->Lookup(n);
      out.push_back(r.ok() ? (r->group.empty() ? r->name : r->name + "." + r->group) : n);
    }
    return out;
  };
  std::vector<std::string> excludes = canonical(spec.excluded_resources);
  for (const std::string& nr : api::NonRestorableResources()) excludes.push_back(nr);
  resources_ = api::IncludesExcludes::ForResources(canonical(spec.included_resources), excludes);
  if (spec.restore_status) {
    restore_status_ = api::IncludesExcludes::ForResources(
        canonical(spec.restore_status->included_resources),
        canonical(spec.restore_status->excluded_resources));
  }
  selector_ = spec.label_selector;
  or_selectors_ = spec.or_label_selectors;
  return PrepareActionsModifiersHooks();
}

bool IsMustHave(std::string_view gr) {
  return gr == "datauploads.velero.io" || gr == "volumesnapshotcontents.snapshot.storage.k8s.io";
}

bool RestoreRun::ResourceIncluded(const std::string& gr, bool namespaced) const {
  if (IsMustHave(gr)) return true;
  if (!resources_.ShouldInclude(gr)) return false;
  return namespaced || restore_.spec.include_cluster_resources != false;
}

bool RestoreRun::ItemSelected(const json::value& item) const {
  const auto labels = kube::ObjectLabels(item);
  if (selector_ && !selector_->Matches(labels)) return false;
  if (or_selectors_.empty()) return true;
  for (const auto& s : or_selectors_) {
    if (s.Matches(labels)) return true;
  }
  return false;
}

std::optional<kube::ApiResource> RestoreRun::ResolveResource(const std::string& group,
                                                             const std::string& version,
                                                             const std::string& resource,
                                                             const std::string& kind) {
  const std::string key = group + "/" + version + "/" + resource + "/" + kind;
  {
    std::lock_guard lock(mu_);
    if (auto it = resolved_.find(key); it != resolved_.end()) return it->second;
  }
  auto r = deps_.discovery->ResourceFor({group, version, resource});
  if (!r.ok() || r->kind != kind) r = deps_.discovery->ResourceForKind(group, version, kind);
  if (!r.ok()) return std::nullopt;
  std::lock_guard lock(mu_);
  resolved_[key] = *r;
  return *r;
}

Status RestoreRun::WaitForCrdEstablished(const std::string& name) {
  const kube::GroupVersionResource crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions"};
  const auto deadline = clock_->Now() + options_.resource_timeout;
  for (;;) {
    auto crd = deps_.client->Get(crds, "", name);
    if (crd.ok()) {
      if (const json::value* conds = JsonFind(*crd, {"status", "conditions"});
          conds != nullptr && conds->is_array()) {
        for (const json::value& c : conds->as_array()) {
          if (JsonString(c, {"type"}).value_or("") == "Established" &&
              JsonString(c, {"status"}).value_or("") == "True") {
            return absl::OkStatus();
          }
        }
      }
    }
    if (clock_->Now() >= deadline || cancel_.IsCancelled()) {
      return absl::DeadlineExceededError("the custom resource definition " + name +
                                   " did not become Established in time");
    }
    clock_->SleepFor(std::chrono::milliseconds(100), cancel_);
  }
}

Status RestoreRun::RestoreAll(const std::function<void()>& tick) {
  WorkPool pool(options_.workers);
  pool_ = &pool;
  tick_ = &tick;
  std::vector<std::string> present;
  for (const auto& [gr, dirs] : contents_.resources()) present.push_back(gr);
  if (contents_.resources().count(std::string(kCrdResource))) {
    RestoreResource(std::string(kCrdResource), /*crd_pass=*/true);
    pool.Drain();
    if (Status s = deps_.discovery->Refresh(); !s.ok()) {
      log_.Warn("could not refresh discovery after restoring custom resource definitions: " +
                std::string(s.message()));
    }
  }
  auto resolve = [&](std::string_view entry) -> std::optional<std::string> {
    auto r = deps_.discovery->Lookup(entry);
    if (!r.ok()) return std::nullopt;
    return r->group.empty() ? r->name : r->name + "." + r->group;
  };
  for (const std::string& gr :
       RestoreOrder(present, options_.high_priorities, options_.low_priorities, resolve)) {
    if (cancel_.IsCancelled()) break;
    const auto start = clock_->Now();
    const int64_t before = items_restored_.load();
    RestoreResource(gr, /*crd_pass=*/false);
    pool.Drain();
    const int64_t n = items_restored_.load() - before;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now() - start);
    if (n > 0) {
      log_.Info("Restored " + std::to_string(n) + " items of resource '" + gr + "' in " +
                std::to_string(ms.count()) + " ms", {gr, "", ""});
    }
    tick();
  }
  pool.Drain();
  pool_ = nullptr;
  return absl::OkStatus();
}

void RestoreRun::SubmitItems(const std::string& gr, const std::string& version_dir,
                             const std::string& ns, const std::vector<std::string>& names) {
  // Items go to the workers in small batches: one hand-off per batch rather than per item
  // (thread wake-ups were a good part of the restore's CPU), while a resource's items still
  // spread over every worker.
  constexpr size_t kBatch = 16;
  for (size_t i = 0; i < names.size(); i += kBatch) {
    if (cancel_.IsCancelled()) return;
    std::vector<std::string> batch(names.begin() + static_cast<std::ptrdiff_t>(i),
                                   names.begin() + static_cast<std::ptrdiff_t>(std::min(names.size(), i + kBatch)));
    pool_->Submit([this, gr, version_dir, ns, batch = std::move(batch)] {
      for (const std::string& name : batch) RestoreItem(ItemRef{gr, version_dir, ns, name}, false);
    });
  }
}

void RestoreRun::RestoreResource(const std::string& gr, bool crd_pass) {
  (void)crd_pass;
  const ResourceDirs& dirs = contents_.resources().at(gr);
  if (gr == "namespaces") {
    for (const std::string& ns : contents_.ItemNames(gr, "", "")) {
      if (!namespaces_.ShouldInclude(ns)) continue;
      if (Status s = EnsureNamespace(ns, TargetNamespace(ns)); !s.ok()) {
        log_.Error("error restoring namespace " + ns, {"namespaces", "", ns}, s);
      }
      items_restored_.fetch_add(1);
    }
    return;
  }
  std::vector<std::string> served;
  if (auto all = deps_.discovery->Resources(); all.ok()) {
    for (const auto& r : *all) {
      if (r.group == dirs.group && r.name == dirs.resource) served.push_back(r.version);
    }
  }
  auto preferred = deps_.discovery->PreferredVersion(dirs.group);
  const std::string version_dir =
      ChooseVersionDir(dirs, served, preferred.ok() ? *preferred : std::string());
  const std::vector<std::string> cluster_items = contents_.ItemNames(gr, version_dir, "");
  if (!cluster_items.empty()) {
    if (!ResourceIncluded(gr, false)) {
      log_.Info("Skipping resource " + gr + ": it is excluded", {gr, "", ""});
    } else if (!restore_.spec.include_cluster_resources.has_value() &&
               !namespaces_.IncludeEverything()) {
      log_.Info("Skipping resource " + gr +
                    " because it's cluster-scoped and only specific namespaces are included in "
                    "the restore",
                {gr, "", ""});
    } else {
      log_.Info("Restoring cluster level resource '" + gr + "'", {gr, "", ""});
      SubmitItems(gr, version_dir, "", cluster_items);
    }
  }
  if (!ResourceIncluded(gr, true)) return;
  for (const std::string& ns : contents_.ItemNamespaces(gr, version_dir)) {
    if (!namespaces_.ShouldInclude(ns)) continue;
    log_.Info("Restoring resource '" + gr + "' into namespace '" + TargetNamespace(ns) + "'",
              {gr, TargetNamespace(ns), ""});
    if (cancel_.IsCancelled()) return;
    SubmitItems(gr, version_dir, ns, contents_.ItemNames(gr, version_dir, ns));
    (*tick_)();
  }
}

}  // namespace lifeboat::restore
