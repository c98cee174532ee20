#include "lifeboat/backup/backupper.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <set>

#include "absl/strings/str_split.h"
#include "lifeboat/api/label_selector.h"
#include "lifeboat/api/time.h"
#include "lifeboat/api/validation.h"
#include "lifeboat/archive/gzip_member.h"
#include "lifeboat/archive/layout.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/object.h"
#include "src/backup/actions/csi_actions.h"
#include "src/backup/backup_log.h"
#include "src/backup/filters.h"
#include "src/backup/hooks.h"
#include "src/backup/item_backupper.h"
#include "src/backup/journal.h"
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

// A usable checkpoint to resume from (already checked against the backup and its files).
struct Resumable {
  Checkpoint checkpoint;
  ItemBackupper::State items;
};

// The journal's checkpoint, when the backup can go on from it; otherwise why not.
StatusOr<Resumable> LoadResumable(const std::filesystem::path& dir, const api::Backup& b) {
  LIFEBOAT_ASSIGN_OR_RETURN(Checkpoint cp, LoadCheckpoint(dir));
  if (cp.uid != b.metadata.uid) {
    return absl::FailedPreconditionError("the checkpoint belongs to backup uid " + cp.uid);
  }
  if (cp.spec_hash != SpecHash(b.spec)) {
    return absl::FailedPreconditionError("the backup's spec changed since the checkpoint");
  }
  using Need = std::pair<const char*, int64_t>;
  for (const auto& [file, need] :
       {Need{kJournalArchive, cp.archive_bytes}, Need{kJournalLog, cp.log_bytes}}) {
    std::error_code ec;
    const auto have = std::filesystem::file_size(dir / file, ec);
    if (ec || static_cast<int64_t>(have) < need) {
      return absl::DataLossError(std::string(file) +
                                 " is missing or shorter than the checkpoint says");
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(ItemBackupper::State items, ItemBackupper::ParseState(cp.items));
  cp.items = {};
  return Resumable{std::move(cp), std::move(items)};
}

// Everything one run needs, so the steps below stay small.
class BackupRun {
 public:
  BackupRun(const BackupperDeps& deps, const BackupperOptions& options, api::Backup& backup,
      const ProgressFn& progress, const CancellationToken& cancel, Clock& clock,
      BackupRunStats* stats, std::filesystem::path journal, std::optional<Resumable> from,
      std::string not_resumed)
      : deps_(deps), options_(options), b_(backup), progress_(progress), cancel_(cancel),
        clock_(clock), stats_(stats), journal_(std::move(journal)), from_(std::move(from)),
        not_resumed_(std::move(not_resumed)) {}

  // The whole backup; a returned error fails it (phase Failed with the message).
  Status Execute() {
    Files files;
    LIFEBOAT_RETURN_IF_ERROR(OpenFiles(files));
    ByteSink* tar_out = files.tar_out;
    BackupLog log(files.log_out, b_.metadata.namespace_ + "/" + b_.metadata.name, &clock_);
    archive::WriterOptions wo = Start(log);
    LIFEBOAT_ASSIGN_OR_RETURN(auto writer, archive::ArchiveWriter::Create(tar_out, wo));
    if (!from_) {
      LIFEBOAT_RETURN_IF_ERROR(writer->Add(archive::VersionPath(), std::string(archive::kFormatVersion) + "\n"));
    }
    mtime_ = std::chrono::duration_cast<std::chrono::seconds>(wo.mtime.time_since_epoch()).count();
    last_checkpoint_ = clock_.Now();
    checkpointed_entries_ = writer->entries();

    RefreshDiscovery(log);
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
    if (from_) {
      hooks.RestoreCounts(from_->checkpoint.hooks_attempted, from_->checkpoint.hooks_failed);
      items.RestoreState(std::move(from_->items));
      from_->checkpoint = {};  // the state now lives in `items`, `log` and `hooks`
    }
    writer_ = writer.get();
    log_ = &log;
    hooks_ = &hooks;
    items_ = &items;
    LIFEBOAT_RETURN_IF_ERROR(Collect(filters, namespaces, items, log));
    LIFEBOAT_RETURN_IF_ERROR(BackupNamespaces(filters, namespaces, items, log));
    if (!filters.CrdsNamedExplicitly()) LIFEBOAT_RETURN_IF_ERROR(BackupCrds(items));
    LIFEBOAT_RETURN_IF_ERROR(writer->Finish());
    LIFEBOAT_RETURN_IF_ERROR(tar_out->Close());

    const ItemCounts& c = items.counts();
    b_.status.progress = api::BackupProgress{c.items, c.items};
    b_.status.volume_snapshots_attempted = c.snapshots_attempted;
    b_.status.volume_snapshots_completed = c.snapshots_completed;
    b_.status.csi_volume_snapshots_attempted = c.csi_snapshots_attempted;
    b_.status.csi_volume_snapshots_completed = c.csi_snapshots_completed;
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
    // Scratch files (no journal) are never written again: a store may link them instead of
    // copying. A journal's files are not: a resumed run would truncate them.
    return Upload(files.tarball, files.logfile, /*takeable=*/files.tarball_tmp.has_value(), items, results);
  }

 private:
  // Where the archive and log are written: temporary files, or the journal's files (truncated
  // to the checkpoint when resuming).
  struct Files {
    std::optional<TempFile> tarball_tmp, logfile_tmp;
    std::unique_ptr<ByteSink> tar_sink, log_sink;
    std::filesystem::path tarball, logfile;
    ByteSink* tar_out = nullptr;
    ByteSink* log_out = nullptr;
  };

  Status OpenFiles(Files& f) {
    if (journal_.empty()) {
      const std::string stem = "lifeboat-" + b_.metadata.name;
      LIFEBOAT_ASSIGN_OR_RETURN(TempFile t, TempFile::Create(options_.temp_dir, stem + "-tar"));
      LIFEBOAT_ASSIGN_OR_RETURN(TempFile l, TempFile::Create(options_.temp_dir, stem + "-log"));
      f.tarball_tmp.emplace(std::move(t));
      f.logfile_tmp.emplace(std::move(l));
      f.tarball = f.tarball_tmp->path();
      f.logfile = f.logfile_tmp->path();
      // Scratch files, uploaded and deleted: without a journal a crash leaves nothing to resume
      // from, so they are never fsynced here (the store makes its copies durable). The archive
      // is written back to disk as it grows: a local store that links it (and syncs it) then
      // finds it mostly on disk already.
      LIFEBOAT_ASSIGN_OR_RETURN(f.log_sink, ScratchFileSink(f.logfile, 0600));
      LIFEBOAT_ASSIGN_OR_RETURN(f.tar_sink, ScratchFileSink(f.tarball, 0600, /*early_writeback=*/true));
      f.tar_out = f.tar_sink.get();
      f.log_out = f.log_sink.get();
      return absl::OkStatus();
    }
    LIFEBOAT_RETURN_IF_ERROR(CreateJournalDir(journal_));
    f.tarball = journal_ / kJournalArchive;
    f.logfile = journal_ / kJournalLog;
    LIFEBOAT_ASSIGN_OR_RETURN(
        tar_file_, JournalFile::Open(f.tarball, from_ ? from_->checkpoint.archive_bytes : 0));
    LIFEBOAT_ASSIGN_OR_RETURN(
        log_file_, JournalFile::Open(f.logfile, from_ ? from_->checkpoint.log_bytes : 0));
    f.tar_out = tar_file_.get();
    f.log_out = log_file_.get();
    return absl::OkStatus();
  }

  // The log's first lines (and, when resuming, its restored results) and the archive writer's
  // options: a resumed archive goes on with the first run's mtime and counts.
  archive::WriterOptions Start(BackupLog& log) {
    archive::WriterOptions wo;
    wo.threads = options_.archive_threads;
    wo.level = options_.archive_level;
    // Level 1 asks for the cheapest compression: ISA-L's igzip when the build has it (about a
    // fifth of libdeflate's CPU on these tar streams; the CPU a backup saves is the API
    // server's when both share a machine).
    if (options_.archive_level <= 1) {
      wo.level = 1;
      wo.compressor = archive::Compressor::kFastest;
    }
    wo.mtime = clock_.Now();
    if (from_) {
      const Checkpoint& cp = from_->checkpoint;
      log.RestoreResults(cp.warnings, cp.errors);
      log.Info("Resuming the backup from checkpoint " + std::to_string(cp.sequence) + " after " +
               std::to_string(from_->items.counts.items) + " items (" +
               options_.server_version + ")");
      wo.mtime = std::chrono::system_clock::time_point(std::chrono::seconds(cp.archive_mtime));
      wo.prior_entries = cp.archive_entries;
      wo.prior_uncompressed_bytes = cp.archive_tar_bytes;
      sequence_ = cp.sequence;
      completed_.insert(cp.completed_tasks.begin(), cp.completed_tasks.end());
      discovery_warned_ = cp.discovery_warnings;
    } else {
      log.Info("Setting up backup temp file and log, starting backup (" +
               options_.server_version + ")");
      if (!not_resumed_.empty()) {
        log.Info("Starting the interrupted backup again from the beginning: no usable "
                 "checkpoint (" + not_resumed_ + ")");
      }
    }
    return wo;
  }

  // Every backup starts from what the API server serves at that moment: a resource type that
  // appeared since the last backup (a CRD installed with an operator) is backed up with its
  // objects, and one that went away is not listed. (Velero refreshes every 5 minutes, so a
  // backup right after installing an operator misses its custom resources.) When the refresh
  // fails, the backup goes on with the previous view, with a warning; with none, the first
  // lookup fails the backup.
  void RefreshDiscovery(BackupLog& log) {
    if (Status s = deps_.discovery->Refresh(); !s.ok()) {
      log.Warn("Refreshing API discovery failed; backing up the resources discovered earlier: " +
               std::string(s.message()));
    }
  }

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
      // Velero's auto-exclusion: VolumeSnapshots and their contents enter a backup only as the
      // additional items of the CSI actions (the snapshots this backup takes).
      const std::string gr = GroupResource(r);
      if (gr == kVolumeSnapshotsGR || gr == kVolumeSnapshotContentsGR) continue;
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
      // After a resume, a group already reported before the checkpoint is not counted twice.
      if (std::find(discovery_warned_.begin(), discovery_warned_.end(), f.group_version) !=
          discovery_warned_.end()) {
        continue;
      }
      discovery_warned_.push_back(f.group_version);
      log.Warn("Skipping API group " + f.group_version + " that failed discovery: " +
               std::string(f.status.message()));
    }
    std::vector<kube::ApiResource> order = BackupOrder(groups, all);
    std::vector<ListTask> tasks = Tasks(filters, namespaces, order);
    // Tasks finished before the checkpoint are not listed again (a partly done one is: its
    // items already written are skipped by ItemBackupper).
    std::erase_if(tasks, [&](const ListTask& t) { return completed_.count(KeyOf(t)) > 0; });
    size_t done = 0;  // tasks[0, done) are finished
    // tasks[0, started) have had their resource's orderedResources items backed up (those come
    // before the resource's first listed item; a resource's tasks follow each other).
    size_t started = 0;
    auto start_resources = [&](size_t end) -> Status {
      for (; started < end; ++started) {
        if (started > 0 && tasks[started - 1].resource.name == tasks[started].resource.name &&
            tasks[started - 1].resource.group == tasks[started].resource.group) {
          continue;
        }
        LIFEBOAT_RETURN_IF_ERROR(BackupOrdered(filters, tasks, started, items, log));
      }
      return absl::OkStatus();
    };
    auto last_progress = clock_.Now();
    OrderedListerOptions lo{options_.list_workers, options_.page_size, 1};
    lo.while_cpu_idle = options_.adaptive_list_workers;
    lo.page_bytes = options_.page_bytes;
    // Items as served are written from their page's text, with nothing to prepare; in Go's
    // json.Marshal form they are serialized on the listing threads. The writer thread
    // re-serializes only items an action changed.
    lo.raw_items = options_.items_as_served;
    if (!options_.items_as_served) {
      lo.prepare = [](const kube::LazyItem& item, std::string& out) { item.AppendCanonical(out); };
    }
    Status listed = ListInOrder(
        *deps_.client, tasks, lo,
        [&](size_t i, Page& page, const Status& error) -> Status {
          for (; done < i; ++done) completed_.insert(KeyOf(tasks[done]));
          LIFEBOAT_RETURN_IF_ERROR(MaybeCheckpoint(/*force=*/false));
          LIFEBOAT_RETURN_IF_ERROR(start_resources(i + 1));
          const ListTask& t = tasks[i];
          if (!error.ok()) {
            log.Error("Error listing items", {GroupResource(t.resource), t.ns, ""}, error);
            return absl::OkStatus();
          }
          for (size_t k = 0; k < page.items.size(); ++k) {
            const kube::LazyItem& item = page.items[k];
            if (!t.resource.namespaced || filters.NamespaceIncluded(item.Namespace())) {
              LIFEBOAT_RETURN_IF_ERROR(items.BackupListed(t.resource, item, page.prepared(k)));
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
    if (!listed.ok()) return listed;
    LIFEBOAT_RETURN_IF_ERROR(start_resources(tasks.size()));  // resources that listed nothing
    for (; done < tasks.size(); ++done) completed_.insert(KeyOf(tasks[done]));
    return MaybeCheckpoint(/*force=*/true);
  }

  // Velero's orderedResources for the resource of tasks[first] (and the tasks after it of the
  // same resource): the items named under its plural name ("ns/name", or "name" when
  // cluster-scoped; comma-separated) are backed up first, in that order, then the rest as
  // listed (already written, they are not written again). A name the listing would not give (no
  // such item, or one in a namespace or with labels the backup does not select) is reported as
  // Velero reports it.
  Status BackupOrdered(const BackupFilters& filters, const std::vector<ListTask>& tasks,
                       size_t first, ItemBackupper& items, BackupLog& log) {
    const kube::ApiResource& resource = tasks[first].resource;
    auto order = b_.spec.ordered_resources.find(resource.name);
    if (order == b_.spec.ordered_resources.end() || order->second.empty()) return absl::OkStatus();
    size_t last = first;
    while (last + 1 < tasks.size() && tasks[last + 1].resource.name == resource.name &&
           tasks[last + 1].resource.group == resource.group) {
      ++last;
    }
    const std::vector<std::string> names = absl::StrSplit(order->second, ',');
    for (std::string_view name : names) {
      std::string_view ns;
      std::string_view item_name = name;
      const size_t slash = name.find('/');
      bool found = false;
      if (resource.namespaced == (slash != std::string_view::npos) && !name.empty()) {
        if (resource.namespaced) {
          ns = name.substr(0, slash);
          item_name = name.substr(slash + 1);
        }
        auto item = deps_.client->Get(resource.gvr(), std::string(ns), std::string(item_name));
        if (!item.ok() && item.status().code() != absl::StatusCode::kNotFound) {
          log.Error("Error getting an ordered item",
                    {GroupResource(resource), std::string(ns), std::string(item_name)},
                    item.status());
          continue;
        }
        if (item.ok() && (ns.empty() || filters.NamespaceIncluded(ns))) {
          const std::map<std::string, std::string> labels = kube::ObjectLabels(*item);
          for (size_t j = first; j <= last && !found; ++j) {
            if (!tasks[j].ns.empty() && tasks[j].ns != ns) continue;
            if (tasks[j].label_selector.empty()) {
              found = true;
              continue;
            }
            auto selector = api::LabelSelector::Parse(tasks[j].label_selector);
            found = selector.ok() && selector->Matches(labels);
          }
        }
        if (found) LIFEBOAT_RETURN_IF_ERROR(items.BackupListed(resource, *std::move(item)));
      }
      if (!found) log.Warn("Cannot find resource '" + std::string(name) + "'.");
    }
    return absl::OkStatus();
  }

  // Crash safety: at a page boundary on this (the writer) thread, once checkpoint_interval has
  // passed since the last checkpoint and something was written since (or when forced), makes
  // the archive and log durable and records them in checkpoint.json.
  Status MaybeCheckpoint(bool force) {
    if (journal_.empty()) return absl::OkStatus();
    if (!force && (clock_.Now() - last_checkpoint_ < options_.checkpoint_interval ||
                   writer_->entries() == checkpointed_entries_)) {
      return absl::OkStatus();
    }
    LIFEBOAT_RETURN_IF_ERROR(writer_->Checkpoint());
    LIFEBOAT_RETURN_IF_ERROR(log_->Checkpoint());
    LIFEBOAT_RETURN_IF_ERROR(tar_file_->Sync());
    LIFEBOAT_RETURN_IF_ERROR(log_file_->Sync());
    Checkpoint c;
    c.uid = b_.metadata.uid;
    c.spec_hash = SpecHash(b_.spec);
    c.start_timestamp = b_.status.start_timestamp.value_or("");
    c.expiration = b_.status.expiration.value_or("");
    c.archive_mtime = mtime_;
    c.archive_bytes = tar_file_->size();
    c.archive_entries = writer_->entries();
    c.archive_tar_bytes = writer_->uncompressed_bytes();
    c.log_bytes = log_file_->size();
    c.sequence = ++sequence_;
    c.completed_tasks.assign(completed_.begin(), completed_.end());
    c.discovery_warnings = discovery_warned_;
    c.items = items_->SaveState();
    c.hooks_attempted = hooks_->attempted();
    c.hooks_failed = hooks_->failed();
    c.warnings = log_->warning_results();
    c.errors = log_->error_results();
    LIFEBOAT_RETURN_IF_ERROR(SaveCheckpoint(journal_, c));
    last_checkpoint_ = clock_.Now();
    checkpointed_entries_ = c.archive_entries;
    if (stats_ != nullptr) ++stats_->checkpoints;
    if (options_.on_checkpoint) options_.on_checkpoint(items_->counts().items);
    return absl::OkStatus();
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

  Status Upload(const std::filesystem::path& tarball, const std::filesystem::path& logfile, bool takeable,
                ItemBackupper& items, const boost::json::object& results) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto contents, takeable ? TakeableFileSource(tarball) : FileSource(tarball));
    auto log = takeable ? TakeableFileSource(logfile) : FileSource(logfile);
    // A gzip member per kind (igzip when the build has ISA-L: at 100,000 items zlib took 10 ms
    // of the backup's serial end), so only one kind's names are in memory as JSON at a time.
    std::string resource_list_gz, member;
    LIFEBOAT_RETURN_IF_ERROR(items.WriteResourceListJson([&](std::string_view piece) {
      LIFEBOAT_RETURN_IF_ERROR(archive::CompressGzipMemberInto(
          piece, /*level=*/1, archive::Compressor::kFastest, member));
      resource_list_gz += member;
      return absl::OkStatus();
    }));
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
  // The journal (empty: none) and the checkpoint this run resumes from (if any).
  std::filesystem::path journal_;
  std::optional<Resumable> from_;
  std::string not_resumed_;
  std::unique_ptr<JournalFile> tar_file_, log_file_;
  archive::ArchiveWriter* writer_ = nullptr;
  BackupLog* log_ = nullptr;
  HookRunner* hooks_ = nullptr;
  ItemBackupper* items_ = nullptr;
  std::set<TaskKey> completed_;
  std::vector<std::string> discovery_warned_;
  Clock::TimePoint last_checkpoint_{};
  int64_t checkpointed_entries_ = 0;
  int64_t sequence_ = 0;
  int64_t mtime_ = 0;
};

}  // namespace

Backupper::Backupper(BackupperDeps deps, BackupperOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

namespace {

// Backupper::Run once the journal is settled: the status fields, the bucket check, the run.
api::Backup RunWithJournal(const BackupperDeps& deps, const BackupperOptions& options,
                           api::Backup b, const ProgressFn& progress,
                           const CancellationToken& cancel, BackupRunStats* stats, Clock& clock,
                           const std::filesystem::path& journal, std::optional<Resumable> from,
                           std::string not_resumed) {
  const auto start = clock.Now();
  b.status.version = 1;
  b.status.format_version = std::string(api::kBackupFormatVersion);
  b.status.start_timestamp = api::FormatRfc3339(start);
  b.status.expiration = api::FormatRfc3339(start + std::chrono::duration_cast<std::chrono::seconds>(b.spec.ttl));
  if (from) {
    // The backup goes on: it keeps the first run's start (and so its expiration).
    b.status.start_timestamp = from->checkpoint.start_timestamp;
    b.status.expiration = from->checkpoint.expiration;
    b.status.progress = api::BackupProgress{from->items.counts.items, from->items.counts.items};
  }
  b.status.phase = api::BackupPhase::kInProgress;
  if (progress) progress(b);
  auto exists = deps.store->BackupExists(b.metadata.name);
  if (!exists.ok()) {
    return Finish(std::move(b), api::BackupPhase::kFailed,
                  "error checking if backup already exists in object storage: " +
                      std::string(exists.status().message()),
                  clock);
  }
  if (*exists) {
    return Finish(std::move(b), api::BackupPhase::kFailed, "backup already exists in object storage", clock);
  }
  Status s = BackupRun(deps, options, b, progress, cancel, clock, stats, journal, std::move(from),
                       std::move(not_resumed))
                 .Execute();
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

}  // namespace

void DiscardBackupJournal(const std::filesystem::path& journal_dir, const std::string& uid) {
  if (journal_dir.empty() || uid.empty()) return;
  RemoveJournal(JournalDir(journal_dir, uid));
}

api::Backup Backupper::Run(api::Backup b, const ProgressFn& progress, const CancellationToken& cancel,
                           BackupRunStats* stats, bool resume) {
  Clock& clock = deps_.clock != nullptr ? *deps_.clock : RealClock();
  if (std::vector<std::string> problems = api::ValidateBackupSpec(b.spec); !problems.empty()) {
    b.status.phase = api::BackupPhase::kFailedValidation;
    b.status.validation_errors = std::move(problems);
    return b;
  }
  ApplyDefaults(b);
  std::filesystem::path journal;
  std::optional<Resumable> from;
  std::string not_resumed;
  if (!options_.journal_dir.empty() && !b.metadata.uid.empty()) {
    journal = JournalDir(options_.journal_dir, b.metadata.uid);
    if (resume) {
      auto loaded = LoadResumable(journal, b);
      if (loaded.ok()) {
        from = std::move(*loaded);
      } else {
        not_resumed = std::string(loaded.status().message());
      }
    }
    if (!from) RemoveJournal(journal);
  } else if (resume) {
    not_resumed = options_.journal_dir.empty() ? "no journal directory" : "the backup has no uid";
  }
  if (stats != nullptr) {
    stats->resumed = from.has_value();
    stats->resumed_from_items = from ? from->items.counts.items : 0;
    stats->not_resumed_reason = not_resumed;
  }
  if (resume) {
    if (from) {
      LB_LOG_INFO("backup {}/{}: resuming from its checkpoint after {} items (checkpoint {})",
                  b.metadata.namespace_, b.metadata.name, from->items.counts.items,
                  from->checkpoint.sequence);
    } else {
      LB_LOG_INFO("backup {}/{}: running from the beginning (no usable checkpoint: {})",
                  b.metadata.namespace_, b.metadata.name, not_resumed);
    }
  }
  api::Backup out = RunWithJournal(deps_, options_, std::move(b), progress, cancel, stats, clock,
                                   journal, std::move(from), std::move(not_resumed));
  const bool keep = options_.keep_journal_on_cancel && cancel.IsCancelled() &&
                    out.status.phase == api::BackupPhase::kFailed;
  if (!journal.empty() && !keep) RemoveJournal(journal);
  return out;
}

}  // namespace lifeboat::backup
