#include "src/controller/schedule_reconciler.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "absl/time/time.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/cron.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

class ScheduleReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ServerFixtureOptions options;
    options.clock = &clock_;
    auto f = testing::ServerFixture::Start(options);
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = std::move(*f);
  }

  // Creates a Schedule and puts the fake clock at its creationTimestamp.
  json::value CreateSchedule(const std::string& name, json::object spec,
                             json::object metadata = {}) {
    metadata["name"] = name;
    metadata["namespace"] = "velero";
    json::value obj = json::object{{"apiVersion", "velero.io/v1"},
                                   {"kind", "Schedule"},
                                   {"metadata", std::move(metadata)},
                                   {"spec", std::move(spec)}};
    auto created = f_->Create(kSchedules, obj);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return json::value();
    created_ = *api::ParseRfc3339(*JsonString(*created, {"metadata", "creationTimestamp"}));
    clock_.Set(created_);
    return *created;
  }

  json::value Get(const std::string& name) {
    auto got = f_->Get(kSchedules, name);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : json::value();
  }

  std::string ResourceVersion(const std::string& name) {
    return JsonString(Get(name), {"metadata", "resourceVersion"}).value_or("");
  }

  json::array Backups() {
    auto list = f_->ctx.client->List(kBackups, "velero");
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? list->items : json::array();
  }

  Result MustReconcile(ScheduleReconciler& r, const std::string& name) {
    auto result = r.Reconcile(name, CancellationToken());
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : Result{milliseconds(-1)};
  }

  void SetBackupPhase(const std::string& backup, const std::string& phase) {
    auto patched =
        PatchStatus(*f_->ctx.client, kBackups, "velero", backup, json::object{{"phase", phase}});
    ASSERT_TRUE(patched.ok()) << patched.status();
  }

  FakeClock clock_;
  TimePoint created_;
  std::unique_ptr<testing::ServerFixture> f_;
};

