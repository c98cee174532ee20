#pragma once

// OrphanSnapshotReconciler: the periodic check for volume snapshots that claim a backup which
// no longer exists (docs/server/volume-snapshots.md). It has one key, kKey; each Reconcile runs
// one check and asks to be called again after `period`.
//
// A check, in this order (snapshots are listed before backups, so a backup created during the
// check cannot make its own snapshots look orphaned):
//   1. CSI: the VolumeSnapshotContents labelled velero.io/backup-name (cluster-wide; none when
//      snapshot.storage.k8s.io is not served).
//   2. Native: for each VolumeSnapshotLocation whose snapshotter (ctx.snapshotters) implements
//      plugin::SnapshotLister, the snapshots tagged velero.io/backup.
//   3. The backups that exist: every Backup object in the server's namespace, whatever its
//      phase (a backup being taken has its object from the start, before any snapshot, and a
//      backup being deleted keeps it until its snapshots are gone), plus every backup in the
//      bucket of every BackupStorageLocation (a backup not synced into this cluster yet).
//   4. A snapshot is an orphan when the backup it claims is not among them, and no existing
//      backup's files record it (volume info vscName, volumesnapshots providerSnapshotID —
//      read only when there are candidates), and it is still there when looked at again.
// Orphans are reported — one warning log line each, and the gauge
// lifeboat_orphaned_volume_snapshots{kind="csi"|"native", location} (CSI: the driver name;
// native: the VolumeSnapshotLocation) — and never deleted: a backup that another cluster is
// still writing to or syncing from a shared bucket, or one whose bucket is unreachable, could
// still claim them.
//
// Errors: when the Backup objects or any location's bucket cannot be listed, the set of
// existing backups is incomplete; nothing is reported, the gauges keep their values and the
// error is returned (the work queue retries with backoff). A location whose snapshots cannot
// be listed (or whose snapshotter cannot be created) is logged and keeps its gauge value.
//
// Thread safety: Reconcile is called for one key, never from two threads at once.

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"

namespace lifeboat::controller {

struct OrphanSnapshotOptions {
  std::chrono::milliseconds period{std::chrono::hours(1)};  // between two checks
};

// One orphan found by a check.
struct OrphanedSnapshot {
  std::string kind;      // "csi" or "native"
  std::string id;        // VolumeSnapshotContent name, or the provider's snapshot ID
  std::string location;  // CSI driver, or VolumeSnapshotLocation
  std::string backup;    // the backup it claims
  std::string handle;    // CSI: status.snapshotHandle ("" for native)
};

class OrphanSnapshotReconciler : public Reconciler {
 public:
  // The only key: the server enqueues it once; every Reconcile requeues it after `period`.
  static constexpr std::string_view kKey = "orphan-snapshot-check";

  explicit OrphanSnapshotReconciler(const ServerContext& ctx, OrphanSnapshotOptions options = {});
  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override;

  // One check, as Reconcile runs it: logs the orphans, sets the gauges and returns them.
  StatusOr<std::vector<OrphanedSnapshot>> Check(const CancellationToken& cancel);

 private:
  ServerContext ctx_;
  OrphanSnapshotOptions options_;
  std::mutex mu_;
  std::map<std::string, int64_t> last_native_;  // gauge values kept for unlisted locations
};

}  // namespace lifeboat::controller
