#include "src/controller/schedule_reconciler.h"

#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/cron.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"

namespace lifeboat::controller {

namespace json = boost::json;
using std::chrono::milliseconds;
using TimePoint = std::chrono::system_clock::time_point;

namespace {

constexpr std::string_view kScheduleNameLabel = "velero.io/schedule-name";
// How often a due schedule looks again while an earlier backup of it is unfinished (Velero's
// schedule resync period).
constexpr milliseconds kBusyRecheck = std::chrono::minutes(1);

std::optional<TimePoint> TimeAt(const json::value& obj,
                                std::initializer_list<std::string_view> path) {
  auto text = JsonString(obj, path);
  if (!text || text->empty()) return std::nullopt;
  auto t = api::ParseRfc3339(*text);
  if (!t.ok()) return std::nullopt;
  return *t;
}

TimePoint FloorSeconds(TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t); }

// requeue_after for "look again at `t`": 0 (never) for TimePoint::max(), at least 1 ms.
milliseconds Until(TimePoint t, TimePoint now) {
  if (t == TimePoint::max()) return milliseconds(0);
  if (t <= now) return milliseconds(1);
  return std::chrono::ceil<milliseconds>(t - now);
}

// Phases in which a backup has not finished running: a new one is not submitted meanwhile.
// Velero lists "", New and InProgress; the queue phases of Velero 1.18 also mean "not run yet".
bool Unfinished(std::string_view phase) {
  return phase.empty() || phase == "New" || phase == "Queued" || phase == "ReadyToStart" ||
         phase == "InProgress";
}

json::array StringArray(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(json::string(s));
  return a;
}

std::vector<std::string> StringList(const json::value& obj,
                                    std::initializer_list<std::string_view> path) {
  std::vector<std::string> out;
  const json::value* v = JsonFind(obj, path);
  if (!v || !v->is_array()) return out;
  for (const auto& e : v->as_array()) {
    if (e.is_string()) out.emplace_back(e.as_string());
  }
  return out;
}

// The backup Velero's builder makes from a schedule (FromSchedule): spec = the template as
// written; labels = the template's metadata.labels when given, else the schedule's own labels,
// plus velero.io/schedule-name; the schedule's annotations; a controller ownerReference when
// spec.useOwnerReferencesInBackup.
json::value BackupFromSchedule(const json::value& schedule, const std::string& name,
                               const std::string& ns, const std::string& backup_name) {
  json::object labels;
  if (const json::value* l = JsonFind(schedule, {"spec", "template", "metadata", "labels"});
      l && l->is_object()) {
    labels = l->as_object();
  } else if (const json::value* sl = JsonFind(schedule, {"metadata", "labels"});
             sl && sl->is_object()) {
    labels = sl->as_object();
  }
  labels[kScheduleNameLabel] = json::string(name);
  json::object meta{{"name", backup_name}, {"namespace", ns}, {"labels", std::move(labels)}};
  if (const json::value* a = JsonFind(schedule, {"metadata", "annotations"});
      a && a->is_object() && !a->as_object().empty()) {
    meta["annotations"] = *a;
  }
  if (JsonBool(schedule, {"spec", "useOwnerReferencesInBackup"}).value_or(false)) {
    json::object owner{{"apiVersion", "velero.io/v1"},
                       {"kind", "Schedule"},
                       {"name", name},
                       {"uid", JsonString(schedule, {"metadata", "uid"}).value_or("")},
                       {"controller", true}};
    meta["ownerReferences"] = json::array{std::move(owner)};
  }
  json::value spec = json::object();
  if (const json::value* t = JsonFind(schedule, {"spec", "template"}); t && t->is_object()) {
    spec = *t;
  }
  return json::object{{"apiVersion", "velero.io/v1"},
                      {"kind", "Backup"},
                      {"metadata", std::move(meta)},
                      {"spec", std::move(spec)}};
}

// The time encoded in a backup name "<schedule>-<yyyyMMddHHmmss>" made by this schedule.
std::optional<TimePoint> ScheduledBackupTime(std::string_view backup, std::string_view schedule) {
  if (backup.size() != schedule.size() + 15 || backup.substr(0, schedule.size()) != schedule ||
      backup[schedule.size()] != '-') {
    return std::nullopt;
  }
  std::string digits(backup.substr(schedule.size() + 1));
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  // Fixed-width fields (absl::ParseTime's %Y would take every digit as the year).
  auto num = [&](size_t pos, size_t len) { return std::stoi(digits.substr(pos, len)); };
  const absl::CivilSecond c(num(0, 4), num(4, 2), num(6, 2), num(8, 2), num(10, 2), num(12, 2));
  if (c.month() != num(4, 2) || c.day() != num(6, 2) || c.hour() != num(8, 2) ||
      c.minute() != num(10, 2) || c.second() != num(12, 2)) {
    return std::nullopt;  // not a real date (normalised)
  }
  return absl::ToChronoTime(absl::FromCivil(c, absl::UTCTimeZone()));
}

struct ScheduleBackups {
  bool busy = false;                   // one is still New / queued / InProgress
  std::optional<TimePoint> submitted;  // the latest time in a name this schedule gave
};

StatusOr<ScheduleBackups> ListScheduleBackups(kube::DynamicClient& client, const std::string& ns,
                                              const std::string& name,
                                              const CancellationToken& cancel) {
  ScheduleBackups out;
  kube::ListAllOptions options;
  options.list.label_selector = std::string(kScheduleNameLabel) + "=" + name;
  options.list.cancel = cancel;
  auto listed = kube::ListAll(client, kBackups, ns, options, [&](json::value&& b) -> Status {
    if (Unfinished(JsonString(b, {"status", "phase"}).value_or(""))) out.busy = true;
    auto t = ScheduledBackupTime(JsonString(b, {"metadata", "name"}).value_or(""), name);
    if (t && (!out.submitted || *t > *out.submitted)) out.submitted = t;
    return absl::OkStatus();
  });
  if (!listed.ok()) return listed.status();
  return out;
}

// The interval between the schedule's next two activations (Velero's expected interval).
std::optional<std::chrono::seconds> ExpectedInterval(const CronSchedule& cron, TimePoint now) {
  TimePoint first = cron.Next(now);
  if (first == TimePoint::max()) return std::nullopt;
  TimePoint second = cron.Next(first);
  if (second == TimePoint::max()) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(second - first);
}

}  // namespace

