#pragma once

// Velero's CSI BackupItemActions (pkg/backup/actions/csi), which snapshot a claim's volume
// through the Kubernetes VolumeSnapshot API (snapshot.storage.k8s.io/v1) and carry the snapshot
// objects in the backup:
//   velero.io/csi-pvc-backupper                 persistentvolumeclaims: creates a VolumeSnapshot
//                                               of a CSI volume and waits until it is ready
//   velero.io/csi-volumesnapshot-backupper      volumesnapshots: Velero's annotations, the
//                                               VolumeSnapshotContent and class as additional items
//   velero.io/csi-volumesnapshotcontent-backupper  volumesnapshotcontents: the deletion secret
//   velero.io/csi-volumesnapshotclass-backupper    volumesnapshotclasses: the list secret
// Velero runs them only with the EnableCSI feature flag; Lifeboat always does (a cluster that
// does not serve snapshot.storage.k8s.io simply gets no CSI snapshots).
//
// Finalizing (Velero's finalize step): once a VolumeSnapshot and its content are in the archive,
// the engine calls ReleaseSnapshot, which sets the content's deletionPolicy to Retain and deletes
// the VolumeSnapshot, so the snapshot outlives the namespace and belongs to the backup.
//
// Thread safety: Execute may be called from several threads at once on one instance.

#include <cstdint>
#include <string>

#include <boost/json.hpp>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/plugin/backup_item_action.h"

