#pragma once

// `lifeboat restore create|get|describe|delete|logs` (docs/cli.md). Pure parts (flags to the
// Restore object, table, describe text) are separate for unit tests.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "lifeboat/api/restore.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/status.h"

namespace lifeboat::cli {

struct RestoreCreateFlags {
  std::string name, from_backup, from_schedule;
  std::vector<std::string> include_namespaces{"*"}, exclude_namespaces, include_resources,
      exclude_resources;
  std::string include_cluster_resources, restore_volumes, preserve_nodeports;  // "", true, false
  std::string namespace_mappings;        // "src1:dst1,src2:dst2"
  std::string existing_resource_policy;  // "", "none", "update"
  std::vector<std::string> status_include_resources, status_exclude_resources;
  std::string resource_modifier_configmap;
  std::string selector, or_selector;
  std::string labels, annotations;
  std::string item_operation_timeout;
  bool wait = false;
  std::string output;  // "", "json", "yaml": print instead of creating
};

// The Restore to create. The name defaults to "<backup or schedule>-<yyyyMMddHHmmss>" of `now`.
// InvalidArgument (naming the flag) for neither or both of --from-backup / --from-schedule,
// a bad mapping, selector, policy or duration, and --selector with --or-selector.
StatusOr<api::Restore> BuildRestore(const RestoreCreateFlags& f, const std::string& ns,
                                    api::TimePoint now);

// "New" for an unset phase.
std::string RestoreStatusText(const api::Restore& r);

// NAME BACKUP STATUS STARTED COMPLETED ERRORS WARNINGS CREATED SELECTOR, by name.
std::string RestoreTable(std::vector<api::Restore> restores);

std::string DescribeRestore(const api::Restore& r, const std::string& details = "");

// Registers create/get/describe/delete/logs under the existing `restore` command.
void AddRestoreClientCommands(CLI::App* restore, int* exit_code);

}  // namespace lifeboat::cli
