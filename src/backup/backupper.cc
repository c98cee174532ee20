#include "lifeboat/backup/backupper.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>

#include "lifeboat/api/time.h"
#include "lifeboat/api/validation.h"
#include "lifeboat/archive/layout.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/object.h"
#include "src/backup/backup_log.h"
#include "src/backup/filters.h"
#include "src/backup/hooks.h"
#include "src/backup/item_backupper.h"
#include "src/backup/ordered_lister.h"
#include "src/backup/resource_order.h"

namespace lifeboat::backup {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr std::string_view kExcludeLabel = "velero.io/exclude-from-backup";

// A file in the temp dir, removed when this goes away.
class TempFile {
 public:
  static StatusOr<TempFile> Create(const std::filesystem::path& dir, const std::string& stem) {
    std::string pattern = (dir / (stem + "-XXXXXX")).string();
    int fd = ::mkstemp(pattern.data());
    if (fd < 0) return absl::InternalError("creating a temporary file in " + dir.string());
    ::close(fd);
    return TempFile(pattern);
  }
  TempFile(TempFile&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~TempFile() {
    if (!path_.empty()) std::filesystem::remove(path_);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempFile(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

// Velero's request defaults (§5.2) written into the spec, so velero-backup.json shows them.
void ApplyDefaults(api::Backup& b) {
  if (b.spec.ttl.count() == 0) b.spec.ttl = hours(720);
  if (b.spec.csi_snapshot_timeout.count() == 0) b.spec.csi_snapshot_timeout = minutes(10);
  if (b.spec.item_operation_timeout.count() == 0) b.spec.item_operation_timeout = hours(4);
  if (b.spec.default_volumes_to_restic == true) b.spec.default_volumes_to_fs_backup = true;
  if (b.spec.included_namespaces.empty()) b.spec.included_namespaces = {"*"};
  b.metadata.labels["velero.io/storage-location"] = b.spec.storage_location;
}

api::Backup Finish(api::Backup b, api::BackupPhase phase, std::string reason, Clock& clock) {
  b.status.phase = phase;
  if (!reason.empty()) b.status.failure_reason = std::move(reason);
  b.status.completion_timestamp = api::FormatRfc3339(clock.Now());
  return b;
}

// Everything one run needs, so the steps below stay small.
class BackupRun {
 public:
  BackupRun(const BackupperDeps& deps, const BackupperOptions& options, api::Backup& backup,
      const ProgressFn& progress, const CancellationToken& cancel, Clock& clock,
      BackupRunStats* stats)
      : deps_(deps), options_(options), b_(backup), progress_(progress), cancel_(cancel),
        clock_(clock), stats_(stats) {}

  // The whole backup; a returned error fails it (phase Failed with the message).
  Status Execute() {
    LIFEBOAT_ASSIGN_OR_RETURN(TempFile tarball, TempFile::Create(options_.temp_dir, "lifeboat-" + b_.metadata.name + "-tar"));
    LIFEBOAT_ASSIGN_OR_RETURN(TempFile logfile, TempFile::Create(options_.temp_dir, "lifeboat-" + b_.metadata.name + "-log"));
    LIFEBOAT_ASSIGN_OR_RETURN(auto log_sink, AtomicFileSink(logfile.path(), 0600));
    BackupLog log(log_sink.get(), b_.metadata.namespace_ + "/" + b_.metadata.name, &clock_);
    log.Info("Setting up backup temp file and log, starting backup (" + options_.server_version + ")");
    LIFEBOAT_ASSIGN_OR_RETURN(auto tar_sink, AtomicFileSink(tarball.path(), 0600));
    archive::WriterOptions wo;
    wo.threads = options_.archive_threads;
    wo.level = options_.archive_level;
    wo.mtime = clock_.Now();
    LIFEBOAT_ASSIGN_OR_RETURN(auto writer, archive::ArchiveWriter::Create(tar_sink.get(), wo));
    LIFEBOAT_RETURN_IF_ERROR(writer->Add(archive::VersionPath(), std::string(archive::kFormatVersion) + "\n"));

    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<boost::json::value> namespaces, ListNamespaces());
    std::vector<std::string> excluded_by_label;
    for (const auto& ns : namespaces) {
      auto labels = kube::ObjectLabels(ns);
      if (auto it = labels.find(std::string(kExcludeLabel)); it != labels.end() && it->second == "true") {
        excluded_by_label.emplace_back(kube::ObjectName(ns));
      }
    }
    BackupFilters filters(b_.spec, *deps_.discovery, excluded_by_label);
    HookRunner hooks(&b_.spec, deps_.exec, &log, cancel_);
    ItemBackupper items(deps_, b_, filters, *writer, log, hooks, cancel_);
    LIFEBOAT_RETURN_IF_ERROR(Collect(filters, namespaces, items, log));
    LIFEBOAT_RETURN_IF_ERROR(BackupNamespaces(filters, namespaces, items, log));
    if (!filters.CrdsNamedExplicitly()) LIFEBOAT_RETURN_IF_ERROR(BackupCrds(items));
    LIFEBOAT_RETURN_IF_ERROR(writer->Finish());
    LIFEBOAT_RETURN_IF_ERROR(tar_sink->Close());

    const ItemCounts& c = items.counts();
    b_.status.progress = api::BackupProgress{c.items, c.items};
    b_.status.volume_snapshots_attempted = c.snapshots_attempted;
    b_.status.volume_snapshots_completed = c.snapshots_completed;
    b_.status.hook_status = api::HookStatus{hooks.attempted(), hooks.failed()};
    log.Info("Backed up a total of " + std::to_string(c.items) + " items");
    b_.status.warnings = log.warnings();
    b_.status.errors = log.errors();
    b_.status.phase = b_.status.errors > 0 ? api::BackupPhase::kPartiallyFailed
                                           : api::BackupPhase::kCompleted;
    b_.status.completion_timestamp = api::FormatRfc3339(clock_.Now());
    boost::json::object results = log.ResultsJson();
    // The log is closed before the upload, so it cannot tell about the upload itself.
    (void)log.Close();
    return Upload(tarball.path(), logfile.path(), items, results);
  }

 private:
  StatusOr<std::vector<boost::json::value>> ListNamespaces() {
    std::vector<boost::json::value> out;
    kube::ListAllOptions lo;
    lo.page_size = options_.page_size;
    lo.list.cancel = cancel_;
    auto r = kube::ListAll(*deps_.client, {"", "v1", "namespaces"}, "", lo,
                           [&](boost::json::value&& ns) {
                             out.emplace_back(ns, boost::json::storage_ptr());
                             return absl::OkStatus();
                           });
    if (!r.ok()) return Annotate(r.status(), "listing namespaces");
    return out;
  }

  std::vector<ListTask> Tasks(const BackupFilters& filters, const std::vector<boost::json::value>& namespaces,
                              const std::vector<kube::ApiResource>& resources) {
    std::vector<std::string> selectors;
    if (b_.spec.label_selector) selectors.push_back(b_.spec.label_selector->ToString());
    for (const auto& s : b_.spec.or_label_selectors) selectors.push_back(s.ToString());
    if (selectors.empty()) selectors.push_back("");
    std::vector<std::string> included_ns;
    for (const auto& ns : namespaces) {
      std::string name(kube::ObjectName(ns));
      if (filters.NamespaceIncluded(name)) included_ns.push_back(name);
    }
    std::vector<ListTask> tasks;
    for (const auto& r : resources) {
      if (r.group.empty() && r.name == "namespaces") continue;  // backed up at the end
      if (!filters.ListResource(r)) continue;
      for (const auto& sel : selectors) {
        if (!r.namespaced || filters.AllNamespaces()) {
          tasks.push_back({r, "", sel});
          continue;
        }
        for (const auto& ns : included_ns) tasks.push_back({r, ns, sel});
      }
    }
    return tasks;
  }

  Status Collect(const BackupFilters& filters, const std::vector<boost::json::value>& namespaces,
                 ItemBackupper& items, BackupLog& log) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto groups, deps_.discovery->Groups());
    LIFEBOAT_ASSIGN_OR_RETURN(auto all, deps_.discovery->Resources());
    for (const auto& f : deps_.discovery->failures()) {
      log.Warn("Skipping API group " + f.group_version + " that failed discovery: " +
               std::string(f.status.message()));
    }
    std::vector<kube::ApiResource> order = BackupOrder(groups, all);
    std::vector<ListTask> tasks = Tasks(filters, namespaces, order);
    auto last_progress = clock_.Now();
    OrderedListerOptions lo{options_.list_workers, options_.page_size, 1};
    // Items are serialized (Go's json.Marshal form) on the listing threads; the writer thread
    // re-serializes only items an action changed.
    lo.prepare = [](const boost::json::value& item) { return CanonicalJson(item); };
    return ListInOrder(
        *deps_.client, tasks, lo,
        [&](size_t i, Page& page, const Status& error) -> Status {
          const ListTask& t = tasks[i];
          if (!error.ok()) {
            log.Error("Error listing items", {GroupResource(t.resource), t.ns, ""}, error);
            return absl::OkStatus();
          }
          for (size_t k = 0; k < page.items.size(); ++k) {
            boost::json::value& item = page.items[k];
            if (!t.resource.namespaced || filters.NamespaceIncluded(kube::ObjectNamespace(item))) {
              LIFEBOAT_RETURN_IF_ERROR(
                  items.BackupListed(t.resource, std::move(item), std::move(page.prepared[k])));
            }
          }
          if (progress_ && clock_.Now() - last_progress >= std::chrono::seconds(1)) {
            last_progress = clock_.Now();
            b_.status.progress = api::BackupProgress{items.counts().items, items.counts().items};
            progress_(b_);
          }
          return absl::OkStatus();
        },
        cancel_);
  }

  // Namespace objects: those holding a backed-up item, and (without selectors, or when
  // namespaces are listed explicitly) every included one. Terminating namespaces are skipped.
  Status BackupNamespaces(const BackupFilters& filters, std::vector<boost::json::value>& namespaces,
                          ItemBackupper& items, BackupLog& log) {
    auto resource = deps_.discovery->ResourceFor({"", "v1", "namespaces"});
    if (!resource.ok()) return Annotate(resource.status(), "finding the namespaces resource");
    if (!filters.ListResource(*resource)) return absl::OkStatus();
    const bool selectors = b_.spec.label_selector.has_value() || !b_.spec.or_label_selectors.empty();
    const auto& inc = b_.spec.included_namespaces;
    const bool explicit_ns = !(inc.empty() || (inc.size() == 1 && inc[0] == "*"));
    for (auto& ns : namespaces) {
      const std::string name(kube::ObjectName(ns));
      if (!filters.NamespaceIncluded(name)) continue;
      bool tracked = items.namespaces_used().count(name) > 0 || !selectors || explicit_ns;
      if (!tracked) continue;
      if (JsonString(ns, {"status", "phase"}).value_or("Active") != "Active") {
        log.Info("Skipping namespace that is not Active", {"namespaces", "", name});
        continue;
      }
      LIFEBOAT_RETURN_IF_ERROR(items.BackupListed(*resource, std::move(ns)));
    }
    return absl::OkStatus();
  }

  // Velero §5.13: the CRD of every custom resource backed up travels with it.
  Status BackupCrds(ItemBackupper& items) {
    std::vector<std::string> used(items.group_resources_used().begin(), items.group_resources_used().end());
    for (const auto& gr : used) {
      if (gr.find('.') == std::string::npos) continue;  // core resources have no CRD
      auto crd = deps_.client->Get({"apiextensions.k8s.io", "v1", "customresourcedefinitions"}, "", gr);
      if (!crd.ok()) continue;  // a built-in group: no CRD of that name
      LIFEBOAT_RETURN_IF_ERROR(items.BackupByName(
          {"apiextensions.k8s.io", "customresourcedefinitions", "", gr}, /*must_include=*/false));
    }
    return absl::OkStatus();
  }

  Status Upload(const std::filesystem::path& tarball, const std::filesystem::path& logfile,
                ItemBackupper& items, const boost::json::object& results) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto contents, FileSource(tarball));
    auto log = FileSource(logfile);
    std::string resource_list_gz = Gzip(boost::json::serialize(items.ResourceList()));
    std::string results_text_gz = Gzip(boost::json::serialize(results));
    std::string snapshots_gz = Gzip(boost::json::serialize(items.VolumeSnapshots()));
    std::string volume_infos_gz = Gzip(boost::json::serialize(items.VolumeInfos()));
    // No built-in action starts an asynchronous operation yet (the CSI ones will): the list of
    // item operations is empty, written as Velero writes an empty one.
    std::string item_operations_gz = Gzip("[]");
    auto resource_list = StringSource(resource_list_gz);
    auto results_gz = StringSource(results_text_gz);
    auto snapshots = StringSource(snapshots_gz);
    auto volume_infos = StringSource(volume_infos_gz);
    auto item_operations = StringSource(item_operations_gz);
    storage::BackupUpload up;
    up.name = b_.metadata.name;
    up.metadata_json = GoJsonIndent(api::ToJson(b_));  // as Velero writes it
    up.contents = contents.get();
    up.log = log.ok() ? log->get() : nullptr;
    up.files = {{storage::BackupFile::kResourceList, resource_list.get()},
                {storage::BackupFile::kResults, results_gz.get()},
                {storage::BackupFile::kVolumeSnapshots, snapshots.get()},
                {storage::BackupFile::kVolumeInfo, volume_infos.get()},
                {storage::BackupFile::kItemOperations, item_operations.get()}};
    LIFEBOAT_RETURN_IF_ERROR(Annotate(deps_.store->PutBackup(up), "uploading the backup"));
    if (stats_ != nullptr) {
      auto size = [](const std::filesystem::path& p) -> int64_t {
        std::error_code ec;
        const auto n = std::filesystem::file_size(p, ec);
        return ec ? 0 : static_cast<int64_t>(n);
      };
      const int64_t tar_bytes = size(tarball);
      stats_->tarball_bytes = tar_bytes;
      stats_->bytes_uploaded = tar_bytes + (log.ok() ? size(logfile) : 0) +
                               static_cast<int64_t>(up.metadata_json.size() + resource_list_gz.size() +
                                                    results_text_gz.size() + snapshots_gz.size() +
                                                    volume_infos_gz.size() + item_operations_gz.size());
    }
    return absl::OkStatus();
  }