namespace lifeboat::backup {

inline constexpr std::string_view kSnapshotGroup = "snapshot.storage.k8s.io";
inline constexpr std::string_view kVolumeSnapshotsGR = "volumesnapshots.snapshot.storage.k8s.io";
inline constexpr std::string_view kVolumeSnapshotContentsGR =
    "volumesnapshotcontents.snapshot.storage.k8s.io";
inline constexpr std::string_view kVolumeSnapshotClassesGR =
    "volumesnapshotclasses.snapshot.storage.k8s.io";

// What the CSI PVC action did for one claim, for the engine's volume info and status counts.
struct CsiSnapshotOutcome {
  std::string pv_name;         // empty: the claim is not bound (nothing to record)
  bool attempted = false;      // a VolumeSnapshot was created
  bool completed = false;      // it became ready and its content has a snapshot handle
  std::string skipped_reason;  // not attempted: "csiSnapshot: <why>;" ("" for a non-CSI volume)
  std::string error;           // attempted but failed: why
  std::string vs_namespace, vs_name, vsc_name, snapshot_handle, driver;
  int64_t size = 0;                   // restore size in bytes (0 when unknown)
  std::string start_timestamp;        // VolumeSnapshot creationTimestamp
  std::string completion_timestamp;   // VolumeSnapshot status.creationTime (when cut)
};

// velero.io/csi-pvc-backupper. For a Bound claim with a storageClassName whose PV has spec.csi,
// when the cluster serves snapshot.storage.k8s.io and a VolumeSnapshotClass is chosen for the
// driver (the claim's annotation velero.io/csi-volumesnapshot-class, else the Backup's
// annotation velero.io/csi-volumesnapshot-class_<driver>, else the class labelled
// velero.io/csi-volumesnapshot-class=true, else the class annotated
// snapshot.storage.kubernetes.io/is-default-class=true, else the driver's only class): creates
// a VolumeSnapshot (generateName velero-<claim>-, the claim's labels + velero.io/backup-name)
// and waits — up to the Backup's spec.csiSnapshotTimeout (default 10m), polling, stopping at
// `cancel` — until it is readyToUse and its content has status.snapshotHandle. Then the claim
// gets label and annotation velero.io/volume-snapshot-name and annotation
// backup.velero.io/must-include-additional-items, and the VolumeSnapshot is the additional item.
// A non-CSI volume gets annotation backup.velero.io/skipped-no-csi-pv=true. No snapshot (item
// unchanged, OK) when snapshotVolumes is false, the claim is not Bound or has no class, the
// group is not served or the driver has no class (for these last two outcome.skipped_reason
// says which). An error
// in the VolumeSnapshot's or content's status is not final (the snapshot controller retries; as
// in Velero the wait goes on); when the timeout passes (DeadlineExceeded, with the last error
// seen) or `cancel` fires, the VolumeSnapshot is deleted and the error returned (the engine
// records it against the claim and backs the claim up unchanged).
class CsiPvcAction : public plugin::BackupItemAction {
 public:
  // `client` is borrowed; `clock` (null: the real clock) measures the timeout.
  explicit CsiPvcAction(kube::DynamicClient* client, Clock* clock = nullptr)
      : client_(client), clock_(clock) {}
  std::string Name() const override { return "velero.io/csi-pvc-backupper"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::ExecuteOutput> Execute(boost::json::value item,
                                          const plugin::BackupContext& backup) override {
    return Snapshot(std::move(item), backup, {}, nullptr);
  }
  // Execute with the backup's cancellation token and a report of what was done (`outcome` may
  // be null). The engine calls this one.
  StatusOr<plugin::ExecuteOutput> Snapshot(boost::json::value item,
                                           const plugin::BackupContext& backup,
                                           const CancellationToken& cancel,
                                           CsiSnapshotOutcome* outcome);

 private:
  kube::DynamicClient* client_;
  Clock* clock_;
};

// velero.io/csi-volumesnapshot-backupper. For a VolumeSnapshot bound to a content: annotations
// velero.io/csi-volumesnapshot-handle, velero.io/csi-driver-name,
// velero.io/csi-vsc-deletion-policy and (when known) velero.io/csi-volumesnapshot-restore-size
// (a Kubernetes quantity, binary SI); the content is labelled velero.io/backup-name in the
// cluster; additional items: the class (spec.volumeSnapshotClassName) then the content, with
// backup.velero.io/must-include-additional-items. An unbound VolumeSnapshot gets only its class.
class CsiVolumeSnapshotAction : public plugin::BackupItemAction {
 public:
  explicit CsiVolumeSnapshotAction(kube::DynamicClient* client) : client_(client) {}
  std::string Name() const override { return "velero.io/csi-volumesnapshot-backupper"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::ExecuteOutput> Execute(boost::json::value item,
                                          const plugin::BackupContext& backup) override;

 private:
  kube::DynamicClient* client_;
};

// velero.io/csi-volumesnapshotcontent-backupper: the secret named by the content's annotations
// csi.storage.k8s.io/snapshotter-secret-name and -namespace, when both are set.
class CsiVolumeSnapshotContentAction : public plugin::BackupItemAction {
 public:
  std::string Name() const override { return "velero.io/csi-volumesnapshotcontent-backupper"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::ExecuteOutput> Execute(boost::json::value item,
                                          const plugin::BackupContext& backup) override;
};

// velero.io/csi-volumesnapshotclass-backupper: the secret named by the class's annotations
// csi.storage.k8s.io/snapshotter-list-secret-name and -namespace, when both are set.
class CsiVolumeSnapshotClassAction : public plugin::BackupItemAction {
 public:
  std::string Name() const override { return "velero.io/csi-volumesnapshotclass-backupper"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::ExecuteOutput> Execute(boost::json::value item,
                                          const plugin::BackupContext& backup) override;
};

// Velero's finalize step for one backed-up VolumeSnapshot: its bound content's deletionPolicy
// set to Retain (merge patch), then the VolumeSnapshot deleted. OK when the VolumeSnapshot is
// already gone; FailedPrecondition when it is not bound to a content.
Status ReleaseSnapshot(kube::DynamicClient& client, const boost::json::value& volume_snapshot);

// resource.NewQuantity(bytes, BinarySI).String(): "1Gi", "1536", "0".
std::string BinarySiQuantity(int64_t bytes);

}  // namespace lifeboat::backup
