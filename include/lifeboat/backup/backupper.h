#pragma once

// The backup engine: reads every selected object through the Kubernetes API and keeps it in a
// bucket in Velero's format (the tarball and the files beside it). Backupper::Run does one
// backup from start to end: validation, resource collection (several resources listed at once,
// pages written in a fixed order, so memory stays bounded and the archive is the same for the
// same cluster), item actions and hooks, volume snapshots, and the upload, with
// velero-backup.json written last and only once.
//
// Thread safety: Run may be called from several threads at once (different backups).

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
  int list_workers = 2;       // collections listed at once (more help against a remote API server)
  int64_t page_size = 500;    // items per LIST page
  int archive_threads = 2;    // parallel gzip
  int archive_level = 6;
  std::filesystem::path temp_dir = std::filesystem::temp_directory_path();
  std::string server_version = "lifeboat";  // for the log
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
};

class Backupper {
 public:
  Backupper(BackupperDeps deps, BackupperOptions options = {});

  // Runs `backup` and returns it with its final status: FailedValidation (every problem in
  // status.validationErrors), Failed (status.failureReason says why: an unreachable bucket, a
  // backup of that name already in it, a cancelled run), PartiallyFailed (per-item errors, see
  // the results file) or Completed. Nothing is uploaded unless the archive is complete.
  // `stats` (optional) receives the uploaded sizes.
  api::Backup Run(api::Backup backup, const ProgressFn& progress = nullptr,
                  const CancellationToken& cancel = {}, BackupRunStats* stats = nullptr);

 private:
  BackupperDeps deps_;
  BackupperOptions options_;
};

}  // namespace lifeboat::backup
