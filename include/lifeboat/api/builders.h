#pragma once

// Small builders for tests of every module (after Velero's pkg/builder):
//   Backup b = BackupBuilder("velero", "b1").IncludedNamespaces({"app"}).Ttl(std::chrono::hours(1))
//                  .Phase(BackupPhase::kCompleted).Build();
// Each setter replaces the field; Build() returns a copy, so a builder can be reused.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/restore.h"
#include "lifeboat/api/schedule.h"

namespace lifeboat::api {

using StringList = std::vector<std::string>;
using StringMap = std::map<std::string, std::string>;

class BackupBuilder {
 public:
  BackupBuilder(std::string ns, std::string name) {
    b_.metadata.namespace_ = std::move(ns);
    b_.metadata.name = std::move(name);
  }
  BackupBuilder& Labels(StringMap v) { b_.metadata.labels = std::move(v); return *this; }
  BackupBuilder& Annotations(StringMap v) { b_.metadata.annotations = std::move(v); return *this; }
  BackupBuilder& IncludedNamespaces(StringList v) { s().included_namespaces = std::move(v); return *this; }
  BackupBuilder& ExcludedNamespaces(StringList v) { s().excluded_namespaces = std::move(v); return *this; }
  BackupBuilder& IncludedResources(StringList v) { s().included_resources = std::move(v); return *this; }
  BackupBuilder& ExcludedResources(StringList v) { s().excluded_resources = std::move(v); return *this; }
  BackupBuilder& IncludeClusterResources(bool v) { s().include_cluster_resources = v; return *this; }
  BackupBuilder& IncludedClusterScopedResources(StringList v) { s().included_cluster_scoped_resources = std::move(v); return *this; }
  BackupBuilder& ExcludedClusterScopedResources(StringList v) { s().excluded_cluster_scoped_resources = std::move(v); return *this; }
  BackupBuilder& IncludedNamespaceScopedResources(StringList v) { s().included_namespace_scoped_resources = std::move(v); return *this; }
  BackupBuilder& ExcludedNamespaceScopedResources(StringList v) { s().excluded_namespace_scoped_resources = std::move(v); return *this; }
  BackupBuilder& LabelSelector(api::LabelSelector v) { s().label_selector = std::move(v); return *this; }
  BackupBuilder& OrLabelSelectors(std::vector<api::LabelSelector> v) { s().or_label_selectors = std::move(v); return *this; }
  BackupBuilder& SnapshotVolumes(bool v) { s().snapshot_volumes = v; return *this; }
  BackupBuilder& Ttl(Duration v) { s().ttl = v; return *this; }
  BackupBuilder& StorageLocation(std::string v) { s().storage_location = std::move(v); return *this; }
  BackupBuilder& VolumeSnapshotLocations(StringList v) { s().volume_snapshot_locations = std::move(v); return *this; }
  BackupBuilder& DefaultVolumesToFsBackup(bool v) { s().default_volumes_to_fs_backup = v; return *this; }
  BackupBuilder& OrderedResources(StringMap v) { s().ordered_resources = std::move(v); return *this; }
  BackupBuilder& CsiSnapshotTimeout(Duration v) { s().csi_snapshot_timeout = v; return *this; }
  BackupBuilder& ItemOperationTimeout(Duration v) { s().item_operation_timeout = v; return *this; }
  BackupBuilder& Hooks(BackupHooks v) { s().hooks = std::move(v); return *this; }
  BackupBuilder& Phase(BackupPhase v) { b_.status.phase = v; return *this; }
  BackupBuilder& StartTimestamp(std::string v) { b_.status.start_timestamp = std::move(v); return *this; }
  BackupBuilder& CompletionTimestamp(std::string v) { b_.status.completion_timestamp = std::move(v); return *this; }
  BackupBuilder& Expiration(std::string v) { b_.status.expiration = std::move(v); return *this; }
  Backup Build() const { return b_; }

