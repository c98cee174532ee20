// RestoreReconciler against kubesim (ServerFixture): backups made with the backup engine into a
// local location, Restore objects reconciled by calling Reconcile directly — validation, the
// schedule's newest backup, the run and its files, cancel, shutdown and resume, metrics.

#include "src/controller/restore_reconciler.h"

#include <filesystem>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/api/time.h"
#include "lifeboat/backup/backupper.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/kube/object.h"
#include "src/backup/actions/builtin_actions.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

const kube::GroupVersionResource kNs{"", "v1", "namespaces"}, kCm{"", "v1", "configmaps"};

json::value J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : json::value();
}

std::string Phase(const json::value& obj) {
  return JsonString(obj, {"status", "phase"}).value_or("");
}

class RestoreReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = testing::ServerFixture::Start();
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = std::move(*f);
    ASSERT_TRUE(f_->CreateLocalLocation("default", "bucket1").ok());
    ASSERT_TRUE(PatchStatus(*f_->ctx.client, kBackupStorageLocations, "velero", "default",
                            json::object{{"phase", "Available"}})
                    .ok());
    reconciler_ = std::make_unique<RestoreReconciler>(f_->ctx);
  }

  kube::DynamicClient& client() { return *f_->ctx.client; }

  // Namespace `ns` with ConfigMaps `names` (label app=seeded, data v=<name>).
  void Seed(const std::string& ns, const std::vector<std::string>& names) {
    ASSERT_TRUE(client().Create(kNs, "", J(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + ns + R"("}})")).ok());
    for (const auto& n : names) {
      ASSERT_TRUE(client().Create(kCm, ns, J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + n +
                                             R"(","labels":{"app":"seeded"}},"data":{"v":")" + n + R"("}})")).ok());
    }
  }

  void DeleteNamespaceAndWait(const std::string& ns) {
    Status deleted = client().Delete(kNs, "", ns).status();
    ASSERT_TRUE(deleted.ok() || absl::IsNotFound(deleted)) << deleted;
    for (int i = 0; i < 600; ++i) {
      if (absl::IsNotFound(client().Get(kNs, "", ns).status())) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "namespace " << ns << " was never deleted";
  }

  // Runs the backup engine into location "default" and creates the Backup object from its
  // result (labels and all).
  void MakeBackup(const std::string& name, const std::vector<std::string>& namespaces,
                  const std::map<std::string, std::string>& labels = {}) {
    auto loc = f_->stores->Get("default");
    ASSERT_TRUE(loc.ok()) << loc.status();
    api::Backup b;
    b.metadata.name = name;
    b.metadata.namespace_ = "velero";
    b.metadata.labels = labels;
    b.spec.storage_location = "default";
    b.spec.included_namespaces = namespaces;
    backup::BackupperDeps deps;
    deps.client = f_->ctx.client;
    deps.discovery = f_->ctx.discovery;
    deps.store = loc->store.get();
    deps.actions = backup::BuiltinBackupItemActions(f_->ctx.client);
    backup::BackupperOptions options;
    options.temp_dir = f_->ctx.options.temp_dir;
    api::Backup done = backup::Backupper(deps, options).Run(std::move(b));
    ASSERT_EQ(done.status.phase, api::BackupPhase::kCompleted) << done.status.failure_reason;
    CreateBackupObject(done);
  }

  void CreateBackupObject(const api::Backup& b) {
    json::value obj = api::ToJson(b);
    json::object& md = obj.as_object()["metadata"].as_object();
    for (const char* k : {"uid", "resourceVersion", "creationTimestamp"}) md.erase(k);
    auto created = f_->Create(kBackups, obj);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  // A Backup object only (no files in the bucket).
  void BackupObjectOnly(const std::string& name, api::BackupPhase phase, const std::string& start,
                        const std::map<std::string, std::string>& labels = {}) {
    api::Backup b;
    b.metadata.name = name;
    b.metadata.namespace_ = "velero";
    b.metadata.labels = labels;
    b.spec.storage_location = "default";
    b.status.phase = phase;
    b.status.start_timestamp = start;
    CreateBackupObject(b);
  }

  void CreateRestore(const std::string& name, const std::string& spec,
                     const std::string& status = "{}", const std::string& annotations = "{}") {
    auto created = f_->Create(
        kRestores, J(R"({"apiVersion":"velero.io/v1","kind":"Restore","metadata":{"name":")" + name +
                     R"(","namespace":"velero","annotations":)" + annotations + R"(},"spec":)" + spec +
                     R"(,"status":)" + status + "}"));
    ASSERT_TRUE(created.ok()) << created.status();
  }

  json::value Reconcile(const std::string& name, const CancellationToken& cancel = {}) {
    auto r = reconciler_->Reconcile(name, cancel);
    EXPECT_TRUE(r.ok()) << r.status();
    return GetRestore(name);
  }

  json::value GetRestore(const std::string& name) {
    auto got = f_->Get(kRestores, name);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : json::value(json::object());
  }

  // Waits until the restore's phase is `phase`.
  bool WaitForPhase(const std::string& name, const std::string& phase) {
    for (int i = 0; i < 600; ++i) {
      auto got = f_->Get(kRestores, name);
      if (got.ok() && Phase(*got) == phase) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::vector<std::string> ValidationErrors(const json::value& r) {
    std::vector<std::string> out;
    if (const json::value* v = JsonFind(r, {"status", "validationErrors"}); v && v->is_array()) {
      for (const auto& e : v->as_array()) out.emplace_back(e.as_string());
    }
    return out;
  }

  fs::path RestoreDir(const std::string& name) {
    return f_->bucket_root() / "bucket1" / "restores" / name;
  }

  std::string Results(const std::string& name) {
    auto gz = ReadFile(RestoreDir(name) / ("restore-" + name + "-results.gz"));
    EXPECT_TRUE(gz.ok()) << gz.status();
    auto text = gz.ok() ? Gunzip(*gz) : StatusOr<std::string>(gz.status());
    return text.ok() ? *text : "";
  }

  // The value of one exposed series ("velero_restore_success_total{schedule=\"\"}"), -1 if
  // absent.
  double Metric(const std::string& series) {
    const std::string text = f_->metrics->registry().Exposition();
    size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }

  // A ConfigMap with a finalizer in `ns`, so that deleting `ns` leaves it Terminating.
  void HoldAndDeleteNamespace(const std::string& ns) {
    ASSERT_TRUE(client().Create(kCm, ns, J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.com/hold"]}})")).ok());
    ASSERT_TRUE(client().Delete(kNs, "", ns).ok());
  }
  void ReleaseNamespace(const std::string& ns) {
    ASSERT_TRUE(MergePatch(client(), kCm, ns, "held",
                           json::object{{"metadata", json::object{{"finalizers", nullptr}}}})
                    .ok());
  }

  std::unique_ptr<testing::ServerFixture> f_;
  std::unique_ptr<RestoreReconciler> reconciler_;
};

