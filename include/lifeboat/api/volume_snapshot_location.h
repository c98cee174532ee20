#pragma once

// velero.io/v1 VolumeSnapshotLocation with its JSON codec; unknown fields preserved via `raw`.

#include <map>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/meta.h"
#include "lifeboat/common/status.h"

namespace lifeboat::api {

struct VolumeSnapshotLocationSpec {
  std::string provider;
  std::map<std::string, std::string> config;
  std::optional<SecretKeySelector> credential;
  bool operator==(const VolumeSnapshotLocationSpec&) const = default;
};

struct VolumeSnapshotLocationStatus {
  BackupStorageLocationPhase phase = BackupStorageLocationPhase::kUnset;  // Available/Unavailable
  bool operator==(const VolumeSnapshotLocationStatus&) const = default;
};

struct VolumeSnapshotLocation {
  ObjectMeta metadata;
  VolumeSnapshotLocationSpec spec;
  VolumeSnapshotLocationStatus status;
  boost::json::object raw;
};

StatusOr<VolumeSnapshotLocation> VolumeSnapshotLocationFromJson(const boost::json::value& v);
boost::json::value ToJson(const VolumeSnapshotLocation& l);

}  // namespace lifeboat::api
