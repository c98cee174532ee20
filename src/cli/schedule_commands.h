#pragma once

// `lifeboat schedule create|get|describe|delete|pause|unpause` and `lifeboat version`
// (docs/cli.md). Pure parts (flags to the Schedule, table, describe) are separate for tests.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "lifeboat/api/schedule.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/status.h"
#include "src/cli/backup_commands.h"

namespace lifeboat::cli {

struct ScheduleCreateFlags {
  std::string name, schedule;
  BackupTemplateFlags spec;         // the backup template
  std::string labels, annotations;  // on the schedule and on the backups it makes (template)
  bool paused = false;
  std::string skip_immediately;  // "", "true", "false"
  bool use_owner_references_in_backup = false;
  std::string output;  // "", "json", "yaml": print instead of creating
};

// InvalidArgument for a missing name, an invalid cron expression (Velero's validation message)
// and the template flags' errors.
StatusOr<api::Schedule> BuildSchedule(const ScheduleCreateFlags& f, const std::string& ns);

// NAME STATUS CREATED SCHEDULE BACKUP TTL LAST BACKUP SELECTOR PAUSED, by name.
std::string ScheduleTable(std::vector<api::Schedule> schedules, api::TimePoint now);

std::string DescribeSchedule(const api::Schedule& s, api::TimePoint now);

void AddScheduleCommands(CLI::App& app, int* exit_code);
void AddVersionCommand(CLI::App& app, int* exit_code);

}  // namespace lifeboat::cli
