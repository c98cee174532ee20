#include "lifeboat/common/velero_metrics.h"

#include <algorithm>

namespace lifeboat::metrics {
namespace {

constexpr char kSchedule[] = "schedule";
constexpr char kBackupName[] = "backupName";
constexpr char kLocationName[] = "backup_location_name";
constexpr char kLocation[] = "location";
constexpr char kKind[] = "kind";

// The names are constants of this file: a clash or a bad name is a bug here, not bad input.
template <typename T>
T* Must(StatusOr<T*> family) {
  LIFEBOAT_CHECK(family.ok());
  return *family;
}

double ToSeconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string_view SnapshotKindName(SnapshotKind kind) {
  return kind == SnapshotKind::kCsi ? "csi" : "native";
}

const std::vector<double>& VeleroDurationBuckets() {
  static const std::vector<double> kBuckets = {60, 300, 600, 900, 1800, 3600, 7200, 10800, 14400};
  return kBuckets;
}

ServerMetrics::ServerMetrics(Clock& clock) : clock_(clock) {
  RegisterBackupFamilies();
  RegisterRestoreAndSnapshotFamilies();
  RegisterLifeboatFamilies();
}

void ServerMetrics::RegisterBackupFamilies() {
  Registry& r = registry_;
  const std::vector<std::string> s = {kSchedule};
  // Help texts are Velero's own (pkg/metrics/metrics.go), so that `# HELP` lines match too.
  tarball_size_ =
      Must(r.AddGauge("velero_backup_tarball_size_bytes", "Size, in bytes, of a backup", s));
  backup_total_ = Must(r.AddGauge("velero_backup_total", "Current number of existent backups", {}));
  backup_attempt_ =
      Must(r.AddCounter("velero_backup_attempt_total", "Total number of attempted backups", s));
  backup_success_ =
      Must(r.AddCounter("velero_backup_success_total", "Total number of successful backups", s));
  backup_partial_failure_ = Must(r.AddCounter("velero_backup_partial_failure_total",
                                              "Total number of partially failed backups", s));
  backup_failure_ =
      Must(r.AddCounter("velero_backup_failure_total", "Total number of failed backups", s));
  backup_validation_failure_ = Must(r.AddCounter("velero_backup_validation_failure_total",
                                                 "Total number of validation failed backups", s));
  backup_duration_ =
      Must(r.AddHistogram("velero_backup_duration_seconds",
                          "Time taken to complete backup, in seconds", s, VeleroDurationBuckets()));
  deletion_attempt_ = Must(r.AddCounter("velero_backup_deletion_attempt_total",
                                        "Total number of attempted backup deletions", s));
  deletion_success_ = Must(r.AddCounter("velero_backup_deletion_success_total",
                                        "Total number of successful backup deletions", s));
  deletion_failure_ = Must(r.AddCounter("velero_backup_deletion_failure_total",
                                        "Total number of failed backup deletions", s));
  last_successful_ =
      Must(r.AddGauge("velero_backup_last_successful_timestamp",
                      "Last time a backup ran successfully, Unix timestamp in seconds", s));
  items_total_ =
      Must(r.AddGauge("velero_backup_items_total", "Total number of items backed up", s));
  items_errors_ = Must(r.AddGauge("velero_backup_items_errors",
                                  "Total number of errors encountered during backup", s));
  backup_warning_ =
      Must(r.AddCounter("velero_backup_warning_total", "Total number of warned backups", s));
  last_status_ =
      Must(r.AddGauge("velero_backup_last_status",
                      "Last status of the backup. A value of 1 is success, 0 is failure", s));
  location_status_ = Must(r.AddGauge("velero_backup_location_status_gauge",
                                     "Backup storage location status: 1 available, 0 unavailable",
                                     {kLocationName}));
}

void ServerMetrics::RegisterRestoreAndSnapshotFamilies() {
  Registry& r = registry_;
  const std::vector<std::string> s = {kSchedule};
  restore_total_ =
      Must(r.AddGauge("velero_restore_total", "Current number of existent restores", {}));
  restore_attempt_ =
      Must(r.AddCounter("velero_restore_attempt_total", "Total number of attempted restores", s));
  restore_success_ =
      Must(r.AddCounter("velero_restore_success_total", "Total number of successful restores", s));
  restore_partial_failure_ = Must(r.AddCounter("velero_restore_partial_failure_total",
                                               "Total number of partially failed restores", s));
  restore_failed_ =
      Must(r.AddCounter("velero_restore_failed_total", "Total number of failed restores", s));
  restore_validation_failed_ =
      Must(r.AddCounter("velero_restore_validation_failed_total",
                        "Total number of failed restores failing validations", s));
  snapshot_attempt_ = Must(r.AddCounter("velero_volume_snapshot_attempt_total",
                                        "Total number of attempted volume snapshots", s));
  snapshot_success_ = Must(r.AddCounter("velero_volume_snapshot_success_total",
                                        "Total number of successful volume snapshots", s));
  snapshot_failure_ = Must(r.AddCounter("velero_volume_snapshot_failure_total",
                                        "Total number of failed volume snapshots", s));
  const std::vector<std::string> sb = {kSchedule, kBackupName};
  csi_attempt_ = Must(r.AddCounter("velero_csi_snapshot_attempt_total",
                                   "Total number of CSI attempted volume snapshots", sb));
  csi_success_ = Must(r.AddCounter("velero_csi_snapshot_success_total",
                                   "Total number of CSI successful volume snapshots", sb));
  csi_failure_ = Must(r.AddCounter("velero_csi_snapshot_failure_total",
                                   "Total number of CSI failed volume snapshots", sb));
  expected_interval_ =
      Must(r.AddGauge("velero_schedule_expected_interval_seconds",
                      "Expected interval between two backups of the schedule, in seconds", s));
}

void ServerMetrics::RegisterLifeboatFamilies() {
  Registry& r = registry_;
  const std::vector<std::string> s = {kSchedule};
  items_per_second_ = Must(r.AddGauge("lifeboat_items_per_second",
                                      "Items backed up per second by the last finished backup", s));
  bytes_written_ = Must(r.AddCounter("lifeboat_bytes_written_total",
                                     "Bytes uploaded to the backup storage location", {kLocation}));
  location_available_ = Must(r.AddGauge(
      "lifeboat_backup_location_available",
      "1 if the backup storage location passed its last validation, else 0", {kLocation}));
  restore_duration_ = Must(r.AddHistogram("lifeboat_restore_duration_seconds",
                                          "Time taken to complete restore, in seconds", s,
                                          VeleroDurationBuckets()));
  snapshots_deleted_ = Must(r.AddCounter("lifeboat_volume_snapshots_deleted_total",
                                         "Volume snapshots deleted with their backup", {kKind}));
  snapshot_deletion_failures_ =
      Must(r.AddCounter("lifeboat_volume_snapshot_deletion_failures_total",
                        "Volume snapshots of a deleted backup that could not be deleted", {kKind}));
  orphaned_snapshots_ = Must(r.AddGauge(
      "lifeboat_orphaned_volume_snapshots",
      "Volume snapshots claiming a backup that exists neither in the cluster nor in a bucket, "
      "as of the last orphan check",
      {kKind, kLocation}));
}

void ServerMetrics::InitSchedule(const std::string& schedule) {
  for (Family<Counter>* f :
       {backup_attempt_, backup_success_, backup_partial_failure_, backup_failure_,
        backup_validation_failure_, deletion_attempt_, deletion_success_, deletion_failure_,
        backup_warning_, restore_attempt_, restore_partial_failure_, restore_failed_,
        restore_success_, restore_validation_failed_, snapshot_attempt_, snapshot_success_,
        snapshot_failure_}) {
    f->WithLabels({schedule});
  }
  for (Family<Gauge>* f : {items_total_, items_errors_, last_status_}) f->WithLabels({schedule});
  for (Family<Counter>* f : {csi_attempt_, csi_success_, csi_failure_}) {
    f->WithLabels({schedule, ""});
  }
}

void ServerMetrics::SetScheduleExpectedInterval(const std::string& schedule,
                                                std::chrono::seconds interval) {
  expected_interval_->WithLabels({schedule}).Set(static_cast<double>(interval.count()));
}

void ServerMetrics::BackupValidationFailed(const std::string& schedule) {
  backup_validation_failure_->WithLabels({schedule}).Inc();
  last_status_->WithLabels({schedule}).Set(0);
}

void ServerMetrics::BackupAttempted(const std::string& schedule) {
  backup_attempt_->WithLabels({schedule}).Inc();
}

void ServerMetrics::BackupFinished(const BackupStats& st) {
  const std::vector<std::string> s = {st.schedule};
  switch (st.result) {
    case BackupResult::kCompleted:
      backup_success_->WithLabels(s).Inc();
      last_status_->WithLabels(s).Set(1);
      last_successful_->WithLabels(s).Set(static_cast<double>(
          std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch())
              .count()));
      break;
    case BackupResult::kPartiallyFailed:
      backup_partial_failure_->WithLabels(s).Inc();
      last_status_->WithLabels(s).Set(0);
      break;
    case BackupResult::kFailed:
      backup_failure_->WithLabels(s).Inc();
      last_status_->WithLabels(s).Set(0);
      break;
  }
  if (st.tarball_bytes >= 0)
    tarball_size_->WithLabels(s).Set(static_cast<double>(st.tarball_bytes));
  // Velero observes whole seconds (it divides the duration by time.Second).
  backup_duration_->WithLabels(s).Observe(
      static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(st.duration).count()));
  auto add = [](Family<Counter>* f, const std::vector<std::string>& labels, int64_t n) {
    f->WithLabels(labels).Inc(static_cast<double>(std::max<int64_t>(n, 0)));
  };
  add(snapshot_attempt_, s, st.volume_snapshots_attempted);
  add(snapshot_success_, s, st.volume_snapshots_completed);
  add(snapshot_failure_, s, st.volume_snapshots_attempted - st.volume_snapshots_completed);
  // One series per backup name: only for backups that took CSI snapshots at all (Velero only
  // when its CSI feature is on), so that a busy schedule does not grow a series per backup.
  if (st.csi_snapshots_attempted > 0) {
    const std::vector<std::string> sb = {st.schedule, st.backup_name};
    add(csi_attempt_, sb, st.csi_snapshots_attempted);
    add(csi_success_, sb, st.csi_snapshots_completed);
    add(csi_failure_, sb, st.csi_snapshots_attempted - st.csi_snapshots_completed);
  }
  items_total_->WithLabels(s).Set(static_cast<double>(st.items_total));
  items_errors_->WithLabels(s).Set(static_cast<double>(st.errors));
  if (st.warnings > 0) backup_warning_->WithLabels(s).Inc();
  double secs = ToSeconds(st.duration);
  items_per_second_->WithLabels(s).Set(secs > 0 ? static_cast<double>(st.items_total) / secs : 0);
  if (st.bytes_written > 0) AddBytesWritten(st.storage_location, st.bytes_written);
}