ScheduleReconciler::ScheduleReconciler(const ServerContext& ctx, ScheduleReconcilerOptions options)
    : ctx_(ctx), options_(options) {}

StatusOr<Result> ScheduleReconciler::Reconcile(const std::string& name,
                                               const CancellationToken& cancel) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto found,
                            GetIfExists(*ctx_.client, kSchedules, ctx_.options.ns, name, cancel));
  if (!found) return Result{};
  if (ctx_.metrics) ctx_.metrics->InitSchedule(name);
  const TimePoint now = ctx_.clock->Now();
  // Validation every time: an Enabled schedule's expression is not trusted either.
  const std::string expr = JsonString(*found, {"spec", "schedule"}).value_or("");
  const std::string error = ScheduleValidationError(expr);
  LIFEBOAT_ASSIGN_OR_RETURN(json::value schedule,
                            SyncStatus(name, std::move(*found), error, now, cancel));
  if (!error.empty()) return Result{};
  auto cron = CronSchedule::Parse(expr);
  if (!cron.ok()) return Result{};  // cannot happen: ScheduleValidationError accepted it
  if (auto interval = ExpectedInterval(*cron, now); interval && ctx_.metrics) {
    ctx_.metrics->SetScheduleExpectedInterval(name, *interval);
  }
  // Paused: nothing to do; unpausing changes the spec, which queues the schedule again.
  if (JsonBool(schedule, {"spec", "paused"}).value_or(false)) return Result{};
  return SubmitIfDue(name, schedule, *cron, now, cancel);
}

