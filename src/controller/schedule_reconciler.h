#pragma once

// ScheduleReconciler: Velero's schedule controller. Validates a Schedule's cron expression
// (Enabled / FailedValidation), and when the schedule is due submits a Backup built from its
// template, named "<schedule>-<yyyyMMddHHmmss>" (the submission time, UTC), then records
// status.lastBackup. docs/server/schedules-and-requests.md describes the rules.
//
// Reconcile:
//   - OK with requeue_after = the time until the next activation (periodic work), 0 when the
//     schedule is paused, invalid or can never fire again; one minute while an earlier backup
//     of the schedule is still queued or running (Velero's resync).
//   - Writes only when something changes (phase, validation errors, skipImmediately consumed,
//     a backup submitted), so a reconcile that is not due never writes (no watch storm).
//   - Errors: the API server's (retried by the controller). A create that finds the backup
//     already there (AlreadyExists) counts as submitted.
//
// Thread safety: Reconcile may be called concurrently for different schedules.

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "lifeboat/common/cron.h"
#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"

namespace lifeboat::controller {

struct ScheduleReconcilerOptions {
  // Velero's --schedule-skip-immediately: what a schedule with no spec.skipImmediately does
  // when it is first seen (or unpaused): true skips the activation already due.
  bool skip_immediately = false;
};

class ScheduleReconciler : public Reconciler {
 public:
  explicit ScheduleReconciler(const ServerContext& ctx, ScheduleReconcilerOptions options = {});

  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override;

 private:
  using TimePoint = std::chrono::system_clock::time_point;
  // Writes phase / validationErrors / the skipImmediately hand-off when they change; returns
  // the schedule as stored.
  StatusOr<boost::json::value> SyncStatus(const std::string& name, boost::json::value schedule,
                                          const std::string& error, TimePoint now,
                                          const CancellationToken& cancel);
  StatusOr<Result> SubmitIfDue(const std::string& name, const boost::json::value& schedule,
                               const CronSchedule& cron, TimePoint now,
                               const CancellationToken& cancel);

  ServerContext ctx_;
  ScheduleReconcilerOptions options_;
};

}  // namespace lifeboat::controller