TEST_F(ScheduleReconcilerTest, EveryTwoSecondsSubmitsFromTemplate) {
  json::object tmpl{{"includedNamespaces", json::array{"app"}},
                    {"ttl", "1h0m0s"},
                    {"metadata", json::object{{"labels", json::object{{"team", "a"}}}}}};
  CreateSchedule("s1", json::object{{"schedule", "@every 2s"}, {"template", tmpl}},
                 json::object{{"labels", json::object{{"owner", "ops"}}}});
  ScheduleReconciler r(f_->ctx);

  // Not due at creation (skipImmediately defaults to false: the first run is 2 s later).
  Result first = MustReconcile(r, "s1");
  EXPECT_EQ(first.requeue_after, milliseconds(2000));
  EXPECT_EQ(JsonString(Get("s1"), {"status", "phase"}), "Enabled");
  EXPECT_TRUE(Backups().empty());
  const std::string metrics = f_->metrics->registry().Exposition();
  EXPECT_NE(metrics.find("velero_schedule_expected_interval_seconds{schedule=\"s1\"} 2\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("velero_backup_attempt_total{schedule=\"s1\"} 0\n"), std::string::npos);
  // A reconcile that is not due writes nothing.
  const std::string rv = ResourceVersion("s1");
  clock_.Advance(milliseconds(1500));
  EXPECT_EQ(MustReconcile(r, "s1").requeue_after, milliseconds(500));
  EXPECT_EQ(ResourceVersion("s1"), rv);

  clock_.Advance(milliseconds(500));
  Result due = MustReconcile(r, "s1");
  EXPECT_EQ(due.requeue_after, milliseconds(2000));
  const std::string want = ScheduledBackupName("s1", created_ + seconds(2));
  json::array backups = Backups();
  ASSERT_EQ(backups.size(), 1u);
  const json::value& b = backups[0];
  EXPECT_EQ(JsonString(b, {"metadata", "name"}), want);
  EXPECT_EQ(JsonString(b, {"metadata", "labels", "velero.io/schedule-name"}), "s1");
  EXPECT_EQ(JsonString(b, {"metadata", "labels", "team"}), "a");
  // Template labels replace the schedule's own (Velero's FromSchedule).
  EXPECT_EQ(JsonFind(b, {"metadata", "labels", "owner"}), nullptr);
  const json::value* ns = JsonFind(b, {"spec", "includedNamespaces"});
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(json::serialize(*ns), R"(["app"])");
  EXPECT_EQ(JsonString(b, {"spec", "ttl"}), "1h0m0s");
  EXPECT_EQ(JsonFind(b, {"metadata", "ownerReferences"}), nullptr);
  EXPECT_EQ(JsonString(Get("s1"), {"status", "lastBackup"}),
            api::FormatRfc3339(created_ + seconds(2)));

  // The next reconcile (the watch event of that status patch) is not due and writes nothing.
  const std::string rv2 = ResourceVersion("s1");
  EXPECT_EQ(MustReconcile(r, "s1").requeue_after, milliseconds(2000));
  EXPECT_EQ(ResourceVersion("s1"), rv2);
}

TEST_F(ScheduleReconcilerTest, UnfinishedBackupDelaysTheNextRun) {
  CreateSchedule("s2", json::object{{"schedule", "@every 2s"}, {"template", json::object{}}});
  ScheduleReconciler r(f_->ctx);
  clock_.Advance(seconds(2));
  MustReconcile(r, "s2");
  ASSERT_EQ(Backups().size(), 1u);
  const std::string first = ScheduledBackupName("s2", created_ + seconds(2));

  // Due again, but the first backup is still New: nothing is submitted, nothing is written.
  SetBackupPhase(first, "New");
  clock_.Advance(seconds(2));
  const std::string rv = ResourceVersion("s2");
  EXPECT_EQ(MustReconcile(r, "s2").requeue_after, milliseconds(60000));
  EXPECT_EQ(Backups().size(), 1u);
  EXPECT_EQ(ResourceVersion("s2"), rv);
  SetBackupPhase(first, "InProgress");
  EXPECT_EQ(MustReconcile(r, "s2").requeue_after, milliseconds(60000));
  EXPECT_EQ(Backups().size(), 1u);

  // Once it has finished, the overdue run is submitted.
  SetBackupPhase(first, "Completed");
  clock_.Advance(milliseconds(300));
  MustReconcile(r, "s2");
  json::array backups = Backups();
  ASSERT_EQ(backups.size(), 2u);
  EXPECT_EQ(JsonString(Get("s2"), {"status", "lastBackup"}),
            api::FormatRfc3339(created_ + seconds(4)));
}

TEST_F(ScheduleReconcilerTest, OverdueScheduleRunsAtOnceUnlessSkipImmediately) {
  CreateSchedule("late", json::object{{"schedule", "@every 10s"}, {"template", json::object{}}});
  CreateSchedule("skip", json::object{{"schedule", "@every 10s"},
                                      {"template", json::object{}},
                                      {"skipImmediately", true}});
  ScheduleReconciler r(f_->ctx);
  clock_.Advance(seconds(30));
  const TimePoint now = clock_.Now();

  EXPECT_EQ(MustReconcile(r, "late").requeue_after,
            std::chrono::ceil<milliseconds>(std::chrono::floor<seconds>(now) + seconds(10) - now));
  EXPECT_EQ(Backups().size(), 1u);

  Result skipped = MustReconcile(r, "skip");
  EXPECT_EQ(Backups().size(), 1u);  // nothing for "skip"
  json::value s = Get("skip");
  EXPECT_EQ(JsonString(s, {"status", "lastSkipped"}), api::FormatRfc3339(now));
  EXPECT_EQ(JsonBool(s, {"spec", "skipImmediately"}), false);
  EXPECT_EQ(skipped.requeue_after,
            std::chrono::ceil<milliseconds>(std::chrono::floor<seconds>(now) + seconds(10) - now));
  // The next activation counts from lastSkipped.
  clock_.Advance(seconds(10));
  MustReconcile(r, "skip");
  EXPECT_EQ(Backups().size(), 2u);
}

TEST_F(ScheduleReconcilerTest, ServerDefaultSkipImmediately) {
  CreateSchedule("d", json::object{{"schedule", "@every 10s"}, {"template", json::object{}}});
  ScheduleReconciler r(f_->ctx, ScheduleReconcilerOptions{.skip_immediately = true});
  clock_.Advance(seconds(30));
  MustReconcile(r, "d");
  EXPECT_TRUE(Backups().empty());
  EXPECT_EQ(JsonBool(Get("d"), {"spec", "skipImmediately"}), false);
}

TEST_F(ScheduleReconcilerTest, PausedScheduleSubmitsNothing) {
  CreateSchedule(
      "p", json::object{{"schedule", "@every 1s"}, {"template", json::object{}}, {"paused", true}});
  ScheduleReconciler r(f_->ctx);
  clock_.Advance(seconds(5));
  EXPECT_EQ(MustReconcile(r, "p").requeue_after, milliseconds(0));
  EXPECT_TRUE(Backups().empty());
  EXPECT_EQ(JsonString(Get("p"), {"status", "phase"}), "Enabled");

  // Unpaused: the overdue run goes at once.
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kSchedules, "velero", "p",
                         json::object{{"spec", json::object{{"paused", false}}}})
                  .ok());
  MustReconcile(r, "p");
  EXPECT_EQ(Backups().size(), 1u);
}