 private:
  BackupSpec& s() { return b_.spec; }
  Backup b_;
};

class RestoreBuilder {
 public:
  RestoreBuilder(std::string ns, std::string name) {
    r_.metadata.namespace_ = std::move(ns);
    r_.metadata.name = std::move(name);
  }
  RestoreBuilder& Backup(std::string v) { r_.spec.backup_name = std::move(v); return *this; }
  RestoreBuilder& Schedule(std::string v) { r_.spec.schedule_name = std::move(v); return *this; }
  RestoreBuilder& IncludedNamespaces(StringList v) { r_.spec.included_namespaces = std::move(v); return *this; }
  RestoreBuilder& ExcludedNamespaces(StringList v) { r_.spec.excluded_namespaces = std::move(v); return *this; }
  RestoreBuilder& IncludedResources(StringList v) { r_.spec.included_resources = std::move(v); return *this; }
  RestoreBuilder& ExcludedResources(StringList v) { r_.spec.excluded_resources = std::move(v); return *this; }
  RestoreBuilder& NamespaceMappings(StringMap v) { r_.spec.namespace_mapping = std::move(v); return *this; }
  RestoreBuilder& LabelSelector(api::LabelSelector v) { r_.spec.label_selector = std::move(v); return *this; }
  RestoreBuilder& OrLabelSelectors(std::vector<api::LabelSelector> v) { r_.spec.or_label_selectors = std::move(v); return *this; }
  RestoreBuilder& IncludeClusterResources(bool v) { r_.spec.include_cluster_resources = v; return *this; }
  RestoreBuilder& RestorePVs(bool v) { r_.spec.restore_pvs = v; return *this; }
  RestoreBuilder& PreserveNodePorts(bool v) { r_.spec.preserve_node_ports = v; return *this; }
  RestoreBuilder& ExistingResourcePolicy(std::string v) { r_.spec.existing_resource_policy = std::move(v); return *this; }
  RestoreBuilder& Hooks(RestoreHooks v) { r_.spec.hooks = std::move(v); return *this; }
  RestoreBuilder& Phase(RestorePhase v) { r_.status.phase = v; return *this; }
  api::Restore Build() const { return r_; }

 private:
  api::Restore r_;
};

class ScheduleBuilder {
 public:
  ScheduleBuilder(std::string ns, std::string name) {
    s_.metadata.namespace_ = std::move(ns);
    s_.metadata.name = std::move(name);
  }
  ScheduleBuilder& CronSchedule(std::string v) { s_.spec.schedule = std::move(v); return *this; }
  ScheduleBuilder& Template(BackupSpec v) { s_.spec.template_ = std::move(v); return *this; }
  ScheduleBuilder& Paused(bool v) { s_.spec.paused = v; return *this; }
  ScheduleBuilder& SkipImmediately(bool v) { s_.spec.skip_immediately = v; return *this; }
  ScheduleBuilder& UseOwnerReferencesInBackup(bool v) { s_.spec.use_owner_references_in_backup = v; return *this; }
  ScheduleBuilder& Labels(StringMap v) { s_.metadata.labels = std::move(v); return *this; }
  ScheduleBuilder& Phase(SchedulePhase v) { s_.status.phase = v; return *this; }
  ScheduleBuilder& LastBackup(std::string v) { s_.status.last_backup = std::move(v); return *this; }
  api::Schedule Build() const { return s_; }

 private:
  api::Schedule s_;
};

class BackupStorageLocationBuilder {
 public:
  BackupStorageLocationBuilder(std::string ns, std::string name) {
    l_.metadata.namespace_ = std::move(ns);
    l_.metadata.name = std::move(name);
  }
  BackupStorageLocationBuilder& Provider(std::string v) { l_.spec.provider = std::move(v); return *this; }
  BackupStorageLocationBuilder& Bucket(std::string v) { l_.spec.object_storage.bucket = std::move(v); return *this; }
  BackupStorageLocationBuilder& Prefix(std::string v) { l_.spec.object_storage.prefix = std::move(v); return *this; }
  BackupStorageLocationBuilder& Config(StringMap v) { l_.spec.config = std::move(v); return *this; }
  BackupStorageLocationBuilder& Default(bool v) { l_.spec.default_ = v; return *this; }
  BackupStorageLocationBuilder& AccessMode(api::AccessMode v) { l_.spec.access_mode = v; return *this; }
  BackupStorageLocationBuilder& Credential(std::string name, std::string key) {
    l_.spec.credential = SecretKeySelector{std::move(name), std::move(key), std::nullopt};
    return *this;
  }
  BackupStorageLocationBuilder& Phase(BackupStorageLocationPhase v) { l_.status.phase = v; return *this; }
  BackupStorageLocation Build() const { return l_; }

 private:
  BackupStorageLocation l_;
};

}  // namespace lifeboat::api
