#pragma once

// The Lifeboat server's Prometheus metrics: Velero's server metrics with Velero's exact names,
// help texts, labels and buckets (so that existing Grafana dashboards and alerts work), plus a
// few of Lifeboat's own (`lifeboat_` prefix). docs/metrics.md lists them all with their Velero
// equivalents and says which controller event moves which metric.
//
// Controllers call the typed methods below; nothing else touches the registry. The `schedule`
// label is the value of the object's `velero.io/schedule-name` label, "" for manual backups
// and restores (as Velero does).
//
// Thread safety: every method may be called from any thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/clock.h"
#include "lifeboat/common/metrics.h"

namespace lifeboat::metrics {

// Velero's backup_duration_seconds buckets: 1m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 4h.
const std::vector<double>& VeleroDurationBuckets();

enum class BackupResult { kCompleted, kPartiallyFailed, kFailed };
enum class RestoreResult { kCompleted, kPartiallyFailed, kFailed };
// Label `kind` of the volume snapshot metrics: "native" (a VolumeSnapshotter's snapshot) or
// "csi" (a VolumeSnapshotContent).
enum class SnapshotKind { kNative, kCsi };
std::string_view SnapshotKindName(SnapshotKind kind);

// What a finished backup reports (from its status), for ServerMetrics::BackupFinished.
struct BackupStats {
  std::string schedule;     // "" for a manual backup
  std::string backup_name;  // label of the csi_snapshot_* counters
  std::string storage_location;
  BackupResult result = BackupResult::kCompleted;
  std::chrono::nanoseconds duration{0};  // completionTimestamp - startTimestamp
  int64_t items_total = 0;               // status.progress.totalItems
  int64_t errors = 0;                    // status.errors
  int64_t warnings = 0;                  // status.warnings
  int64_t tarball_bytes = -1;            // size of <name>.tar.gz; negative: unknown (not set)
  int64_t bytes_written = 0;             // every byte uploaded for this backup
  int64_t volume_snapshots_attempted = 0;
  int64_t volume_snapshots_completed = 0;
  int64_t csi_snapshots_attempted = 0;
  int64_t csi_snapshots_completed = 0;
};

class ServerMetrics {
 public:
  // Registers every metric. `clock` (borrowed, must outlive this) stamps
  // backup_last_successful_timestamp.
  explicit ServerMetrics(Clock& clock = RealClock());

  const Registry& registry() const { return registry_; }

  // Creates a schedule's series at zero (Velero's InitSchedule: a schedule's counters exist
  // from its creation, so rate() and alerts work before the first failure).
  void InitSchedule(const std::string& schedule);
  // Velero's schedule_expected_interval_seconds: the schedule's period.
  void SetScheduleExpectedInterval(const std::string& schedule, std::chrono::seconds interval);

  // Backup life cycle, as Velero's backup controller: a backup that fails validation counts only
  // as a validation failure (and last_status 0); one that passes counts as an attempt, and then
  // BackupFinished records its result, duration, sizes, snapshot counts and items.
  void BackupValidationFailed(const std::string& schedule);
  void BackupAttempted(const std::string& schedule);
  void BackupFinished(const BackupStats& stats);
  // Current number of Backup objects / Restore objects.
  void SetBackupTotal(int64_t n);
  void SetRestoreTotal(int64_t n);

  // Backup deletion (DeleteBackupRequest processing).
  void BackupDeletionAttempted(const std::string& schedule);
  void BackupDeletionSucceeded(const std::string& schedule);
  void BackupDeletionFailed(const std::string& schedule);

  // A volume snapshot of a deleted backup was deleted (lifeboat_volume_snapshots_deleted_total)
  // or could not be (lifeboat_volume_snapshot_deletion_failures_total).
  void VolumeSnapshotDeleted(SnapshotKind kind);
  void VolumeSnapshotDeletionFailed(SnapshotKind kind);
  // The orphan check's result for one kind (lifeboat_orphaned_volume_snapshots): one series per
  // location in `by_location` (native: VolumeSnapshotLocation name; csi: CSI driver name); the
  // kind's series for locations not in the map are removed.
  void SetOrphanedVolumeSnapshots(SnapshotKind kind,
                                  const std::map<std::string, int64_t>& by_location);

  // Restore life cycle: validation failure, or attempt then RestoreFinished.
  void RestoreValidationFailed(const std::string& schedule);
  void RestoreAttempted(const std::string& schedule);
  void RestoreFinished(const std::string& schedule, RestoreResult result,
                       std::chrono::nanoseconds duration);

  // Backup storage location validation result (velero_backup_location_status_gauge and
  // lifeboat_backup_location_available); RemoveBackupLocation when the BSL is deleted.
  void SetBackupLocationAvailable(const std::string& location, bool available);
  void RemoveBackupLocation(const std::string& location);

  // Bytes uploaded to a location outside of a backup's own accounting (e.g. restore logs);
  // BackupFinished already adds BackupStats::bytes_written.
  void AddBytesWritten(const std::string& location, int64_t bytes);

 private:
  void RegisterBackupFamilies();
  void RegisterRestoreAndSnapshotFamilies();
  void RegisterLifeboatFamilies();

  Clock& clock_;
  Registry registry_;
  // velero_* families.
  Family<Gauge>* tarball_size_;
  Family<Gauge>* backup_total_;
  Family<Counter>* backup_attempt_;
  Family<Counter>* backup_success_;
  Family<Counter>* backup_partial_failure_;
  Family<Counter>* backup_failure_;
  Family<Counter>* backup_validation_failure_;
  Family<Histogram>* backup_duration_;
  Family<Counter>* deletion_attempt_;
  Family<Counter>* deletion_success_;
  Family<Counter>* deletion_failure_;
  Family<Gauge>* last_successful_;
  Family<Gauge>* items_total_;
  Family<Gauge>* items_errors_;
  Family<Counter>* backup_warning_;
  Family<Gauge>* last_status_;
  Family<Gauge>* location_status_;
  Family<Gauge>* restore_total_;
  Family<Counter>* restore_attempt_;
  Family<Counter>* restore_success_;
  Family<Counter>* restore_partial_failure_;
  Family<Counter>* restore_failed_;
  Family<Counter>* restore_validation_failed_;
  Family<Counter>* snapshot_attempt_;
  Family<Counter>* snapshot_success_;
  Family<Counter>* snapshot_failure_;
  Family<Counter>* csi_attempt_;
  Family<Counter>* csi_success_;
  Family<Counter>* csi_failure_;
  Family<Gauge>* expected_interval_;
  // lifeboat_* families.
  Family<Gauge>* items_per_second_;
  Family<Counter>* bytes_written_;
  Family<Gauge>* location_available_;
  Family<Histogram>* restore_duration_;
  Family<Counter>* snapshots_deleted_;
  Family<Counter>* snapshot_deletion_failures_;
  Family<Gauge>* orphaned_snapshots_;
  std::mutex orphaned_mu_;  // SetOrphanedVolumeSnapshots replaces a kind's series as one step
};

}  // namespace lifeboat::metrics
