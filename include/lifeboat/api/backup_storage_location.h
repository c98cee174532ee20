#pragma once

// velero.io/v1 BackupStorageLocation with its JSON codec; unknown fields preserved via `raw`.

#include <map>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "lifeboat/api/duration.h"
#include "lifeboat/api/meta.h"
#include "lifeboat/common/status.h"

namespace lifeboat::api {

enum class BackupStorageLocationPhase { kUnset, kAvailable, kUnavailable };
std::string_view ToString(BackupStorageLocationPhase p);

enum class AccessMode { kUnset, kReadWrite, kReadOnly };
std::string_view ToString(AccessMode m);

struct ObjectStorageLocation {
  std::string bucket, prefix;
  std::string ca_cert;  // base64 as in the JSON (deprecated by caCertRef)
  std::optional<SecretKeySelector> ca_cert_ref;
  bool operator==(const ObjectStorageLocation&) const = default;
};

struct BackupStorageLocationSpec {
  std::string provider;
  std::map<std::string, std::string> config;
  std::optional<SecretKeySelector> credential;
  ObjectStorageLocation object_storage;
  bool default_ = false;
  AccessMode access_mode = AccessMode::kUnset;  // unset means ReadWrite
  std::optional<Duration> backup_sync_period;
  std::optional<Duration> validation_frequency;
  bool operator==(const BackupStorageLocationSpec&) const = default;
};

struct BackupStorageLocationStatus {
  BackupStorageLocationPhase phase = BackupStorageLocationPhase::kUnset;
  std::optional<std::string> last_synced_time, last_validation_time;
  std::string message;
  std::string last_synced_revision;  // deprecated
  AccessMode access_mode = AccessMode::kUnset;  // deprecated
  bool operator==(const BackupStorageLocationStatus&) const = default;
};

struct BackupStorageLocation {
  ObjectMeta metadata;
  BackupStorageLocationSpec spec;
  BackupStorageLocationStatus status;
  boost::json::object raw;
};

StatusOr<BackupStorageLocation> BackupStorageLocationFromJson(const boost::json::value& v);
boost::json::value ToJson(const BackupStorageLocation& l);

}  // namespace lifeboat::api
