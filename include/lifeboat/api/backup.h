#pragma once

// velero.io/v1 Backup: every field of Velero's CRD (test/testdata/api/crds/velero.io_backups.yaml)
// with its JSON codec. Unknown fields are preserved through `raw` (docs/api.md).
//
// Thread safety: plain value types.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/duration.h"
#include "lifeboat/api/label_selector.h"
#include "lifeboat/api/meta.h"
#include "lifeboat/common/status.h"

namespace lifeboat::api {

inline constexpr std::string_view kBackupFormatVersion = "1.1.0";

enum class BackupPhase {
  kUnset,  // "" (not yet seen by a controller)
  kNew,
  kQueued,
  kReadyToStart,
  kFailedValidation,
  kInProgress,
  kWaitingForPluginOperations,
  kWaitingForPluginOperationsPartiallyFailed,
  kFinalizing,
  kFinalizingPartiallyFailed,
  kCompleted,
  kPartiallyFailed,
  kFailed,
  kDeleting,
};
std::string_view ToString(BackupPhase p);
std::optional<BackupPhase> ParseBackupPhase(std::string_view s);  // "" -> kUnset

enum class HookErrorMode { kUnset, kContinue, kFail };
std::string_view ToString(HookErrorMode m);
std::optional<HookErrorMode> ParseHookErrorMode(std::string_view s);

struct ExecHook {
  std::string container;
  std::vector<std::string> command;
  HookErrorMode on_error = HookErrorMode::kUnset;
  Duration timeout{0};
  bool operator==(const ExecHook&) const = default;
};

struct BackupResourceHook {
  std::optional<ExecHook> exec;
  bool operator==(const BackupResourceHook&) const = default;
};

struct BackupResourceHookSpec {
  std::string name;
  std::vector<std::string> included_namespaces, excluded_namespaces;
  std::vector<std::string> included_resources, excluded_resources;
  std::optional<LabelSelector> label_selector;
  std::vector<BackupResourceHook> pre, post;
  bool operator==(const BackupResourceHookSpec&) const = default;
};

struct BackupHooks {
  std::vector<BackupResourceHookSpec> resources;
  bool operator==(const BackupHooks&) const = default;
};

// spec.metadata: labels (and annotations) a Schedule stamps on the backups it creates.
struct BackupSpecMetadata {
  std::map<std::string, std::string> labels, annotations;
  bool operator==(const BackupSpecMetadata&) const = default;
};

struct UploaderConfigForBackup {
  int64_t parallel_files_upload = 0;
  bool operator==(const UploaderConfigForBackup&) const = default;
};

struct BackupSpec {
  BackupSpecMetadata metadata;
  std::vector<std::string> included_namespaces, excluded_namespaces;
  // Old-style resource filters.
  std::vector<std::string> included_resources, excluded_resources;
  std::optional<bool> include_cluster_resources;
  // New-style scoped resource filters.
  std::vector<std::string> included_cluster_scoped_resources, excluded_cluster_scoped_resources;
  std::vector<std::string> included_namespace_scoped_resources,
      excluded_namespace_scoped_resources;
  std::optional<LabelSelector> label_selector;
  std::vector<LabelSelector> or_label_selectors;
  std::optional<bool> snapshot_volumes;
  Duration ttl{0};
  BackupHooks hooks;
  std::string storage_location;
  std::vector<std::string> volume_snapshot_locations;
  std::optional<bool> default_volumes_to_restic;  // deprecated
  std::optional<bool> default_volumes_to_fs_backup;
  std::map<std::string, std::string> ordered_resources;
  Duration csi_snapshot_timeout{0};
  Duration item_operation_timeout{0};
  std::optional<TypedLocalObjectReference> resource_policy;
  std::optional<bool> snapshot_move_data;
  std::string datamover;
  std::optional<UploaderConfigForBackup> uploader_config;
  std::string volume_group_snapshot_label_key;
  std::string backup_type;  // "", "Full" or "Incremental"
  bool operator==(const BackupSpec&) const = default;
};

struct BackupProgress {
  int64_t total_items = 0;
  int64_t items_backed_up = 0;
  bool operator==(const BackupProgress&) const = default;
};

struct HookStatus {
  int64_t hooks_attempted = 0;
  int64_t hooks_failed = 0;
  bool operator==(const HookStatus&) const = default;
};

struct BackupStatus {
  int64_t version = 0;
  std::string format_version;
  std::optional<std::string> expiration;  // RFC 3339
  BackupPhase phase = BackupPhase::kUnset;
  int64_t queue_position = 0;
  std::vector<std::string> validation_errors;
  std::optional<std::string> start_timestamp, completion_timestamp;
  int64_t volume_snapshots_attempted = 0, volume_snapshots_completed = 0;
  std::string failure_reason;
  int64_t warnings = 0, errors = 0;
  std::optional<BackupProgress> progress;
  int64_t csi_volume_snapshots_attempted = 0, csi_volume_snapshots_completed = 0;
  int64_t backup_item_operations_attempted = 0, backup_item_operations_completed = 0,
          backup_item_operations_failed = 0;
  std::optional<HookStatus> hook_status;
  bool operator==(const BackupStatus&) const = default;
};

struct Backup {
  ObjectMeta metadata;
  BackupSpec spec;
  BackupStatus status;
  // The object as read (empty when built in code). ToJson overlays the known fields on it, so
  // fields this version does not know survive a read-modify-write.
  boost::json::object raw;
};

// InvalidArgument naming the field path for wrong types or values
// ("spec.includedNamespaces[2]: must be a string", "spec.ttl: time: unknown unit ...").
StatusOr<Backup> BackupFromJson(const boost::json::value& v);
// apiVersion velero.io/v1, kind Backup; leaves out unset fields as Go's omitempty does, but
// always writes spec.metadata, spec.hooks and the non-pointer durations (Go never omits structs).
boost::json::value ToJson(const Backup& b);

// The spec alone (Schedule.spec.template uses it). `path` prefixes error messages.
StatusOr<BackupSpec> BackupSpecFromJson(const boost::json::value& v, std::string path = "spec");
// `base`, when an object, is the original spec JSON to overlay on.
boost::json::value ToJson(const BackupSpec& spec, const boost::json::value* base = nullptr);

}  // namespace lifeboat::api