StatusOr<json::value> ScheduleReconciler::SyncStatus(const std::string& name, json::value schedule,
                                                     const std::string& error, TimePoint now,
                                                     const CancellationToken& cancel) {
  const std::string& ns = ctx_.options.ns;
  const std::string phase = error.empty() ? "Enabled" : "FailedValidation";
  const std::vector<std::string> errors =
      error.empty() ? std::vector<std::string>{} : std::vector<std::string>{error};
  json::object status;
  json::object patch;
  if (JsonString(schedule, {"status", "phase"}).value_or("") != phase) status["phase"] = phase;
  if (StringList(schedule, {"status", "validationErrors"}) != errors) {
    status["validationErrors"] = errors.empty() ? json::value(nullptr) : StringArray(errors);
  }
  // skipImmediately (or the server default when unset) skips the activation already due, once:
  // Velero records lastSkipped and turns the field off. A paused schedule keeps it for unpause.
  if (!JsonBool(schedule, {"spec", "paused"}).value_or(false) &&
      JsonBool(schedule, {"spec", "skipImmediately"}).value_or(options_.skip_immediately)) {
    status["lastSkipped"] = api::FormatRfc3339(now);
    patch["spec"] = json::object{{"skipImmediately", false}};
  }
  if (status.empty() && patch.empty()) return schedule;  // nothing changed: no write
  if (!status.empty()) patch["status"] = std::move(status);
  if (!error.empty()) LB_LOG_WARN("schedule {}/{}: {}", ns, name, error);
  return MergePatch(*ctx_.client, kSchedules, ns, name, patch,
                    JsonString(schedule, {"metadata", "resourceVersion"}).value_or(""), cancel);
}

StatusOr<Result> ScheduleReconciler::SubmitIfDue(const std::string& name,
                                                 const json::value& schedule,
                                                 const CronSchedule& cron, TimePoint now,
                                                 const CancellationToken& cancel) {
  auto& client = *ctx_.client;
  const std::string& ns = ctx_.options.ns;
  // Due: the first activation after the last backup (or the creation), or after lastSkipped
  // when that is later.
  TimePoint base = TimeAt(schedule, {"status", "lastBackup"})
                       .value_or(TimeAt(schedule, {"metadata", "creationTimestamp"}).value_or(now));
  if (auto skipped = TimeAt(schedule, {"status", "lastSkipped"}); skipped && *skipped > base) {
    base = *skipped;
  }
  const TimePoint next = cron.Next(base);
  if (now < next) return Result{Until(next, now)};

  LIFEBOAT_ASSIGN_OR_RETURN(auto backups, ListScheduleBackups(client, ns, name, cancel));
  TimePoint at = FloorSeconds(now);
  if (backups.submitted && *backups.submitted >= next) {
    // Submitted before, but lastBackup was not recorded (a crash or a failed patch): record it.
    at = *backups.submitted;
  } else if (backups.busy) {
    LB_LOG_INFO("schedule {}/{} is due but an earlier backup has not finished; not submitting", ns,
                name);
    return Result{kBusyRecheck};
  } else {
    const std::string backup_name = ScheduledBackupName(name, at);
    kube::WriteOptions wo;
    wo.cancel = cancel;
    auto created =
        client.Create(kBackups, ns, BackupFromSchedule(schedule, name, ns, backup_name), wo);
    if (!created.ok() && !absl::IsAlreadyExists(created.status())) {
      return absl::Status(created.status().code(), "submitting backup " + backup_name +
                                                       " for schedule " + name + ": " +
                                                       std::string(created.status().message()));
    }
    LB_LOG_INFO("schedule {}/{} is due: submitted backup {}", ns, name, backup_name);
  }
  LIFEBOAT_RETURN_IF_ERROR(PatchStatus(client, kSchedules, ns, name,
                                       json::object{{"lastBackup", api::FormatRfc3339(at)}}, "",
                                       cancel)
                               .status());
  return Result{Until(cron.Next(at), now)};
}

}  // namespace lifeboat::controller
