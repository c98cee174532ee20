#pragma once

// VolumeSnapshotter: Velero's plugin kind for native (cloud) volume snapshots, with its
// operations (Init, GetVolumeID, SetVolumeID, GetVolumeInfo, CreateSnapshot,
// CreateVolumeFromSnapshot, DeleteSnapshot). Providers are created by name from a
// VolumeSnapshotLocation's `provider` and `config`; the drivers (Azure managed disks, ...) come
// with the volume-snapshot work.
//
// Thread safety: every method may be called from any number of threads at once.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/status.h"

namespace lifeboat::plugin {

struct VolumeInfo {
  std::string volume_type;
  std::optional<int64_t> iops;
};

class VolumeSnapshotter {
 public:
  virtual ~VolumeSnapshotter() = default;
  // The provider's volume ID of a PersistentVolume, or "" when this provider does not handle it
  // (the next location is tried).
  virtual StatusOr<std::string> GetVolumeId(const boost::json::value& pv) = 0;
  // The PV pointed at another volume (on restore).
  virtual StatusOr<boost::json::value> SetVolumeId(boost::json::value pv,
                                                   const std::string& volume_id) = 0;
  virtual StatusOr<VolumeInfo> GetVolumeInfo(const std::string& volume_id,
                                             const std::string& zone) = 0;
  // Returns the provider's snapshot ID.
  virtual StatusOr<std::string> CreateSnapshot(const std::string& volume_id,
                                               const std::string& zone,
                                               const std::map<std::string, std::string>& tags) = 0;
  // Returns the new volume's ID.
  virtual StatusOr<std::string> CreateVolumeFromSnapshot(const std::string& snapshot_id,
                                                         const std::string& volume_type,
                                                         const std::string& zone,
                                                         std::optional<int64_t> iops) = 0;
  // OK when the snapshot is already gone.
  virtual Status DeleteSnapshot(const std::string& snapshot_id) = 0;
};

// A snapshot a provider can enumerate (see SnapshotLister).
struct ListedSnapshot {
  std::string snapshot_id;                  // as CreateSnapshot returned it
  std::map<std::string, std::string> tags;  // the tags it was created with
};

// Optional second interface of a VolumeSnapshotter (find it with dynamic_cast): the snapshots
// this location holds that carry every tag in `tags` (an empty map matches all of them). The
// server's orphan check uses it to find snapshots that no backup references any more. Velero's
// interface has no such call; providers that cannot list simply do not implement it.
class SnapshotLister {
 public:
  virtual ~SnapshotLister() = default;
  virtual StatusOr<std::vector<ListedSnapshot>> ListSnapshots(
      const std::map<std::string, std::string>& tags) = 0;
};

// Creates a provider's snapshotter from a VolumeSnapshotLocation's config (Velero's Init).
// InvalidArgument for a bad config; NotFound for an unknown provider.
using VolumeSnapshotterFactory = std::function<StatusOr<std::unique_ptr<VolumeSnapshotter>>(
    const std::string& provider, const std::map<std::string, std::string>& config)>;

}  // namespace lifeboat::plugin