void ServerMetrics::SetBackupTotal(int64_t n) {
  backup_total_->WithLabels({}).Set(static_cast<double>(n));
}

void ServerMetrics::SetRestoreTotal(int64_t n) {
  restore_total_->WithLabels({}).Set(static_cast<double>(n));
}

void ServerMetrics::BackupDeletionAttempted(const std::string& schedule) {
  deletion_attempt_->WithLabels({schedule}).Inc();
}

void ServerMetrics::BackupDeletionSucceeded(const std::string& schedule) {
  deletion_success_->WithLabels({schedule}).Inc();
}

void ServerMetrics::BackupDeletionFailed(const std::string& schedule) {
  deletion_failure_->WithLabels({schedule}).Inc();
}

void ServerMetrics::VolumeSnapshotDeleted(SnapshotKind kind) {
  snapshots_deleted_->WithLabels({std::string(SnapshotKindName(kind))}).Inc();
}

void ServerMetrics::VolumeSnapshotDeletionFailed(SnapshotKind kind) {
  snapshot_deletion_failures_->WithLabels({std::string(SnapshotKindName(kind))}).Inc();
}

void ServerMetrics::SetOrphanedVolumeSnapshots(SnapshotKind kind,
                                               const std::map<std::string, int64_t>& by_location) {
  const std::string k(SnapshotKindName(kind));
  std::lock_guard<std::mutex> lock(orphaned_mu_);
  // Label values come in sorted-label-name order: kind, location.
  std::vector<std::string> stale;
  orphaned_snapshots_->ForEach([&](const std::vector<std::string>& values, const Gauge&) {
    if (values.size() == 2 && values[0] == k && !by_location.count(values[1])) {
      stale.push_back(values[1]);
    }
  });
  for (const auto& loc : stale) orphaned_snapshots_->Remove({k, loc});
  for (const auto& [loc, n] : by_location) {
    orphaned_snapshots_->WithLabels({k, loc}).Set(static_cast<double>(n));
  }
}

