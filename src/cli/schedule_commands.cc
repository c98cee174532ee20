// Schedules from flags, their table and describe text (schedule_commands.h).

#include "src/cli/schedule_commands.h"

#include <algorithm>

#include "lifeboat/api/duration.h"
#include "lifeboat/common/cron.h"
#include "src/cli/output.h"

namespace lifeboat::cli {

StatusOr<api::Schedule> BuildSchedule(const ScheduleCreateFlags& f, const std::string& ns) {
  if (f.name.empty()) return absl::InvalidArgumentError("a schedule name is required");
  if (std::string err = ScheduleValidationError(f.schedule); !err.empty()) {
    return absl::InvalidArgumentError(
        "invalid argument \"" + f.schedule + "\" for \"--schedule\" flag: " + err +
        " (five cron fields in UTC such as \"0 1 * * *\", or \"@every 6h\", \"@daily\")");
  }
  api::Schedule s;
  s.metadata.name = f.name;
  s.metadata.namespace_ = ns;
  s.spec.schedule = f.schedule;
  LIFEBOAT_ASSIGN_OR_RETURN(s.spec.template_, BuildBackupSpec(f.spec));
  LIFEBOAT_ASSIGN_OR_RETURN(s.metadata.labels, ParseKeyValues(f.labels, "--labels"));
  LIFEBOAT_ASSIGN_OR_RETURN(s.metadata.annotations, ParseKeyValues(f.annotations, "--annotations"));
  s.spec.template_.metadata.labels = s.metadata.labels;
  s.spec.paused = f.paused;
  if (!f.skip_immediately.empty()) s.spec.skip_immediately = f.skip_immediately == "true";
  if (f.use_owner_references_in_backup) s.spec.use_owner_references_in_backup = true;
  return s;
}

namespace {

std::string PhaseText(const api::Schedule& s) {
  if (s.status.phase == api::SchedulePhase::kUnset) return "New";
  return std::string(api::ToString(s.status.phase));
}

}  // namespace

std::string ScheduleTable(std::vector<api::Schedule> schedules, api::TimePoint now) {
  std::sort(schedules.begin(), schedules.end(),
            [](const auto& a, const auto& b) { return a.metadata.name < b.metadata.name; });
  std::vector<Row> rows;
  for (const auto& s : schedules) {
    rows.push_back(
        {s.metadata.name, PhaseText(s), FormatTime(s.metadata.creation_timestamp), s.spec.schedule,
         api::FormatGoDuration(s.spec.template_.ttl), HumanTimeFromNow(s.status.last_backup, now),
         FormatSelector(s.spec.template_.label_selector), s.spec.paused ? "true" : "false"});
  }
  return FormatTable(
      {"NAME", "STATUS", "CREATED", "SCHEDULE", "BACKUP TTL", "LAST BACKUP", "SELECTOR", "PAUSED"},
      rows);
}

std::string DescribeSchedule(const api::Schedule& s, api::TimePoint now) {
  const std::string tmpl = DescribeBackupSpec(s.spec.template_);
  std::string o;
  auto line = [&](const std::string& l) { o += l + "\n"; };
  line("Name:         " + s.metadata.name);
  line("Namespace:    " + s.metadata.namespace_);
  line("Labels:       " + FormatMap(s.metadata.labels));
  line("Annotations:  " + FormatMap(s.metadata.annotations));
  line("");
  line("Phase:  " + PhaseText(s));
  if (!s.status.validation_errors.empty()) {
    line("");
    line("Validation errors:");
    for (const auto& e : s.status.validation_errors) line("  " + e);
  }
  line("");
  line("Paused:  " + std::string(s.spec.paused ? "true" : "false"));
  line("");
  line("Schedule:  " + s.spec.schedule);
  line("");
  line("Backup Template:");
  size_t start = 0;
  while (start < tmpl.size()) {
    size_t end = tmpl.find('\n', start);
    if (end == std::string::npos) end = tmpl.size();
    const std::string l = tmpl.substr(start, end - start);
    o += l.empty() ? "\n" : "  " + l + "\n";
    start = end + 1;
  }
  line("");
  line("Last Backup:  " + FormatTime(s.status.last_backup) +
       (s.status.last_backup ? " (" + HumanTimeFromNow(s.status.last_backup, now) + ")" : ""));
  if (s.status.last_skipped) line("Last Skipped:  " + FormatTime(s.status.last_skipped));
  return o;
}

}  // namespace lifeboat::cli