TEST_F(RestoreReconcilerTest, RestoresADeletedNamespace) {
  Seed("shop", {"a", "b"});
  MakeBackup("b1", {"shop"});
  DeleteNamespaceAndWait("shop");
  CreateRestore("r1", R"({"backupName":"b1"})");

  json::value r = Reconcile("r1");
  ASSERT_EQ(Phase(r), "Completed") << json::serialize(r);
  EXPECT_TRUE(JsonFind(r, {"status", "startTimestamp"}) != nullptr);
  EXPECT_TRUE(JsonFind(r, {"status", "completionTimestamp"}) != nullptr);
  EXPECT_EQ(JsonInt(r, {"status", "progress", "itemsRestored"}),
            JsonInt(r, {"status", "progress", "totalItems"}));
  EXPECT_EQ(JsonInt(r, {"status", "errors"}).value_or(0), 0);
  for (const char* n : {"a", "b"}) {
    auto cm = client().Get(kCm, "shop", n);
    ASSERT_TRUE(cm.ok()) << n << ": " << cm.status();
    EXPECT_EQ(cm->at("data").at("v"), n);
    EXPECT_EQ(kube::ObjectLabels(*cm).at("velero.io/restore-name"), "r1");
  }
  for (const char* file : {"restore-r1-logs.gz", "restore-r1-results.gz",
                           "restore-r1-resource-list.json.gz"}) {
    EXPECT_TRUE(fs::exists(RestoreDir("r1") / file)) << file;
  }
  EXPECT_EQ(Metric(R"(velero_restore_attempt_total{schedule=""})"), 1);
  EXPECT_EQ(Metric(R"(velero_restore_success_total{schedule=""})"), 1);
  EXPECT_EQ(Metric(R"(lifeboat_restore_duration_seconds_count{schedule=""})"), 1);

  // Final phases are left alone.
  EXPECT_EQ(Phase(Reconcile("r1")), "Completed");
  EXPECT_EQ(Metric(R"(velero_restore_attempt_total{schedule=""})"), 1);
  EXPECT_TRUE(reconciler_->Running().empty());
  // A restore that is gone is nothing to do.
  EXPECT_TRUE(reconciler_->Reconcile("never-created", {}).ok());
}

