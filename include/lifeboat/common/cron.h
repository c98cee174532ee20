#pragma once

// Schedule expressions as Velero's Schedule.spec.schedule takes them: robfig/cron v3's standard
// parser (5 fields `minute hour day-of-month month day-of-week`, the @hourly-style descriptors,
// `@every <Go duration>`, an optional `CRON_TZ=<zone> ` or `TZ=<zone> ` prefix). Next() follows
// robfig's search, daylight-saving quirks included, so a schedule fires when it would under
// Velero. docs/schedules.md lists the syntax and every place where Lifeboat differs.
//
// Thread safety: a CronSchedule is an immutable value; const methods may be called from any
// thread at once.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace lifeboat {

class CronSchedule {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  // Parses `spec`. Success: the schedule. Failure: InvalidArgument whose message is robfig's
  // (e.g. "expected exactly 5 fields, found 4: [* * * *]", "end of range (60) above maximum
  // (59): 60", "provided bad location Mars/Base: unknown time zone Mars/Base") with the field
  // named where it helps. Also InvalidArgument (robfig would accept these): a schedule that can
  // never fire (e.g. "0 0 30 2 *"), an `@every` duration that is not positive, a field with no
  // values (","), a `*` followed by a range ("*-5"). Without a zone prefix the schedule runs in
  // UTC (Velero uses the server's local zone, which is UTC in its container image).
  static absl::StatusOr<CronSchedule> Parse(std::string_view spec);

  // The first activation strictly after `after`, at whole seconds. Spec schedules are searched
  // in the schedule's zone exactly as robfig does: a time inside a spring-forward gap is skipped
  // that day, a time inside a fall-back repeat fires on both passes. `@every d` returns
  // `after` truncated to the second plus d. Returns TimePoint::max() ("never") only when no
  // activation exists in the next 8 years, which cannot happen for a schedule Parse accepted
  // (robfig returns the zero time after 5 years, which Velero then treats as always due).
  TimePoint Next(TimePoint after) const;

  // The text given to Parse.
  const std::string& spec() const { return spec_; }
  // The zone the fields are read in (UTC without a prefix; unused by `@every`).
  const absl::TimeZone& time_zone() const { return tz_; }
  // True for `@every <duration>` schedules.
  bool is_every() const { return every_seconds_ > 0; }

 private:
  CronSchedule() = default;
  absl::Time NextSpec(absl::Time after) const;
  bool DayMatches(const absl::CivilSecond& c) const;

  std::string spec_;
  absl::TimeZone tz_ = absl::UTCTimeZone();
  int64_t every_seconds_ = 0;                                       // > 0 for @every
  uint64_t minute_ = 0, hour_ = 0, dom_ = 0, month_ = 0, dow_ = 0;  // bit i = value i allowed
  bool dom_star_ = false, dow_star_ = false;  // field began with * or ? (robfig's star bit)

  friend struct CronParser;
};

// The message Velero puts into Schedule.status.validationErrors for `spec`, or "" when the
// schedule is valid: "Schedule must be a non-empty valid Cron expression" for an empty spec,
// otherwise "invalid schedule: <Parse's message>".
std::string ScheduleValidationError(std::string_view spec);

// Velero's name for a backup made by schedule `schedule` at `t`: "<schedule>-<yyyyMMddHHmmss>",
// t in UTC (Velero formats its server clock, UTC in its container). Pure; never fails.
std::string ScheduledBackupName(std::string_view schedule, std::chrono::system_clock::time_point t);

}  // namespace lifeboat
