// BackupReconciler against kubesim and local-directory buckets: a backup runs to Completed and
// its files land in the bucket; validation failures list every problem; overlapping backups
// wait; the cancel annotation fails a running backup without leaving a visible backup; a server
// shutdown leaves it InProgress; an interrupted backup is run again (resumed) or, when the
// bucket already has it, adopted.

#include "src/controller/backup_reconciler.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/api/time.h"
#include "lifeboat/archive/reader.h"
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
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ServerFixture;

const kube::GroupVersionResource kNamespaces{"", "v1", "namespaces"};
const kube::GroupVersionResource kConfigMaps{"", "v1", "configmaps"};
const kube::GroupVersionResource kPods{"", "v1", "pods"};

json::value J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : json::value();
}

api::BackupSpec Spec(const std::string& spec_json) {
  auto s = api::BackupSpecFromJson(J(spec_json));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : api::BackupSpec();
}

TEST(MayOverlapTest, NamespaceSelections) {
  EXPECT_TRUE(MayOverlap(Spec(R"({"includedNamespaces":["a"]})"),
                         Spec(R"({"includedNamespaces":["b","a"]})")));
  EXPECT_FALSE(
      MayOverlap(Spec(R"({"includedNamespaces":["a"]})"), Spec(R"({"includedNamespaces":["b"]})")));
  // Everything (and, unless told otherwise, cluster-scoped resources) overlaps with anything.
  EXPECT_TRUE(MayOverlap(Spec("{}"), Spec(R"({"includedNamespaces":["b"]})")));
  EXPECT_TRUE(MayOverlap(Spec(R"({"includedNamespaces":["*"]})"), Spec("{}")));
  // ... unless the named namespace is excluded by the other one.
  EXPECT_FALSE(MayOverlap(
      Spec(
          R"({"includedNamespaces":["*"],"excludedNamespaces":["b"],"includeClusterResources":false})"),
      Spec(R"({"includedNamespaces":["b"]})")));
  // Patterns.
  EXPECT_TRUE(MayOverlap(Spec(R"({"includedNamespaces":["app-*"]})"),
                         Spec(R"({"includedNamespaces":["app-1"]})")));
  EXPECT_FALSE(MayOverlap(Spec(R"({"includedNamespaces":["app-*"]})"),
                          Spec(R"({"includedNamespaces":["db"]})")));
  EXPECT_TRUE(MayOverlap(Spec(R"({"includedNamespaces":["app-*"]})"),
                         Spec(R"({"includedNamespaces":["db-*"]})")));
  // Both take cluster-scoped resources.
  EXPECT_TRUE(MayOverlap(Spec(R"({"includedNamespaces":["a"],"includeClusterResources":true})"),
                         Spec(R"({"includedNamespaces":["b"],"includeClusterResources":true})")));
  EXPECT_TRUE(MayOverlap(
      Spec(R"({"includedNamespaces":["a"],"includedClusterScopedResources":["storageclasses"]})"),
      Spec(R"({"includedNamespaces":["b"],"includeClusterResources":true})")));
  EXPECT_FALSE(MayOverlap(Spec(R"({"includedNamespaces":["a"],"includeClusterResources":true})"),
                          Spec(R"({"includedNamespaces":["b"]})")));
}

class BackupReconcilerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto f = ServerFixture::Start();
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = f->release();
    ASSERT_TRUE(f_->CreateLocalLocation("default", "bucket1").ok());
    ASSERT_TRUE(f_->CreateLocalLocation("ro", "bucket2", false).ok());
    ASSERT_TRUE(f_->CreateLocalLocation("down", "bucket3", false).ok());
    SetPhase("default", "Available");
    SetPhase("ro", "Available");
    SetPhase("down", "Unavailable");
    ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", "ro",
                           J(R"({"spec":{"accessMode":"ReadOnly"}})").as_object())
                    .ok());
    for (const char* ns : {"app", "slow"}) {
      ASSERT_TRUE(
          f_->ctx.client
              ->Create(
                  kNamespaces, "",
                  J(std::string(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")") +
                    ns + "\"}}"))
              .ok());
    }
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(f_->Create(kConfigMaps,
                             J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm)" +
                               std::to_string(i) + R"(","namespace":"app"},"data":{"k":"v"}})"))
                      .ok());
    }
    // A pod whose pre-backup hook sleeps: a backup of `slow` runs until it is stopped.
    ASSERT_TRUE(f_->Create(kPods, J(R"({"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"sleeper","namespace":"slow","annotations":{
          "pre.hook.backup.velero.io/container":"app",
          "pre.hook.backup.velero.io/command":"[\"sleep\",\"60\"]",
          "pre.hook.backup.velero.io/timeout":"120s"}},
        "spec":{"containers":[{"name":"app","image":"busybox"}]}})"))
                    .ok());
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (JsonString(*f_->Get(kPods, "sleeper", "slow"), {"status", "phase"}).value_or("") !=
           "Running") {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the sleeper pod never ran";
      std::this_thread::sleep_for(milliseconds(100));
    }
  }
  static void TearDownTestSuite() { delete f_; }

  static void SetPhase(const std::string& bsl, const std::string& phase) {
    auto r = PatchStatus(*f_->ctx.client, kBackupStorageLocations, "velero", bsl,
                         json::object{{"phase", phase}});
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // A Backup `name` with `spec` (JSON) and the schedule label `schedule` (metrics are per test).
  void CreateBackup(const std::string& name, const std::string& spec, const std::string& schedule) {
    json::value b = {{"apiVersion", "velero.io/v1"},
                     {"kind", "Backup"},
                     {"metadata",
                      {{"name", name},
                       {"namespace", "velero"},
                       {"labels", {{"velero.io/schedule-name", schedule}}}}},
                     {"spec", J(spec)}};
    auto r = f_->Create(kBackups, b);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  json::value Get(const std::string& name) {
    auto got = f_->Get(kBackups, name);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : json::value();
  }
  std::string Phase(const std::string& name) {
    return JsonString(Get(name), {"status", "phase"}).value_or("");
  }
  fs::path BackupDir(const std::string& name, const std::string& bucket = "bucket1") {
    return f_->bucket_root() / bucket / "backups" / name;
  }
  std::string Metrics() { return f_->metrics->registry().Exposition(); }
  // The backup's checkpoint journal directory on this machine.
  fs::path JournalOf(const std::string& name) {
    return BackupJournalDir(f_->ctx.options) / std::string(kube::ObjectUid(Get(name)));
  }

  Result MustReconcile(BackupReconciler& r, const std::string& name,
                       const CancellationToken& cancel = {}) {
    auto result = r.Reconcile(name, cancel);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : Result{};
  }

  // Waits until `name` is InProgress and `r` runs it.
  void WaitRunning(BackupReconciler& r, const std::string& name) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(60);
    for (;;) {
      auto running = r.Running();
      if (Phase(name) == "InProgress" &&
          std::find(running.begin(), running.end(), name) != running.end()) {
        // Let the backup reach the sleeping hook.
        std::this_thread::sleep_for(milliseconds(500));
        return;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << name << " never started";
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  static ServerFixture* f_;
};

ServerFixture* BackupReconcilerTest::f_ = nullptr;

TEST_F(BackupReconcilerTest, CompletesUploadsAndCounts) {
  CreateBackup("b1", R"({"includedNamespaces":["app"]})", "t-complete");
  BackupReconciler r(f_->ctx);
  EXPECT_EQ(MustReconcile(r, "b1").requeue_after, milliseconds(0));
  json::value b = Get("b1");
  EXPECT_EQ(JsonString(b, {"status", "phase"}).value_or(""), "Completed");
  EXPECT_EQ(JsonString(b, {"spec", "storageLocation"}).value_or(""), "default");
  EXPECT_EQ(JsonString(b, {"spec", "ttl"}).value_or(""), "720h0m0s");
  EXPECT_EQ(JsonString(b, {"metadata", "labels", "velero.io/storage-location"}).value_or(""),
            "default");
  auto start = api::ParseRfc3339(JsonString(b, {"status", "startTimestamp"}).value_or(""));
  auto expiration = api::ParseRfc3339(JsonString(b, {"status", "expiration"}).value_or(""));
  ASSERT_TRUE(start.ok() && expiration.ok());
  EXPECT_EQ(*expiration - *start, std::chrono::hours(720));
  EXPECT_TRUE(JsonString(b, {"status", "completionTimestamp"}).has_value());
  // 3 ConfigMaps, kube-root-ca.crt, the default ServiceAccount and the namespace.
  EXPECT_GE(JsonInt(b, {"status", "progress", "totalItems"}).value_or(0), 5);
  EXPECT_TRUE(fs::exists(BackupDir("b1") / "velero-backup.json"));
  EXPECT_TRUE(fs::exists(BackupDir("b1") / "b1.tar.gz"));
  const std::string m = Metrics();
  EXPECT_THAT(m, HasSubstr("velero_backup_attempt_total{schedule=\"t-complete\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("velero_backup_success_total{schedule=\"t-complete\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("velero_backup_last_status{schedule=\"t-complete\"} 1\n"));
  EXPECT_TRUE(r.Running().empty());
  // Done: another look changes nothing.
  EXPECT_EQ(MustReconcile(r, "b1").requeue_after, milliseconds(0));
  EXPECT_THAT(Metrics(), HasSubstr("velero_backup_attempt_total{schedule=\"t-complete\"} 1\n"));
}

// The entry `path` of backup `name`'s tarball ("" when it has none).
std::string ArchiveEntry(const fs::path& tarball, const std::string& path) {
  auto source = FileSource(tarball);
  EXPECT_TRUE(source.ok()) << source.status();
  if (!source.ok()) return "";
  auto reader = archive::ArchiveReader::Open(source->get());
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return "";
  while (true) {
    auto entry = (*reader)->Next();
    EXPECT_TRUE(entry.ok()) << entry.status();
    if (!entry.ok() || !entry->has_value()) return "";
    if ((*entry)->path == path) return (*entry)->data;
  }
}

TEST_F(BackupReconcilerTest, ItemJsonAsServedOrInGoFormAsTheServerIsTold) {
  CreateBackup("served", R"({"includedNamespaces":["app"]})", "t-served");
  CreateBackup("goform", R"({"includedNamespaces":["app"]})", "t-goform");
  BackupReconciler served(f_->ctx);  // --backup-item-json as-served, the default
  ServerContext ctx = f_->ctx;
  ctx.options.backup_items_as_served = false;  // --backup-item-json go
  BackupReconciler go(ctx);
  MustReconcile(served, "served");
  MustReconcile(go, "goform");
  ASSERT_EQ(Phase("served"), "Completed");
  ASSERT_EQ(Phase("goform"), "Completed");
  const std::string path = "resources/configmaps/namespaces/app/cm0.json";
  const std::string as_served = ArchiveEntry(BackupDir("served") / "served.tar.gz", path);
  const std::string go_form = ArchiveEntry(BackupDir("goform") / "goform.tar.gz", path);
  ASSERT_FALSE(as_served.empty());
  ASSERT_FALSE(go_form.empty());
  // The same object; in Go form every object's keys are sorted ("data" before "kind"), as
  // served they are in the API server's order (apiVersion and kind first, then metadata).
  EXPECT_EQ(J(as_served), J(go_form));
  EXPECT_EQ(go_form, json::serialize(J(go_form)));
  EXPECT_THAT(go_form,
              ::testing::StartsWith(
                  R"({"apiVersion":"v1","data":{"k":"v"},"kind":"ConfigMap","metadata":{)"));
  EXPECT_THAT(as_served,
              ::testing::StartsWith(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{)"));
  // The preferred-version copy is the same bytes.
  EXPECT_EQ(ArchiveEntry(BackupDir("goform") / "goform.tar.gz",
                         "resources/configmaps/v1-preferredversion/namespaces/app/cm0.json"),
            go_form);
}

TEST_F(BackupReconcilerTest, MissingLocationFailsValidation) {
  CreateBackup("nolocation", R"({"storageLocation":"nowhere"})", "t-missing");
  BackupReconciler r(f_->ctx);
  MustReconcile(r, "nolocation");
  json::value b = Get("nolocation");
  EXPECT_EQ(JsonString(b, {"status", "phase"}).value_or(""), "FailedValidation");
  const json::value* errors = JsonFind(b, {"status", "validationErrors"});
  ASSERT_NE(errors, nullptr);
  ASSERT_EQ(errors->as_array().size(), 1u);
  EXPECT_THAT(std::string(errors->as_array()[0].as_string()),
              HasSubstr("the default 'nowhere' wasn't found. Please address this issue"));
  EXPECT_THAT(Metrics(),
              HasSubstr("velero_backup_validation_failure_total{schedule=\"t-missing\"} 1\n"));
  EXPECT_THAT(Metrics(), Not(HasSubstr("velero_backup_attempt_total{schedule=\"t-missing\"} 1")));
}

TEST_F(BackupReconcilerTest, UnavailableAndReadOnlyLocationsFailValidation) {
  CreateBackup("down1", R"({"storageLocation":"down"})", "t-down");
  CreateBackup("ro1", R"({"storageLocation":"ro"})", "t-ro");
  BackupReconciler r(f_->ctx);
  MustReconcile(r, "down1");
  MustReconcile(r, "ro1");
  json::value down = Get("down1");
  EXPECT_EQ(JsonString(down, {"status", "phase"}).value_or(""), "FailedValidation");
  EXPECT_EQ(
      json::serialize(*JsonFind(down, {"status", "validationErrors"})),
      R"(["backup can't be created because BackupStorageLocation down is in Unavailable status."])");
  json::value ro = Get("ro1");
  EXPECT_EQ(JsonString(ro, {"status", "phase"}).value_or(""), "FailedValidation");
  EXPECT_EQ(
      json::serialize(*JsonFind(ro, {"status", "validationErrors"})),
      R"(["backup can't be created because backup storage location ro is currently in read-only mode"])");
  EXPECT_FALSE(fs::exists(BackupDir("ro1", "bucket2")));
}

TEST_F(BackupReconcilerTest, LocationNotValidatedYetIsWaitedFor) {
  ASSERT_TRUE(f_->CreateLocalLocation("unvalidated", "bucket4", false).ok());
  CreateBackup("early", R"({"storageLocation":"unvalidated","includedNamespaces":["app"]})",
               "t-early");
  BackupReconciler r(f_->ctx);
  EXPECT_EQ(MustReconcile(r, "early").requeue_after, BackupReconciler::kOverlapRetry);
  EXPECT_EQ(Phase("early"), "");
  SetPhase("unvalidated", "Available");
  MustReconcile(r, "early");
  EXPECT_EQ(Phase("early"), "Completed");
  EXPECT_TRUE(fs::exists(BackupDir("early", "bucket4") / "velero-backup.json"));
}

TEST_F(BackupReconcilerTest, BadSpecListsEveryProblem) {
  CreateBackup("badspec",
               R"({"includedNamespaces":["*","app"],
                   "labelSelector":{"matchLabels":{"a":"b"}},
                   "orLabelSelectors":[{"matchLabels":{"c":"d"}}]})",
               "t-bad");
  BackupReconciler r(f_->ctx);
  MustReconcile(r, "badspec");
  json::value b = Get("badspec");
  EXPECT_EQ(JsonString(b, {"status", "phase"}).value_or(""), "FailedValidation");
  const json::value* errors = JsonFind(b, {"status", "validationErrors"});
  ASSERT_NE(errors, nullptr);
  ASSERT_EQ(errors->as_array().size(), 2u) << json::serialize(*errors);
  EXPECT_THAT(std::string(errors->as_array()[0].as_string()),
              HasSubstr("Invalid included/excluded namespace lists"));
  EXPECT_EQ(errors->as_array()[1].as_string(),
            "encountered labelSelector as well as orLabelSelectors in backup spec, only one can be "
            "specified");
  EXPECT_FALSE(fs::exists(BackupDir("badspec")));
}

TEST_F(BackupReconcilerTest, CancelAnnotationFailsTheBackupAndOverlapWaits) {
  CreateBackup("slow1", R"({"includedNamespaces":["slow"]})", "t-cancel");
  CreateBackup("slow2", R"({"includedNamespaces":["slow"]})", "t-cancel2");
  ServerContext ctx = f_->ctx;
  ctx.options.concurrent_backups = 2;
  BackupReconciler r(ctx);
  auto run =
      std::async(std::launch::async, [&] { return r.Reconcile("slow1", CancellationToken()); });
  WaitRunning(r, "slow1");
  // The same namespace: slow2 waits, still New.
  EXPECT_EQ(MustReconcile(r, "slow2").requeue_after, BackupReconciler::kOverlapRetry);
  EXPECT_EQ(Phase("slow2"), "");
  // Cancel slow1.
  ASSERT_TRUE(
      MergePatch(*f_->ctx.client, kBackups, "velero", "slow1",
                 J(R"({"metadata":{"annotations":{"lifeboat.io/cancel":"true"}}})").as_object())
          .ok());
  ASSERT_EQ(run.wait_for(seconds(60)), std::future_status::ready);
  auto result = run.get();
  ASSERT_TRUE(result.ok()) << result.status();
  json::value b = Get("slow1");
  EXPECT_EQ(JsonString(b, {"status", "phase"}).value_or(""), "Failed");
  EXPECT_THAT(JsonString(b, {"status", "failureReason"}).value_or(""), HasSubstr("cancelled"));
  EXPECT_FALSE(fs::exists(BackupDir("slow1") / "velero-backup.json"));
  EXPECT_FALSE(fs::exists(JournalOf("slow1"))) << "a cancelled backup keeps no journal";
  EXPECT_THAT(Metrics(), HasSubstr("velero_backup_failure_total{schedule=\"t-cancel\"} 1\n"));
  EXPECT_TRUE(r.Running().empty());
  // slow2 may start now (cancelled at once, to keep the test short).
  auto run2 =
      std::async(std::launch::async, [&] { return r.Reconcile("slow2", CancellationToken()); });
  WaitRunning(r, "slow2");
  ASSERT_TRUE(
      MergePatch(*f_->ctx.client, kBackups, "velero", "slow2",
                 J(R"({"metadata":{"annotations":{"lifeboat.io/cancel":"true"}}})").as_object())
          .ok());
  ASSERT_EQ(run2.wait_for(seconds(60)), std::future_status::ready);
  EXPECT_EQ(Phase("slow2"), "Failed");
}

TEST_F(BackupReconcilerTest, DeletingTheObjectStopsTheRun) {
  CreateBackup("slow4", R"({"includedNamespaces":["slow"]})", "t-deleted");
  BackupReconciler r(f_->ctx);
  auto run =
      std::async(std::launch::async, [&] { return r.Reconcile("slow4", CancellationToken()); });
  WaitRunning(r, "slow4");
  ASSERT_TRUE(f_->ctx.client->Delete(kBackups, "velero", "slow4").ok());
  ASSERT_EQ(run.wait_for(seconds(60)), std::future_status::ready);
  auto result = run.get();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(f_->Get(kBackups, "slow4").ok());  // not re-created by a late patch
  EXPECT_FALSE(fs::exists(BackupDir("slow4") / "velero-backup.json"));
  EXPECT_TRUE(r.Running().empty());
}

TEST_F(BackupReconcilerTest, ShutdownLeavesTheBackupInProgress) {
  CreateBackup("slow3", R"({"includedNamespaces":["slow"]})", "t-shutdown");
  BackupReconciler r(f_->ctx);
  CancellationSource shutdown;
  auto run = std::async(std::launch::async, [&] { return r.Reconcile("slow3", shutdown.token()); });
  WaitRunning(r, "slow3");
  shutdown.Cancel("server shutting down");
  ASSERT_EQ(run.wait_for(seconds(60)), std::future_status::ready);
  auto result = run.get();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Phase("slow3"), "InProgress");
  EXPECT_FALSE(JsonFind(Get("slow3"), {"status", "completionTimestamp"}));
  EXPECT_FALSE(fs::exists(BackupDir("slow3") / "velero-backup.json"));
  EXPECT_TRUE(fs::exists(JournalOf("slow3") / "archive.tar.gz")) << "shutdown keeps the journal";
  EXPECT_TRUE(r.Running().empty());
  EXPECT_THAT(Metrics(), Not(HasSubstr("velero_backup_failure_total{schedule=\"t-shutdown\"} 1")));
  // Clean up: the next leader would resume it; stop it for good instead.
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackups, "velero", "slow3",
                         J(R"({"status":{"phase":"Failed"}})").as_object())
                  .ok());
  backup::DiscardBackupJournal(BackupJournalDir(f_->ctx.options), std::string(kube::ObjectUid(Get("slow3"))));
}

TEST_F(BackupReconcilerTest, InterruptedBackupIsRunAgain) {
  CreateBackup("resume1", R"({"includedNamespaces":["app"],"storageLocation":"default"})",
               "t-resume");
  ASSERT_TRUE(PatchStatus(*f_->ctx.client, kBackups, "velero", "resume1",
                          J(R"({"phase":"InProgress","startTimestamp":"2026-01-01T00:00:00Z"})"))
                  .ok());
  // What a dead attempt may leave: a log and part of a tarball, but no velero-backup.json.
  fs::create_directories(BackupDir("resume1"));
  std::ofstream(BackupDir("resume1") / "resume1.tar.gz") << "partial";
  std::ofstream(BackupDir("resume1") / "resume1-logs.gz") << "partial";
  BackupReconciler r(f_->ctx);
  MustReconcile(r, "resume1");
  json::value b = Get("resume1");
  EXPECT_EQ(JsonString(b, {"status", "phase"}).value_or(""), "Completed")
      << JsonString(b, {"status", "failureReason"}).value_or("");
  EXPECT_EQ(Annotation(b, kResumedAnnotation), "1");
  EXPECT_NE(JsonString(b, {"status", "startTimestamp"}).value_or(""), "2026-01-01T00:00:00Z");
  EXPECT_TRUE(fs::exists(BackupDir("resume1") / "velero-backup.json"));
  EXPECT_GT(fs::file_size(BackupDir("resume1") / "resume1.tar.gz"), 7u);
  EXPECT_THAT(Metrics(), HasSubstr("velero_backup_success_total{schedule=\"t-resume\"} 1\n"));
}

TEST_F(BackupReconcilerTest, InterruptedBackupAlreadyInTheBucketIsAdopted) {
  CreateBackup("adopt1", R"({"includedNamespaces":["app"]})", "t-adopt");
  {
    BackupReconciler first(f_->ctx);
    MustReconcile(first, "adopt1");
  }
  ASSERT_EQ(Phase("adopt1"), "Completed");
  const std::string completed =
      JsonString(Get("adopt1"), {"status", "completionTimestamp"}).value_or("");
  const auto metadata_time = fs::last_write_time(BackupDir("adopt1") / "velero-backup.json");
  // As if the server died after the upload but before its final patch.
  ASSERT_TRUE(PatchStatus(*f_->ctx.client, kBackups, "velero", "adopt1",
                          J(R"({"phase":"InProgress","completionTimestamp":null,"progress":null})"))
                  .ok());
  BackupReconciler second(f_->ctx);
  MustReconcile(second, "adopt1");
  json::value b = Get("adopt1");
  EXPECT_EQ(JsonString(b, {"status", "phase"}).value_or(""), "Completed");
  EXPECT_EQ(JsonString(b, {"status", "completionTimestamp"}).value_or(""), completed);
  EXPECT_TRUE(JsonFind(b, {"status", "progress"}) != nullptr);
  EXPECT_EQ(Annotation(b, kResumedAnnotation), "");
  EXPECT_EQ(fs::last_write_time(BackupDir("adopt1") / "velero-backup.json"), metadata_time);
}

TEST_F(BackupReconcilerTest, InterruptedBackupResumesFromItsLocalCheckpoint) {
  CreateBackup("journal1", R"({"includedNamespaces":["app"],"storageLocation":"default"})",
               "t-journal");
  ASSERT_TRUE(PatchStatus(*f_->ctx.client, kBackups, "velero", "journal1",
                          J(R"({"phase":"InProgress","startTimestamp":"2026-01-01T00:00:00Z"})"))
                  .ok());
  // The dead server's run: stopped right after its first checkpoint, journal kept.
  auto stored = api::BackupFromJson(Get("journal1"));
  ASSERT_TRUE(stored.ok()) << stored.status();
  auto loc = f_->ctx.stores->Get("default", {});
  ASSERT_TRUE(loc.ok()) << loc.status();
  backup::BackupperDeps deps;
  deps.client = f_->ctx.client;
  deps.discovery = f_->ctx.discovery;
  deps.store = loc->store.get();
  deps.actions = backup::BuiltinBackupItemActions(f_->ctx.client);
  backup::BackupperOptions options;
  options.temp_dir = f_->ctx.options.temp_dir;
  options.journal_dir = BackupJournalDir(f_->ctx.options);
  options.checkpoint_interval = milliseconds(0);
  options.keep_journal_on_cancel = true;
  CancellationSource killed;
  int64_t items_at_kill = 0;
  options.on_checkpoint = [&](int64_t items) {
    if (!killed.token().IsCancelled()) items_at_kill = items;
    killed.Cancel("killed");
  };
  api::Backup dead = backup::Backupper(deps, options).Run(*stored, nullptr, killed.token());
  ASSERT_EQ(dead.status.phase, api::BackupPhase::kFailed);
  ASSERT_GT(items_at_kill, 0);
  ASSERT_TRUE(fs::exists(JournalOf("journal1") / "checkpoint.json"));

  BackupReconciler r(f_->ctx);
  MustReconcile(r, "journal1");
  json::value b = Get("journal1");
  EXPECT_EQ(JsonString(b, {"status", "phase"}).value_or(""), "Completed")
      << JsonString(b, {"status", "failureReason"}).value_or("");
  EXPECT_EQ(Annotation(b, kResumedAnnotation), "1");
  std::string log_gz;
  auto sink = StringSink(&log_gz);
  ASSERT_TRUE(loc->store->GetBackupFile("journal1", storage::BackupFile::kLog, *sink).ok());
  auto log = Gunzip(log_gz);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_THAT(*log, HasSubstr("Resuming the backup from checkpoint 1 after " +
                              std::to_string(items_at_kill) + " items"));
  EXPECT_FALSE(fs::exists(JournalOf("journal1"))) << "journal left after completion";
}

TEST_F(BackupReconcilerTest, DeletedObjectGoneIsNothingToDo) {
  BackupReconciler r(f_->ctx);
  EXPECT_EQ(MustReconcile(r, "never-created").requeue_after, milliseconds(0));
}

}  // namespace
}  // namespace lifeboat::controller