void ServerMetrics::RestoreValidationFailed(const std::string& schedule) {
  restore_validation_failed_->WithLabels({schedule}).Inc();
}

void ServerMetrics::RestoreAttempted(const std::string& schedule) {
  restore_attempt_->WithLabels({schedule}).Inc();
}

void ServerMetrics::RestoreFinished(const std::string& schedule, RestoreResult result,
                                    std::chrono::nanoseconds duration) {
  switch (result) {
    case RestoreResult::kCompleted:
      restore_success_->WithLabels({schedule}).Inc();
      break;
    case RestoreResult::kPartiallyFailed:
      restore_partial_failure_->WithLabels({schedule}).Inc();
      break;
    case RestoreResult::kFailed:
      restore_failed_->WithLabels({schedule}).Inc();
      break;
  }
  restore_duration_->WithLabels({schedule}).Observe(ToSeconds(duration));
}

void ServerMetrics::SetBackupLocationAvailable(const std::string& location, bool available) {
  location_status_->WithLabels({location}).Set(available ? 1 : 0);
  location_available_->WithLabels({location}).Set(available ? 1 : 0);
}

void ServerMetrics::RemoveBackupLocation(const std::string& location) {
  location_status_->Remove({location});
  location_available_->Remove({location});
}

void ServerMetrics::AddBytesWritten(const std::string& location, int64_t bytes) {
  if (bytes > 0) bytes_written_->WithLabels({location}).Inc(static_cast<double>(bytes));
}

}  // namespace lifeboat::metrics
