#pragma once

// velero.io/v1 Restore: every field of Velero's CRD with its JSON codec; unknown fields are
// preserved through `raw` (docs/api.md).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/duration.h"
#include "lifeboat/api/label_selector.h"
#include "lifeboat/api/meta.h"
#include "lifeboat/common/status.h"

namespace lifeboat::api {

enum class RestorePhase {
  kUnset,
  kNew,
  kFailedValidation,
  kInProgress,
  kWaitingForPluginOperations,
  kWaitingForPluginOperationsPartiallyFailed,
  kFinalizing,
  kFinalizingPartiallyFailed,
  kCompleted,
  kPartiallyFailed,
  kFailed,
};
std::string_view ToString(RestorePhase p);
std::optional<RestorePhase> ParseRestorePhase(std::string_view s);

struct ExecRestoreHook {
  std::string container;
  std::vector<std::string> command;
  HookErrorMode on_error = HookErrorMode::kUnset;
  Duration exec_timeout{0};
  Duration wait_timeout{0};
  std::optional<bool> wait_for_ready;
  bool operator==(const ExecRestoreHook&) const = default;
};

struct InitRestoreHook {
  std::vector<boost::json::value> init_containers;  // full core/v1 Container objects
  Duration timeout{0};
  bool operator==(const InitRestoreHook&) const = default;
};

struct RestoreResourceHook {
  std::optional<ExecRestoreHook> exec;
  std::optional<InitRestoreHook> init;
  bool operator==(const RestoreResourceHook&) const = default;
};

struct RestoreResourceHookSpec {
  std::string name;
  std::vector<std::string> included_namespaces, excluded_namespaces;
  std::vector<std::string> included_resources, excluded_resources;
  std::optional<LabelSelector> label_selector;
  std::vector<RestoreResourceHook> post_hooks;
  bool operator==(const RestoreResourceHookSpec&) const = default;
};

struct RestoreHooks {
  std::vector<RestoreResourceHookSpec> resources;
  bool operator==(const RestoreHooks&) const = default;
};

struct RestoreStatusSpec {  // spec.restoreStatus
  std::vector<std::string> included_resources, excluded_resources;
  bool operator==(const RestoreStatusSpec&) const = default;
};

struct UploaderConfigForRestore {
  std::optional<bool> write_sparse_files;
  int64_t parallel_files_download = 0;
  bool operator==(const UploaderConfigForRestore&) const = default;
};

struct RestoreSpec {
  std::string backup_name, schedule_name;
  std::vector<std::string> included_namespaces, excluded_namespaces;
  std::vector<std::string> included_resources, excluded_resources;
  std::map<std::string, std::string> namespace_mapping;
  std::optional<LabelSelector> label_selector;
  std::vector<LabelSelector> or_label_selectors;
  std::optional<bool> restore_pvs;
  std::optional<RestoreStatusSpec> restore_status;
  std::optional<bool> preserve_node_ports;
  std::optional<bool> include_cluster_resources;
  RestoreHooks hooks;
  std::string existing_resource_policy;  // "", "none" or "update"
  Duration item_operation_timeout{0};
  std::optional<TypedLocalObjectReference> resource_modifier;
  std::optional<TypedLocalObjectReference> resource_policy;
  std::optional<bool> skip_default_resource_modifier;
  std::optional<UploaderConfigForRestore> uploader_config;
  bool operator==(const RestoreSpec&) const = default;
};

struct RestoreProgress {
  int64_t total_items = 0;
  int64_t items_restored = 0;
  bool operator==(const RestoreProgress&) const = default;
};

struct RestoreStatus {
  RestorePhase phase = RestorePhase::kUnset;
  std::vector<std::string> validation_errors;
  int64_t warnings = 0, errors = 0;
  std::string failure_reason;
  std::optional<std::string> start_timestamp, completion_timestamp;
  std::optional<RestoreProgress> progress;
  int64_t restore_item_operations_attempted = 0, restore_item_operations_completed = 0,
          restore_item_operations_failed = 0;
  std::optional<HookStatus> hook_status;
  bool operator==(const RestoreStatus&) const = default;
};

struct Restore {
  ObjectMeta metadata;
  RestoreSpec spec;
  RestoreStatus status;
  boost::json::object raw;  // as read; see Backup::raw
};

StatusOr<Restore> RestoreFromJson(const boost::json::value& v);
boost::json::value ToJson(const Restore& r);

}  // namespace lifeboat::api