TEST_F(ScheduleReconcilerTest, InvalidCronFailsValidation) {
  CreateSchedule("bad", json::object{{"schedule", "* * * *"}, {"template", json::object{}}});
  ScheduleReconciler r(f_->ctx);
  clock_.Advance(std::chrono::hours(1));
  EXPECT_EQ(MustReconcile(r, "bad").requeue_after, milliseconds(0));
  json::value s = Get("bad");
  EXPECT_EQ(JsonString(s, {"status", "phase"}), "FailedValidation");
  const json::value* errors = JsonFind(s, {"status", "validationErrors"});
  ASSERT_NE(errors, nullptr);
  ASSERT_TRUE(errors->is_array());
  ASSERT_EQ(errors->as_array().size(), 1u);
  EXPECT_EQ(errors->as_array()[0].as_string(),
            "invalid schedule: expected exactly 5 fields, found 4: [* * * *]");
  EXPECT_TRUE(Backups().empty());
  const std::string rv = ResourceVersion("bad");
  MustReconcile(r, "bad");
  EXPECT_EQ(ResourceVersion("bad"), rv);

  // Fixed: Enabled, the errors are cleared.
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kSchedules, "velero", "bad",
                         json::object{{"spec", json::object{{"schedule", "@every 1h"}}}})
                  .ok());
  MustReconcile(r, "bad");
  s = Get("bad");
  EXPECT_EQ(JsonString(s, {"status", "phase"}), "Enabled");
  EXPECT_EQ(JsonFind(s, {"status", "validationErrors"}), nullptr);
  EXPECT_EQ(Backups().size(), 1u);  // an hour overdue
}

TEST_F(ScheduleReconcilerTest, OwnerReferenceLabelsAndAnnotationsFromSchedule) {
  json::value s =
      CreateSchedule("own",
                     json::object{{"schedule", "@every 1s"},
                                  {"template", json::object{{"storageLocation", "default"}}},
                                  {"useOwnerReferencesInBackup", true}},
                     json::object{{"labels", json::object{{"owner", "ops"}}},
                                  {"annotations", json::object{{"note", "n1"}}}});
  ScheduleReconciler r(f_->ctx);
  clock_.Advance(seconds(1));
  MustReconcile(r, "own");
  json::array backups = Backups();
  ASSERT_EQ(backups.size(), 1u);
  const json::value& b = backups[0];
  EXPECT_EQ(JsonString(b, {"metadata", "labels", "owner"}), "ops");
  EXPECT_EQ(JsonString(b, {"metadata", "labels", "velero.io/schedule-name"}), "own");
  EXPECT_EQ(JsonString(b, {"metadata", "annotations", "note"}), "n1");
  EXPECT_EQ(JsonString(b, {"spec", "storageLocation"}), "default");
  const json::value* refs = JsonFind(b, {"metadata", "ownerReferences"});
  ASSERT_NE(refs, nullptr);
  ASSERT_TRUE(refs->is_array());
  ASSERT_EQ(refs->as_array().size(), 1u);
  const json::value& ref = refs->as_array()[0];
  EXPECT_EQ(JsonString(ref, {"kind"}), "Schedule");
  EXPECT_EQ(JsonString(ref, {"apiVersion"}), "velero.io/v1");
  EXPECT_EQ(JsonString(ref, {"name"}), "own");
  EXPECT_EQ(JsonString(ref, {"uid"}), JsonString(s, {"metadata", "uid"}));
  EXPECT_EQ(JsonBool(ref, {"controller"}), true);
}

