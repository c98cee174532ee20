#pragma once

// The backup engine: reads every selected object through the Kubernetes API and keeps it in a
// bucket in Velero's format (the tarball and the files beside it). Backupper::Run does one
// backup from start to end: validation, resource collection (several resources listed at once,
// pages written in a fixed order, so memory stays bounded and the archive is the same for the
// same cluster), item actions and hooks, volume snapshots, and the upload, with
// velero-backup.json written last and only once.
//
// Thread safety: Run may be called from several threads at once (different backups).

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/archive/writer.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/pod_exec.h"
#include "lifeboat/plugin/backup_item_action.h"
#include "lifeboat/plugin/volume_snapshotter.h"
#include "lifeboat/storage/backup_store.h"

namespace lifeboat::backup {

// A VolumeSnapshotLocation chosen for the backup (resolved by the controller).
struct SnapshotLocation {
  std::string name;
  std::string provider;
  std::map<std::string, std::string> config;
};

struct BackupperOptions {
  // Collections listed at once at most: more than one only while the CPU has idle time
  // (docs/backup.md "Scale and memory"); they help against a remote API server.
  int list_workers = 2;
  // false: always list_workers collections at once, whatever the CPU.
  bool adaptive_list_workers = true;
  int64_t page_size = 500;  // items per LIST page at most
  // ... and about this many bytes per page (kube::ListAllOptions::page_bytes; 0: no bound):
  // a page is held as text and parsed tape (~3x its size) in up to 4 places per list at once.
  int64_t page_bytes = int64_t{512} << 10;
  int archive_threads = 2;    // parallel gzip
  int archive_level = 6;
  // Listed items go into the archive as the API server sent them, with the kind and apiVersion
  // a list leaves out put first (docs/formats/backup-archive.md). false: in Go's json.Marshal
  // form (keys sorted), byte for byte what Velero writes, for ~10% more CPU.
  bool items_as_served = true;
  std::filesystem::path temp_dir = std::filesystem::temp_directory_path();
  std::string server_version = "lifeboat";  // for the log

  // Crash safety (docs/backup.md "Checkpoints and resume"). Empty: no journal; the archive and
  // log are temporary files and an interrupted run can only start again. Otherwise the run
  // keeps its archive, log and checkpoints in <journal_dir>/<metadata.uid>/ (no uid: no
  // journal), and Run(..., resume=true) continues from the last checkpoint.
  std::filesystem::path journal_dir;
  // A checkpoint is taken at the first page boundary after this much time since the last one
  // (0: at every page boundary; tests), and once when the listing ends.
  std::chrono::milliseconds checkpoint_interval{5000};
  // When the run stops because `cancel` fired: keep the journal (the caller will resume the
  // backup later, e.g. after a server restart) or remove it (the default: a cancelled backup
  // leaves nothing behind). Every other ending removes the journal.
  bool keep_journal_on_cancel = false;
  // Called on the writer thread after each checkpoint is on disk, with the items backed up so
  // far (tests, diagnostics). Must not block.
  std::function<void(int64_t items)> on_checkpoint;
};

struct BackupperDeps {
  kube::DynamicClient* client = nullptr;
  kube::Discovery* discovery = nullptr;
  kube::PodExecutor* exec = nullptr;            // hooks; null: every hook fails
  storage::BackupStore* store = nullptr;
  std::vector<std::shared_ptr<plugin::BackupItemAction>> actions;  // in registration order
  std::vector<SnapshotLocation> snapshot_locations;
  plugin::VolumeSnapshotterFactory snapshotters;  // null: no native snapshots
  Clock* clock = nullptr;                         // null: the real clock
};

// Called with the backup as its status advances (phase InProgress, progress counts), so the
// controller can patch it; at most about once a second plus once per phase change.
using ProgressFn = std::function<void(const api::Backup&)>;

// What a run uploaded, for the server's metrics (set only when the upload succeeded).
struct BackupRunStats {
  int64_t tarball_bytes = -1;   // size of <name>.tar.gz
  int64_t bytes_uploaded = 0;   // every byte of every file of the backup
  // Crash safety (set whether or not the run succeeded):
  bool resumed = false;            // the run continued from a checkpoint
  int64_t resumed_from_items = 0;  // items the checkpoint held
  std::string not_resumed_reason;  // resume was asked but the run started over: why
  int64_t checkpoints = 0;         // checkpoints this run wrote
};

// Removes the journal of the backup with `uid` under `journal_dir` (e.g. when a user cancels
// a backup whose run kept its journal). Nothing happens when there is none.
void DiscardBackupJournal(const std::filesystem::path& journal_dir, const std::string& uid);

class Backupper {
 public:
  Backupper(BackupperDeps deps, BackupperOptions options = {});

  // Runs `backup` and returns it with its final status: FailedValidation (every problem in
  // status.validationErrors), Failed (status.failureReason says why: an unreachable bucket, a
  // backup of that name already in it, a cancelled run), PartiallyFailed (per-item errors, see
  // the results file) or Completed. Nothing is uploaded unless the archive is complete.
  // `stats` (optional) receives the uploaded sizes.
  //
  // `resume`: the backup was interrupted (e.g. the server restarted) and should continue from
  // its journal's last checkpoint when there is a usable one (same uid, same spec, files
  // intact); otherwise it starts from the beginning, saying why in stats->not_resumed_reason
  // and in its log. Without `resume` any journal of this uid is discarded first.
  api::Backup Run(api::Backup backup, const ProgressFn& progress = nullptr,
                  const CancellationToken& cancel = {}, BackupRunStats* stats = nullptr,
                  bool resume = false);

 private:
  BackupperDeps deps_;
  BackupperOptions options_;
};

}  // namespace lifeboat::backup
