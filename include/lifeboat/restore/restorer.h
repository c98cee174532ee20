#pragma once

// The restore engine: rebuilds what a backup holds in a cluster (the same one or a new one),
// in Velero's order and with Velero's rules, from Lifeboat's and Velero's backups alike.
// Restorer::Run does one restore from start to end: validation, the download and verification of
// the tarball (into a private temporary directory, removed at the end), the choice of API
// version per resource, the priority tiers (CRDs first, then Velero's high priorities, the rest
// alphabetically, the low priorities), filters and selectors, namespace mapping, item actions,
// resource modifiers, creation (items of one resource in parallel), the existing-resource
// policy, status restore, hooks, and the files uploaded beside the backup
// (restores/<name>/restore-<name>-logs.gz, -results.gz, -resource-list.json.gz).
//
// Memory stays bounded: items are read from the extracted tarball one at a time; only their
// names are indexed.
//
// Thread safety: Run may be called from several threads at once (different restores).

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/restore.h"
#include "lifeboat/archive/reader.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/pod_exec.h"
#include "lifeboat/plugin/restore_item_action.h"
#include "lifeboat/plugin/volume_snapshotter.h"
#include "lifeboat/storage/backup_store.h"

namespace lifeboat::restore {

// Velero's --restore-resource-priorities default: high priorities, then (after "-") the low
// ones; every other resource goes between them in alphabetical order.
std::vector<std::string> DefaultHighPriorities();
std::vector<std::string> DefaultLowPriorities();
// Parses Velero's --restore-resource-priorities value: "a,b,-,c" (high, "-", low).
void ParsePriorities(std::string_view text, std::vector<std::string>* high,
                     std::vector<std::string>* low);

struct RestorerOptions {
  int workers = 16;  // items of one resource created at once
  std::filesystem::path temp_dir = std::filesystem::temp_directory_path();
  std::vector<std::string> high_priorities = DefaultHighPriorities();
  std::vector<std::string> low_priorities = DefaultLowPriorities();
  // How long to wait for a restored CRD to be Established, and for a terminating namespace or
  // PV of the same name to go away (Velero's --resource-timeout and
  // --terminating-resource-timeout).
  std::chrono::milliseconds resource_timeout{std::chrono::minutes(10)};
  std::chrono::milliseconds terminating_timeout{std::chrono::minutes(10)};
  std::string velero_namespace = "velero";  // plugin ConfigMaps, resource-modifier ConfigMaps
  std::string server_version = "lifeboat";
  archive::ReaderLimits archive_limits;
  // Set when running a restore again after it was interrupted (a server restart, a new leader):
  // an item that already exists in the cluster AND carries the label
  // velero.io/restore-name=<this restore's name> (label-safe) was created by the interrupted
  // run, so it counts as restored by this one — listed as "created", counted in
  // status.progress, its status restored if asked — with no warning and no "already exists"
  // handling. Everything else behaves as in a first run. Limits: exec hooks of pods created by
  // the interrupted run do not run again; a PV renamed to velero-clone-<uuid> is renamed anew.
  bool resume = false;
};

// A VolumeSnapshotLocation the backup's native snapshots were taken through.
struct RestoreSnapshotLocation {
  std::string name;
  std::string provider;
  std::map<std::string, std::string> config;
};

struct RestorerDeps {
  kube::DynamicClient* client = nullptr;
  kube::Discovery* discovery = nullptr;
  kube::PodExecutor* exec = nullptr;  // exec restore hooks; null: every exec hook fails
  storage::BackupStore* store = nullptr;  // the backup's location
  // Restore item actions in order; the engine adds the built-in ones (Velero's) before these.
  std::vector<std::shared_ptr<plugin::RestoreItemAction>> actions;
  std::vector<RestoreSnapshotLocation> snapshot_locations;
  plugin::VolumeSnapshotterFactory snapshotters;  // null: PVs with native snapshots fail
  Clock* clock = nullptr;                          // null: the real clock
};

// Called as the restore's status advances (phase, progress counts), so the controller can patch
// it; at most about once a second plus once per phase change.
using ProgressFn = std::function<void(const api::Restore&)>;

// The backup a restore names in `store`: spec.backupName's, or — with spec.scheduleName — the
// Completed backup labelled velero.io/schedule-name=<schedule> that started last (Velero's
// rule). NotFound when there is none; the store's and the decoder's errors as they are. Reads
// each backup's velero-backup.json for a schedule: the controller uses its own Backup objects
// instead.
StatusOr<api::Backup> FindBackupToRestore(storage::BackupStore& store, const api::RestoreSpec& spec);

// The restore's volume info: Velero's []RestoreVolumeInfo, uploaded as <r>-volumeinfo.json.gz
// (docs/formats/restore-files.md). Built once the items are created, from the backup's volume
// info (`backup_volume_info`: the JSON array of <b>-volumeinfo.json.gz; anything else means
// none) and what the cluster holds, keeping only objects labelled
// velero.io/restore-name=<restore> (this restore made them):
//  - backupMethod CSISnapshot (not moved): the claim <mapped pvcNamespace>/<pvcName> whose
//    dataSource is a VolumeSnapshot → {pvcName, pvcNamespace, pvName (the claim's volumeName,
//    once bound), restoreMethod "CSISnapshot", snapshotDataMoved false, csiSnapshotInfo
//    {snapshotHandle, size, driver (from the backup), vscName (the restored snapshot's
//    content), ReadyToUse (that content's status.readyToUse, null when unknown)}};
//  - backupMethod NativeSnapshot: the restored PV (the claim's volumeName, which follows a
//    velero-clone-<uuid> rename, else pvName) → {pvcName, pvcNamespace, pvName, restoreMethod
//    "NativeSnapshot", snapshotDataMoved false, nativeSnapshotInfo (the backup's)}.
// With restorePVs=false there are no entries (no volume is restored from a snapshot). Entries
// are in the backup's order. Errors of the cluster other than NotFound are returned.
StatusOr<boost::json::value> BuildRestoreVolumeInfo(kube::DynamicClient& client,
                                                    const api::Restore& restore,
                                                    const boost::json::value& backup_volume_info);

class Restorer {
 public:
  Restorer(RestorerDeps deps, RestorerOptions options = {});

  // Restores `backup` (the Backup object named by restore.spec.backupName, as the controller or
  // the bucket has it) and returns `restore` with its final status: FailedValidation (every
  // problem in status.validationErrors), Failed (status.failureReason: a missing or corrupt
  // tarball, an unknown format version, a cancelled run), PartiallyFailed (per-item errors,
  // see the results file) or Completed. The log, results and resource list are uploaded in
  // every case but FailedValidation.
  api::Restore Run(api::Restore restore, const api::Backup& backup,
                   const ProgressFn& progress = nullptr, const CancellationToken& cancel = {});

 private:
  RestorerDeps deps_;
  RestorerOptions options_;
};

}  // namespace lifeboat::restore