TEST_F(RestoreReconcilerTest, FailsValidationWithVelerosMessages) {
  BackupObjectOnly("failed-backup", api::BackupPhase::kFailed, "2026-01-01T00:00:00Z");
  CreateRestore("missing", R"({"backupName":"nope"})");
  CreateRestore("not-completed", R"({"backupName":"failed-backup"})");
  CreateRestore("both", R"({"backupName":"failed-backup","scheduleName":"nightly","includedResources":["nodes"]})");
  CreateRestore("neither", R"({})");

  json::value missing = Reconcile("missing");
  EXPECT_EQ(Phase(missing), "FailedValidation");
  EXPECT_THAT(ValidationErrors(missing),
              Contains(HasSubstr("Error retrieving backup: can't find backup velero/nope")));

  json::value not_completed = Reconcile("not-completed");
  EXPECT_EQ(Phase(not_completed), "FailedValidation");
  EXPECT_THAT(ValidationErrors(not_completed),
              Contains("backup failed-backup is in phase Failed; only Completed and "
                       "PartiallyFailed backups can be restored"));

  // Every problem is listed.
  json::value both = Reconcile("both");
  EXPECT_EQ(Phase(both), "FailedValidation");
  EXPECT_THAT(ValidationErrors(both),
              Contains("Either a backup or schedule must be specified as a source for the "
                       "restore, but not both"));
  EXPECT_THAT(ValidationErrors(both), Contains("nodes are non-restorable resources"));
  EXPECT_EQ(Phase(Reconcile("neither")), "FailedValidation");

  // A location that is Unavailable.
  BackupObjectOnly("ok-backup", api::BackupPhase::kCompleted, "2026-01-01T00:00:00Z");
  ASSERT_TRUE(PatchStatus(client(), kBackupStorageLocations, "velero", "default",
                          json::object{{"phase", "Unavailable"}})
                  .ok());
  CreateRestore("bsl-down", R"({"backupName":"ok-backup"})");
  EXPECT_THAT(ValidationErrors(Reconcile("bsl-down")),
              Contains("The BSL default is unavailable, cannot retrieve the backup"));

  EXPECT_EQ(Metric(R"(velero_restore_validation_failed_total{schedule=""})"), 4);
  EXPECT_EQ(Metric(R"(velero_restore_validation_failed_total{schedule="nightly"})"), 1);
  EXPECT_EQ(Metric(R"(velero_restore_attempt_total{schedule=""})"), -1);
}