TEST_F(ScheduleReconcilerTest, CronTzScheduleFiresAtZoneTime) {
  // 09:00 in Tokyo is 00:00 UTC.
  CreateSchedule("tokyo", json::object{{"schedule", "CRON_TZ=Asia/Tokyo 0 9 * * *"},
                                       {"template", json::object{}}});
  ScheduleReconciler r(f_->ctx);
  absl::Time created = absl::FromChrono(created_);
  absl::CivilDay day = absl::ToCivilDay(created, absl::UTCTimeZone());
  TimePoint midnight = absl::ToChronoTime(absl::FromCivil(day + 1, absl::UTCTimeZone()));
  EXPECT_EQ(MustReconcile(r, "tokyo").requeue_after,
            std::chrono::ceil<milliseconds>(midnight - created_));
  clock_.Set(midnight - seconds(1));
  MustReconcile(r, "tokyo");
  EXPECT_TRUE(Backups().empty());
  clock_.Set(midnight);
  EXPECT_EQ(MustReconcile(r, "tokyo").requeue_after, milliseconds(std::chrono::hours(24)));
  json::array backups = Backups();
  ASSERT_EQ(backups.size(), 1u);
  absl::CivilDay next_day = day + 1;
  char want[64];
  std::snprintf(want, sizeof want, "tokyo-%04d%02d%02d000000", static_cast<int>(next_day.year()),
                next_day.month(), next_day.day());
  EXPECT_EQ(JsonString(backups[0], {"metadata", "name"}), std::string(want));
}

TEST_F(ScheduleReconcilerTest, RecordsASubmittedBackupWhoseStatusPatchWasLost) {
  CreateSchedule("rec", json::object{{"schedule", "@every 10s"}, {"template", json::object{}}});
  // A backup this schedule submitted at +12 s, whose lastBackup was never recorded.
  const std::string earlier = ScheduledBackupName("rec", created_ + seconds(12));
  json::value b = json::object{
      {"apiVersion", "velero.io/v1"},
      {"kind", "Backup"},
      {"metadata", json::object{{"name", earlier},
                                {"namespace", "velero"},
                                {"labels", json::object{{"velero.io/schedule-name", "rec"}}}}},
      {"spec", json::object{}},
      {"status", json::object{{"phase", "Completed"}}}};
  ASSERT_TRUE(f_->Create(kBackups, b).ok());
  ScheduleReconciler r(f_->ctx);
  clock_.Advance(seconds(15));
  EXPECT_EQ(MustReconcile(r, "rec").requeue_after, milliseconds(7000));
  EXPECT_EQ(Backups().size(), 1u);
  EXPECT_EQ(JsonString(Get("rec"), {"status", "lastBackup"}),
            api::FormatRfc3339(created_ + seconds(12)));
}

TEST_F(ScheduleReconcilerTest, DeletedScheduleIsNothingToDo) {
  ScheduleReconciler r(f_->ctx);
  EXPECT_EQ(MustReconcile(r, "gone").requeue_after, milliseconds(0));
}

}  // namespace
}  // namespace lifeboat::controller
