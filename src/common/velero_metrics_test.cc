#include "lifeboat/common/velero_metrics.h"

#include <set>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lifeboat::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// "# TYPE <name> <type>" lines of an exposition, as name -> type.
std::map<std::string, std::string> Types(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream l(line.substr(7));
    std::string name, type;
    l >> name >> type;
    out[name] = type;
  }
  return out;
}

TEST(ServerMetricsTest, InitScheduleExposesVelerosSeriesAtZero) {
  FakeClock clock;
  ServerMetrics m(clock);
  m.InitSchedule("nightly");
  std::string text = m.registry().Exposition();
  std::map<std::string, std::string> want = {
      {"velero_backup_attempt_total", "counter"},
      {"velero_backup_success_total", "counter"},
      {"velero_backup_partial_failure_total", "counter"},
      {"velero_backup_failure_total", "counter"},
      {"velero_backup_validation_failure_total", "counter"},
      {"velero_backup_deletion_attempt_total", "counter"},
      {"velero_backup_deletion_success_total", "counter"},
      {"velero_backup_deletion_failure_total", "counter"},
      {"velero_backup_warning_total", "counter"},
      {"velero_backup_items_total", "gauge"},
      {"velero_backup_items_errors", "gauge"},
      {"velero_backup_last_status", "gauge"},
      {"velero_backup_total", "gauge"},
      {"velero_restore_total", "gauge"},
      {"velero_restore_attempt_total", "counter"},
      {"velero_restore_success_total", "counter"},
      {"velero_restore_partial_failure_total", "counter"},
      {"velero_restore_failed_total", "counter"},
      {"velero_restore_validation_failed_total", "counter"},
      {"velero_volume_snapshot_attempt_total", "counter"},
      {"velero_volume_snapshot_success_total", "counter"},
      {"velero_volume_snapshot_failure_total", "counter"},
      {"velero_csi_snapshot_attempt_total", "counter"},
      {"velero_csi_snapshot_success_total", "counter"},
      {"velero_csi_snapshot_failure_total", "counter"},
  };
  EXPECT_EQ(Types(text), want);
  EXPECT_THAT(text, HasSubstr("velero_backup_attempt_total{schedule=\"nightly\"} 0\n"));
  EXPECT_THAT(
      text,
      HasSubstr("velero_csi_snapshot_attempt_total{backupName=\"\",schedule=\"nightly\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("# HELP velero_backup_attempt_total Total number of attempted backups\n"));
}

TEST(ServerMetricsTest, CompletedBackupRecordsEverything) {
  FakeClock clock(Clock::TimePoint(std::chrono::seconds(1'750'000'000)));
  ServerMetrics m(clock);
  m.BackupAttempted("nightly");
  BackupStats st;
  st.schedule = "nightly";
  st.backup_name = "nightly-20260501020000";
  st.storage_location = "default";
  st.result = BackupResult::kCompleted;
  st.duration = 90s + 700ms;
  st.items_total = 181;
  st.errors = 0;
  st.warnings = 2;
  st.tarball_bytes = 123456;
  st.bytes_written = 200000;
  st.volume_snapshots_attempted = 3;
  st.volume_snapshots_completed = 2;
  st.csi_snapshots_attempted = 1;
  st.csi_snapshots_completed = 1;
  m.BackupFinished(st);
  std::string text = m.registry().Exposition();
  const char* want[] = {
      "velero_backup_attempt_total{schedule=\"nightly\"} 1\n",
      "velero_backup_success_total{schedule=\"nightly\"} 1\n",
      "velero_backup_last_status{schedule=\"nightly\"} 1\n",
      "velero_backup_last_successful_timestamp{schedule=\"nightly\"} 1.75e+09\n",
      "velero_backup_tarball_size_bytes{schedule=\"nightly\"} 123456\n",
      "velero_backup_items_total{schedule=\"nightly\"} 181\n",
      "velero_backup_items_errors{schedule=\"nightly\"} 0\n",
      "velero_backup_warning_total{schedule=\"nightly\"} 1\n",
      "velero_volume_snapshot_attempt_total{schedule=\"nightly\"} 3\n",
      "velero_volume_snapshot_success_total{schedule=\"nightly\"} 2\n",
      "velero_volume_snapshot_failure_total{schedule=\"nightly\"} 1\n",
      "velero_csi_snapshot_success_total{backupName=\"nightly-20260501020000\",schedule="
      "\"nightly\"} 1\n",
      "velero_csi_snapshot_failure_total{backupName=\"nightly-20260501020000\",schedule="
      "\"nightly\"} 0\n",
      // Whole seconds, as Velero: 90.7s observes 90, in the 5m bucket but not the 1m one.
      "velero_backup_duration_seconds_bucket{schedule=\"nightly\",le=\"60\"} 0\n",
      "velero_backup_duration_seconds_bucket{schedule=\"nightly\",le=\"300\"} 1\n",
      "velero_backup_duration_seconds_bucket{schedule=\"nightly\",le=\"14400\"} 1\n",
      "velero_backup_duration_seconds_bucket{schedule=\"nightly\",le=\"+Inf\"} 1\n",
      "velero_backup_duration_seconds_sum{schedule=\"nightly\"} 90\n",
      "velero_backup_duration_seconds_count{schedule=\"nightly\"} 1\n",
      "lifeboat_bytes_written_total{location=\"default\"} 200000\n",
  };
  for (const char* w : want) EXPECT_THAT(text, HasSubstr(w));
  EXPECT_THAT(text, HasSubstr("lifeboat_items_per_second{schedule=\"nightly\"} 1.99"));
}

TEST(ServerMetricsTest, FailuresSetLastStatusToZero) {
  FakeClock clock;
  ServerMetrics m(clock);
  m.BackupValidationFailed("");
  std::string text = m.registry().Exposition();
  EXPECT_THAT(text, HasSubstr("velero_backup_validation_failure_total{schedule=\"\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("velero_backup_last_status{schedule=\"\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("velero_backup_attempt_total{")));  // not an attempt

  BackupStats st;
  st.result = BackupResult::kCompleted;
  m.BackupFinished(st);
  EXPECT_THAT(m.registry().Exposition(), HasSubstr("velero_backup_last_status{schedule=\"\"} 1\n"));
  st.result = BackupResult::kPartiallyFailed;
  st.errors = 4;
  m.BackupFinished(st);
  st.result = BackupResult::kFailed;
  m.BackupFinished(st);
  text = m.registry().Exposition();
  EXPECT_THAT(text, HasSubstr("velero_backup_partial_failure_total{schedule=\"\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("velero_backup_failure_total{schedule=\"\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("velero_backup_success_total{schedule=\"\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("velero_backup_items_errors{schedule=\"\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("velero_backup_last_status{schedule=\"\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("velero_backup_duration_seconds_count{schedule=\"\"} 3\n"));
  // No CSI snapshots: no per-backup CSI series.
  EXPECT_THAT(text, Not(HasSubstr("velero_csi_snapshot_attempt_total{")));
  // Unknown tarball size is not reported as 0.
  EXPECT_THAT(text, Not(HasSubstr("velero_backup_tarball_size_bytes{")));
}

TEST(ServerMetricsTest, RestoresDeletionsTotalsAndLocations) {
  FakeClock clock;
  ServerMetrics m(clock);
  m.RestoreValidationFailed("s");
  m.RestoreAttempted("s");
  m.RestoreFinished("s", RestoreResult::kCompleted, 2500ms);
  m.RestoreAttempted("s");
  m.RestoreFinished("s", RestoreResult::kPartiallyFailed, 10s);
  m.RestoreAttempted("s");
  m.RestoreFinished("s", RestoreResult::kFailed, 1s);
  m.BackupDeletionAttempted("s");
  m.BackupDeletionSucceeded("s");
  m.BackupDeletionAttempted("s");
  m.BackupDeletionFailed("s");
  m.SetBackupTotal(7);
  m.SetRestoreTotal(3);
  m.SetScheduleExpectedInterval("s", 24h);
  m.SetBackupLocationAvailable("default", true);
  m.SetBackupLocationAvailable("offsite", false);
  m.AddBytesWritten("default", 10);
  m.AddBytesWritten("default", -5);  // ignored
  std::string text = m.registry().Exposition();
  const char* want[] = {
      "velero_restore_validation_failed_total{schedule=\"s\"} 1\n",
      "velero_restore_attempt_total{schedule=\"s\"} 3\n",
      "velero_restore_success_total{schedule=\"s\"} 1\n",
      "velero_restore_partial_failure_total{schedule=\"s\"} 1\n",
      "velero_restore_failed_total{schedule=\"s\"} 1\n",
      "lifeboat_restore_duration_seconds_sum{schedule=\"s\"} 13.5\n",
      "lifeboat_restore_duration_seconds_bucket{schedule=\"s\",le=\"60\"} 3\n",
      "velero_backup_deletion_attempt_total{schedule=\"s\"} 2\n",
      "velero_backup_deletion_success_total{schedule=\"s\"} 1\n",
      "velero_backup_deletion_failure_total{schedule=\"s\"} 1\n",
      "velero_backup_total 7\n",
      "velero_restore_total 3\n",
      "velero_schedule_expected_interval_seconds{schedule=\"s\"} 86400\n",
      "velero_backup_location_status_gauge{backup_location_name=\"default\"} 1\n",
      "velero_backup_location_status_gauge{backup_location_name=\"offsite\"} 0\n",
      "lifeboat_backup_location_available{location=\"default\"} 1\n",
      "lifeboat_backup_location_available{location=\"offsite\"} 0\n",
      "lifeboat_bytes_written_total{location=\"default\"} 10\n",
  };
  for (const char* w : want) EXPECT_THAT(text, HasSubstr(w));
  m.RemoveBackupLocation("offsite");
  text = m.registry().Exposition();
  EXPECT_THAT(text, Not(HasSubstr("offsite")));
  EXPECT_THAT(text, HasSubstr("lifeboat_backup_location_available{location=\"default\"} 1\n"));
}

TEST(ServerMetricsTest, DurationBucketsAreVelerosAndExpositionIsDeterministic) {
  EXPECT_EQ(VeleroDurationBuckets(),
            (std::vector<double>{60, 300, 600, 900, 1800, 3600, 7200, 10800, 14400}));
  FakeClock clock;
  ServerMetrics a(clock), b(clock);
  for (ServerMetrics* m : {&a, &b}) {
    m->InitSchedule("z");
    m->InitSchedule("a");
    m->BackupAttempted("m");
  }
  EXPECT_EQ(a.registry().Exposition(), b.registry().Exposition());
}

}  // namespace
}  // namespace lifeboat::metrics
