#pragma once

// velero.io/v1 Schedule with its JSON codec; unknown fields preserved through `raw`.

#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/meta.h"
#include "lifeboat/common/status.h"

namespace lifeboat::api {

enum class SchedulePhase { kUnset, kNew, kEnabled, kFailedValidation };
std::string_view ToString(SchedulePhase p);
std::optional<SchedulePhase> ParseSchedulePhase(std::string_view s);

struct ScheduleSpec {
  BackupSpec template_;
  std::string schedule;  // cron expression, "@every 1h", "CRON_TZ=... ..."
  std::optional<bool> use_owner_references_in_backup;
  bool paused = false;
  std::optional<bool> skip_immediately;
  bool operator==(const ScheduleSpec&) const = default;
};

struct ScheduleStatus {
  SchedulePhase phase = SchedulePhase::kUnset;
  std::optional<std::string> last_backup, last_skipped;  // RFC 3339
  std::vector<std::string> validation_errors;
  bool operator==(const ScheduleStatus&) const = default;
};

struct Schedule {
  ObjectMeta metadata;
  ScheduleSpec spec;
  ScheduleStatus status;
  boost::json::object raw;  // as read; see Backup::raw
};

StatusOr<Schedule> ScheduleFromJson(const boost::json::value& v);
boost::json::value ToJson(const Schedule& s);

}  // namespace lifeboat::api
