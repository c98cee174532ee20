#pragma once

// `lifeboat backup create|get|describe|delete|logs|download` (docs/cli.md): Velero's client commands,
// which create velero.io objects and read their status through the API. The pure parts (flags
// to objects, tables, describe text) are separate functions so they are tested without a
// cluster.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/schedule.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/status.h"
#include "src/cli/client.h"

namespace lifeboat::cli {

// The flags that map to a BackupSpec: `backup create` and `schedule create` (the template).
// Optional booleans are "", "true" or "false" (Velero's OptionalBool: `--flag` alone is true).
struct BackupTemplateFlags {
  std::vector<std::string> include_namespaces{"*"}, exclude_namespaces, include_resources,
      exclude_resources;
  std::string include_cluster_resources;
  std::vector<std::string> include_cluster_scoped, exclude_cluster_scoped, include_namespace_scoped,
      exclude_namespace_scoped;
  std::string selector, or_selector;
  std::string ttl, csi_snapshot_timeout, item_operation_timeout;  // Go durations
  std::string snapshot_volumes, default_volumes_to_fs_backup, snapshot_move_data;
  std::string storage_location;
  std::vector<std::string> volume_snapshot_locations;
  std::string ordered_resources;  // "pods=ns1/a,ns1/b;persistentvolumes=pv1"
  std::string resource_policies_configmap, data_mover;
  int64_t parallel_files_upload = 0;
};

void BindBackupTemplateFlags(CLI::App* cmd, BackupTemplateFlags* f);

// The spec the flags describe. InvalidArgument naming the flag for a bad duration, selector or
// ordered-resources value, for --selector together with --or-selector, and for old-style
// resource filters (--include-resources, --exclude-resources, --include-cluster-resources)
// mixed with the new scoped ones (as Velero refuses them).
StatusOr<api::BackupSpec> BuildBackupSpec(const BackupTemplateFlags& f);

struct BackupCreateFlags {
  std::string name;
  std::string from_schedule;
  std::string labels, annotations;  // "k=v,k2=v2"
  bool wait = false;
  std::string output;  // "", "json", "yaml": print the object instead of creating it
  BackupTemplateFlags spec;
};

// The Backup to create in namespace `ns`. With `schedule` (--from-schedule), the spec is the
// schedule's template, labels are the template's plus velero.io/schedule-name, and the name
// defaults to "<schedule>-<yyyyMMddHHmmss>" of `now` (UTC); the spec flags are ignored, as in
// Velero. InvalidArgument for a missing name (without a schedule) and bad flag values.
StatusOr<api::Backup> BuildBackup(const BackupCreateFlags& f, const std::string& ns,
                                  api::TimePoint now, const api::Schedule* schedule);

// "<prefix>-yyyyMMddHHmmss" (Velero's timestamped names for backups and restores).
std::string TimestampedName(const std::string& prefix, api::TimePoint t);

// Velero's status column: the phase, "New" when unset, "Deleting" for an object being deleted.
std::string BackupStatusText(const api::Backup& b);

// `backup get`'s table: NAME STATUS ERRORS WARNINGS CREATED EXPIRES STORAGE LOCATION SELECTOR,
// in Velero's order (by name prefix, then newest first).
std::string BackupTable(std::vector<api::Backup> backups, api::TimePoint now);

// The spec part of `backup describe` (namespaces, resources, selectors, location, snapshot
// settings, TTL, timeouts, hooks, ordered resources); `schedule describe` shows its template so.
std::string DescribeBackupSpec(const api::BackupSpec& spec);

// `backup describe`'s text. `details`, when given, is extra text appended (results and
// resource list fetched by the caller).
std::string DescribeBackup(const api::Backup& b, api::TimePoint now,
                           const std::string& details = "");

// Exit code of a finished backup or restore phase: 0 Completed, 3 PartiallyFailed, 1 otherwise.
int ExitCodeForPhase(const std::string& phase);

// Registers create/get/describe/delete/logs/download under the existing `backup` command.
void AddBackupClientCommands(CLI::App* backup, int* exit_code);

}  // namespace lifeboat::cli