TEST_F(RestoreReconcilerTest, ScheduleNamePicksTheNewestCompletedBackup) {
  const std::map<std::string, std::string> nightly = {{"velero.io/schedule-name", "nightly"}};
  BackupObjectOnly("nightly-1", api::BackupPhase::kCompleted, "2026-01-01T02:00:00Z", nightly);
  BackupObjectOnly("nightly-3", api::BackupPhase::kFailed, "2026-01-03T02:00:00Z", nightly);
  BackupObjectOnly("weekly-1", api::BackupPhase::kCompleted, "2026-01-04T02:00:00Z",
                   {{"velero.io/schedule-name", "weekly"}});
  Seed("app", {"x"});
  MakeBackup("nightly-2", {"app"}, nightly);  // started now: the newest Completed one
  DeleteNamespaceAndWait("app");
  CreateRestore("from-schedule", R"({"scheduleName":"nightly"})");

  json::value r = Reconcile("from-schedule");
  ASSERT_EQ(Phase(r), "Completed") << json::serialize(r);
  EXPECT_EQ(JsonString(r, {"spec", "backupName"}), "nightly-2");
  EXPECT_EQ(JsonString(r, {"spec", "scheduleName"}), "nightly");
  EXPECT_TRUE(client().Get(kCm, "app", "x").ok());
  EXPECT_EQ(Metric(R"(velero_restore_success_total{schedule="nightly"})"), 1);

  // No Completed backup of the schedule.
  BackupObjectOnly("hourly-1", api::BackupPhase::kFailed, "2026-01-01T02:00:00Z",
                   {{"velero.io/schedule-name", "hourly"}});
  CreateRestore("hourly", R"({"scheduleName":"hourly"})");
  CreateRestore("none", R"({"scheduleName":"monthly"})");
  EXPECT_THAT(ValidationErrors(Reconcile("hourly")),
              Contains("No completed backups found for schedule"));
  EXPECT_THAT(ValidationErrors(Reconcile("none")), Contains("No backups found for schedule"));
  // A backup name also fills in its schedule (Velero does, for metrics).
  CreateRestore("by-name", R"({"backupName":"nightly-2","namespaceMapping":{"app":"app-copy"}})");
  json::value by_name = Reconcile("by-name");
  EXPECT_EQ(Phase(by_name), "Completed");
  EXPECT_EQ(JsonString(by_name, {"spec", "scheduleName"}), "nightly");
  EXPECT_TRUE(client().Get(kCm, "app-copy", "x").ok());
}

// The annotation lifeboat.io/cancel="true" stops a running restore: Failed, saying so. Here the
// restore waits for its target namespace, held Terminating by a finalizer.
TEST_F(RestoreReconcilerTest, CancelAnnotationFailsTheRunningRestore) {
  Seed("shop", {"a"});
  MakeBackup("b1", {"shop"});
  HoldAndDeleteNamespace("shop");
  CreateRestore("r1", R"({"backupName":"b1"})");

  std::thread run([&] { Reconcile("r1"); });
  ASSERT_TRUE(WaitForPhase("r1", "InProgress"));
  EXPECT_EQ(reconciler_->Running(), std::vector<std::string>{"r1"});
  ASSERT_TRUE(MergePatch(client(), kRestores, "velero", "r1",
                         json::object{{"metadata", json::object{{"annotations",
                                       json::object{{std::string(kCancelAnnotation), "true"}}}}}})
                  .ok());
  run.join();
  json::value r = GetRestore("r1");
  EXPECT_EQ(Phase(r), "Failed");
  EXPECT_THAT(JsonString(r, {"status", "failureReason"}).value_or(""), HasSubstr("cancelled"));
  EXPECT_TRUE(JsonFind(r, {"status", "completionTimestamp"}) != nullptr);
  EXPECT_EQ(Metric(R"(velero_restore_failed_total{schedule=""})"), 1);
  EXPECT_TRUE(reconciler_->Running().empty());

  // Deleting the Restore object stops its run too (there is no status left to write).
  CreateRestore("r3", R"({"backupName":"b1"})");
  std::thread run3([&] { EXPECT_TRUE(reconciler_->Reconcile("r3", {}).ok()); });
  ASSERT_TRUE(WaitForPhase("r3", "InProgress"));
  ASSERT_TRUE(client().Delete(kRestores, "velero", "r3").ok());
  run3.join();
  EXPECT_TRUE(reconciler_->Running().empty());
  ReleaseNamespace("shop");

  // Cancelled before it started: Failed at once, nothing restored.
  CreateRestore("r2", R"({"backupName":"b1"})", "{}", R"({"lifeboat.io/cancel":"true"})");
  json::value r2 = Reconcile("r2");
  EXPECT_EQ(Phase(r2), "Failed");
  EXPECT_THAT(JsonString(r2, {"status", "failureReason"}).value_or(""), HasSubstr("cancelled"));
  EXPECT_FALSE(fs::exists(RestoreDir("r2")));
}

