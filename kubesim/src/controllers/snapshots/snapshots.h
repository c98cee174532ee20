#pragma once

// CSI volume snapshots in kubesim: the snapshot.storage.k8s.io/v1 API (VolumeSnapshot,
// VolumeSnapshotContent, VolumeSnapshotClass CRDs), a simulated CSI driver
// `hostpath.csi.kubesim.io` (StorageClass `csi-hostpath`, VolumeSnapshotClass
// `csi-hostpath-snapclass`) and the snapshot controller (external-snapshotter's common
// controller plus the driver's csi-snapshotter sidecar).
//
// Data: a volume of the driver lives in <data-dir>/volumes/<pv-name>/; a snapshot is a copy of
// it in <snapshot-dir>/<snapshot-handle>/ plus <snapshot-dir>/<snapshot-handle>.json (metadata),
// see docs/formats/kubesim-volumes.md. Several kubesims may share one snapshot dir: a snapshot
// taken in one can be imported into another as a pre-provisioned VolumeSnapshotContent.
//
// Thread safety: EnsureSnapshotApi runs once at start-up; the controllers run on their own
// threads; the free functions on snapshot data are safe to call concurrently for different
// handles (a snapshot directory is created by rename, so readers never see it half-written).

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "kubesim/src/api/cluster.h"
#include "kubesim/src/controllers/context.h"
#include "kubesim/src/controllers/controller.h"
#include "lifeboat/common/status.h"

namespace kubesim::snapshots {

inline constexpr char kDriver[] = "hostpath.csi.kubesim.io";
inline constexpr char kStorageClass[] = "csi-hostpath";
inline constexpr char kSnapshotClass[] = "csi-hostpath-snapclass";
inline constexpr char kGroup[] = "snapshot.storage.k8s.io";
inline constexpr char kVolumeSnapshotsGr[] = "volumesnapshots.snapshot.storage.k8s.io";
inline constexpr char kContentsGr[] = "volumesnapshotcontents.snapshot.storage.k8s.io";
inline constexpr char kClassesGr[] = "volumesnapshotclasses.snapshot.storage.k8s.io";

// The snapshot directory of a controller context (ctx.snapshot_dir, else <data-dir>/snapshots).
std::filesystem::path SnapshotDir(const ControllerContext& ctx);

// Creates what is missing of: the three snapshot.storage.k8s.io CRDs, the StorageClass
// csi-hostpath and the VolumeSnapshotClass csi-hostpath-snapclass. Idempotent; objects that
// exist (also ones a user changed) are left alone.
Status EnsureSnapshotApi(Cluster& cluster);

// Adds the snapshot controller ("snapshot-controller") and the driver's sidecar
// ("csi-snapshotter").
void AddSnapshotControllers(ControllerRunner& runner, const ControllerContext& ctx);

// A claim's spec.dataSourceRef / spec.dataSource naming a VolumeSnapshot (apiGroup
// snapshot.storage.k8s.io, kind VolumeSnapshot), or nullopt if it names none.
std::optional<std::string> SnapshotSourceName(const boost::json::value& claim);

// The handle of snapshot `ns`/`name` if it is ready to use and its content belongs to the
// driver; nullopt (with `why`) otherwise.
std::optional<std::string> ReadySnapshotHandle(const Store& store, const std::string& ns,
                                               const std::string& name, std::string& why);

// A snapshot handle usable as a directory name: IsSafePathComponent and no leading '.'.
bool IsValidHandle(const std::string& handle);

// Copies the volume directory `volume_dir` into <snapshot_dir>/<handle>/ (through a temporary
// directory renamed into place) and writes <handle>.json. An existing snapshot is kept.
Status TakeSnapshot(const std::filesystem::path& volume_dir,
                    const std::filesystem::path& snapshot_dir, const std::string& handle,
                    const std::string& source_volume_handle, int64_t restore_size);

// Fills the new volume directory `volume_dir` (which must not exist) with a copy of snapshot
// `handle` (again through a temporary directory renamed into place).
Status RestoreSnapshot(const std::filesystem::path& snapshot_dir, const std::string& handle,
                       const std::filesystem::path& volume_dir);

struct SnapshotInfo {
  int64_t restore_size = 0;   // bytes
  int64_t creation_time = 0;  // ns since the epoch
};
// The snapshot's metadata (from <handle>.json; without it: size of the files, mtime of the
// directory), or NotFound when <snapshot_dir>/<handle> does not exist.
StatusOr<SnapshotInfo> StatSnapshot(const std::filesystem::path& snapshot_dir,
                                    const std::string& handle);

// Removes <snapshot_dir>/<handle>/ and <handle>.json (absent is fine).
Status DeleteSnapshot(const std::filesystem::path& snapshot_dir, const std::string& handle);

// Bytes of a Kubernetes quantity ("1Gi", "500M", "1024"), nullopt when unparsable.
std::optional<int64_t> ParseQuantityBytes(const std::string& q);
// Bytes as resource.NewQuantity(n, BinarySI) prints them: "1Gi", "1536Ki", "1000".
std::string FormatBinaryQuantity(int64_t bytes);

// The CRD objects (apiextensions.k8s.io/v1) kubesim installs.
boost::json::value VolumeSnapshotCrd();
boost::json::value VolumeSnapshotContentCrd();
boost::json::value VolumeSnapshotClassCrd();

}  // namespace kubesim::snapshots