  const BackupperDeps& deps_;
  const BackupperOptions& options_;
  api::Backup& b_;
  const ProgressFn& progress_;
  const CancellationToken& cancel_;
  Clock& clock_;
  BackupRunStats* stats_;
};

}  // namespace

Backupper::Backupper(BackupperDeps deps, BackupperOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

api::Backup Backupper::Run(api::Backup b, const ProgressFn& progress, const CancellationToken& cancel,
                           BackupRunStats* stats) {
  Clock& clock = deps_.clock != nullptr ? *deps_.clock : RealClock();
  if (std::vector<std::string> problems = api::ValidateBackupSpec(b.spec); !problems.empty()) {
    b.status.phase = api::BackupPhase::kFailedValidation;
    b.status.validation_errors = std::move(problems);
    return b;
  }
  ApplyDefaults(b);
  const auto start = clock.Now();
  b.status.version = 1;
  b.status.format_version = std::string(api::kBackupFormatVersion);
  b.status.start_timestamp = api::FormatRfc3339(start);
  b.status.expiration = api::FormatRfc3339(start + std::chrono::duration_cast<std::chrono::seconds>(b.spec.ttl));
  b.status.phase = api::BackupPhase::kInProgress;
  if (progress) progress(b);
  auto exists = deps_.store->BackupExists(b.metadata.name);
  if (!exists.ok()) {
    return Finish(std::move(b), api::BackupPhase::kFailed,
                  "error checking if backup already exists in object storage: " +
                      std::string(exists.status().message()),
                  clock);
  }
  if (*exists) {
    return Finish(std::move(b), api::BackupPhase::kFailed, "backup already exists in object storage", clock);
  }
  Status s = BackupRun(deps_, options_, b, progress, cancel, clock, stats).Execute();
  if (!s.ok()) {
    LB_LOG_ERROR("backup {}/{} failed: {}", b.metadata.namespace_, b.metadata.name, s.ToString());
    b.status.progress.reset();
    return Finish(std::move(b), api::BackupPhase::kFailed, std::string(s.message()), clock);
  }
  LB_LOG_INFO("backup {}/{}: {} ({} items, {} warnings, {} errors)", b.metadata.namespace_,
              b.metadata.name, api::ToString(b.status.phase),
              b.status.progress ? b.status.progress->items_backed_up : 0, b.status.warnings,
              b.status.errors);
  return b;
}

}  // namespace lifeboat::backup