// The Reconcile token (shutdown, lost leadership) stops the engine but leaves the restore
// InProgress; the next Reconcile resumes it to the end.
TEST_F(RestoreReconcilerTest, ShutdownLeavesItInProgressForTheNextLeader) {
  Seed("shop", {"a", "b"});
  MakeBackup("b1", {"shop"});
  HoldAndDeleteNamespace("shop");
  CreateRestore("r1", R"({"backupName":"b1"})");

  CancellationSource shutdown;
  std::thread run([&] {
    auto result = reconciler_->Reconcile("r1", shutdown.token());
    EXPECT_TRUE(result.ok()) << result.status();
  });
  ASSERT_TRUE(WaitForPhase("r1", "InProgress"));
  const std::string started =
      JsonString(GetRestore("r1"), {"status", "startTimestamp"}).value_or("");
  shutdown.Cancel("server shutdown");
  run.join();
  json::value r = GetRestore("r1");
  EXPECT_EQ(Phase(r), "InProgress");
  EXPECT_EQ(JsonFind(r, {"status", "completionTimestamp"}), nullptr);
  EXPECT_EQ(JsonFind(r, {"status", "failureReason"}), nullptr);
  EXPECT_EQ(Metric(R"(velero_restore_failed_total{schedule=""})"), -1);

  ReleaseNamespace("shop");
  DeleteNamespaceAndWait("shop");
  json::value resumed = Reconcile("r1");
  ASSERT_EQ(Phase(resumed), "Completed") << json::serialize(resumed);
  EXPECT_EQ(Annotation(resumed, kResumedAnnotation), "1");
  EXPECT_EQ(JsonString(resumed, {"status", "startTimestamp"}), started);
  EXPECT_TRUE(client().Get(kCm, "shop", "a").ok());
  EXPECT_TRUE(client().Get(kCm, "shop", "b").ok());
}

// An InProgress restore no process runs was interrupted: it runs again with resume, and what
// it had restored (labelled with its name) is neither duplicated nor reported.
TEST_F(RestoreReconcilerTest, ResumesAnInterruptedRestore) {
  Seed("shop", {"a", "b", "c"});
  MakeBackup("b1", {"shop"});
  DeleteNamespaceAndWait("shop");
  // What the interrupted run left: the namespace and ConfigMap a (changed since by someone).
  Seed("shop", {});
  ASSERT_TRUE(client().Create(kCm, "shop", J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a",
      "labels":{"app":"seeded","velero.io/backup-name":"b1","velero.io/restore-name":"rr"}},
      "data":{"v":"changed"}})")).ok());
  // Only the seeded ConfigMaps: the objects kubesim makes in every new namespace
  // (kube-root-ca.crt, the default ServiceAccount) race with any restore into it.
  CreateRestore("rr", R"({"backupName":"b1","labelSelector":{"matchLabels":{"app":"seeded"}}})",
                R"({"phase":"InProgress","startTimestamp":"2026-01-01T00:00:00Z"})");

  json::value r = Reconcile("rr");
  ASSERT_EQ(Phase(r), "Completed") << json::serialize(r);
  EXPECT_EQ(Annotation(r, kResumedAnnotation), "1");
  EXPECT_EQ(JsonString(r, {"status", "startTimestamp"}), "2026-01-01T00:00:00Z");
  EXPECT_EQ(JsonInt(r, {"status", "warnings"}).value_or(0), 0) << Results("rr");
  EXPECT_THAT(Results("rr"), Not(HasSubstr("ConfigMap:a")));
  EXPECT_EQ(client().Get(kCm, "shop", "a")->at("data").at("v"), "changed");
  EXPECT_TRUE(client().Get(kCm, "shop", "b").ok());
  EXPECT_TRUE(client().Get(kCm, "shop", "c").ok());
  EXPECT_EQ(Metric(R"(velero_restore_success_total{schedule=""})"), 1);

  // Interrupted again later (InProgress once more): the count goes up.
  ASSERT_TRUE(PatchStatus(client(), kRestores, "velero", "rr",
                          json::object{{"phase", "InProgress"}, {"completionTimestamp", nullptr}})
                  .ok());
  EXPECT_EQ(Annotation(Reconcile("rr"), kResumedAnnotation), "2");
}

}  // namespace
}  // namespace lifeboat::controller
