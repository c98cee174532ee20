// DeleteBackupReconciler against kubesim and a local bucket: a request deletes the backup's
// files, the restores made from it and the Backup object; unfinished backups and read-only
// locations are refused; recorded native snapshots (no snapshotter yet) stop the deletion with
// an error naming them; files of a backup whose object is gone are still deleted; processed
// requests go after 24 hours.

#include "src/controller/delete_backup_reconciler.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "src/controller/backup_reconciler.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ServerFixture;

const kube::GroupVersionResource kNamespaces{"", "v1", "namespaces"};
const kube::GroupVersionResource kConfigMaps{"", "v1", "configmaps"};

json::value J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : json::value();
}

class DeleteBackupReconcilerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto f = ServerFixture::Start();
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = f->release();
    ASSERT_TRUE(f_->CreateLocalLocation("default", "bucket1").ok());
    ASSERT_TRUE(PatchStatus(*f_->ctx.client, kBackupStorageLocations, "velero", "default",
                            json::object{{"phase", "Available"}})
                    .ok());
    ASSERT_TRUE(
        f_->ctx.client
            ->Create(kNamespaces, "",
                     J(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"app"}})"))
            .ok());
    ASSERT_TRUE(
        f_->Create(
              kConfigMaps,
              J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"app"},"data":{"k":"v"}})"))
            .ok());
  }
  static void TearDownTestSuite() { delete f_; }

  // A Completed backup of namespace `app`, made by the BackupReconciler.
  void MakeBackup(const std::string& name, const std::string& schedule = "") {
    json::value b = {{"apiVersion", "velero.io/v1"},
                     {"kind", "Backup"},
                     {"metadata", {{"name", name}, {"namespace", "velero"}}},
                     {"spec", {{"includedNamespaces", {"app"}}}}};
    if (!schedule.empty()) {
      b.as_object()["metadata"].as_object()["labels"] = {{"velero.io/schedule-name", schedule}};
    }
    ASSERT_TRUE(f_->Create(kBackups, b).ok());
    BackupReconciler r(f_->ctx);
    ASSERT_TRUE(r.Reconcile(name, CancellationToken()).ok());
    ASSERT_EQ(JsonString(*f_->Get(kBackups, name), {"status", "phase"}).value_or(""), "Completed");
  }

  void CreateRestore(const std::string& name, const std::string& backup) {
    json::value r = {{"apiVersion", "velero.io/v1"},
                     {"kind", "Restore"},
                     {"metadata", {{"name", name}, {"namespace", "velero"}}},
                     {"spec", {{"backupName", backup}}},
                     {"status", {{"phase", "Completed"}}}};
    ASSERT_TRUE(f_->Create(kRestores, r).ok());
    fs::create_directories(RestoreDir(name));
    std::ofstream(RestoreDir(name) / ("restore-" + name + "-logs.gz")) << Gzip("log");
  }

  void CreateRequest(const std::string& name, const std::string& backup,
                     const std::string& labels = "{}") {
    json::value r = {{"apiVersion", "velero.io/v1"},
                     {"kind", "DeleteBackupRequest"},
                     {"metadata", {{"name", name}, {"namespace", "velero"}, {"labels", J(labels)}}},
                     {"spec", {{"backupName", backup}}}};
    ASSERT_TRUE(f_->Create(kDeleteBackupRequests, r).ok());
  }

  std::optional<json::value> Get(const kube::GroupVersionResource& gvr, const std::string& name) {
    auto got = GetIfExists(*f_->ctx.client, gvr, "velero", name);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : std::nullopt;
  }

  fs::path BackupDir(const std::string& name) {
    return f_->bucket_root() / "bucket1" / "backups" / name;
  }
  fs::path RestoreDir(const std::string& name) {
    return f_->bucket_root() / "bucket1" / "restores" / name;
  }
  bool HasFiles(const fs::path& dir) { return fs::exists(dir) && !fs::is_empty(dir); }
  std::string Metrics() { return f_->metrics->registry().Exposition(); }

  static ServerFixture* f_;
};

ServerFixture* DeleteBackupReconcilerTest::f_ = nullptr;

TEST_F(DeleteBackupReconcilerTest, DeletesFilesRestoresAndTheBackup) {
  MakeBackup("d1", "t-delete");
  MakeBackup("keep1");
  CreateRestore("r1", "d1");
  CreateRestore("r2", "keep1");
  ASSERT_TRUE(HasFiles(BackupDir("d1")));
  CreateRequest("d1-req", "d1");
  DeleteBackupReconciler r(f_->ctx);
  auto result = r.Reconcile("d1-req", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(Get(kBackups, "d1").has_value());
  EXPECT_FALSE(HasFiles(BackupDir("d1")));
  EXPECT_FALSE(Get(kRestores, "r1").has_value());
  EXPECT_FALSE(HasFiles(RestoreDir("r1")));
  // Untouched: the other backup and its restore.
  EXPECT_TRUE(Get(kBackups, "keep1").has_value());
  EXPECT_TRUE(HasFiles(BackupDir("keep1")));
  EXPECT_TRUE(Get(kRestores, "r2").has_value());
  EXPECT_TRUE(HasFiles(RestoreDir("r2")));
  // As Velero: once everything is gone, so are the backup's requests.
  EXPECT_FALSE(Get(kDeleteBackupRequests, "d1-req").has_value());
  const std::string m = Metrics();
  EXPECT_THAT(m, HasSubstr("velero_backup_deletion_attempt_total{schedule=\"t-delete\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("velero_backup_deletion_success_total{schedule=\"t-delete\"} 1\n"));
  // The request is gone: nothing more to do.
  result = r.Reconcile("d1-req", CancellationToken());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->requeue_after, milliseconds(0));
}

TEST_F(DeleteBackupReconcilerTest, UnfinishedBackupIsRefused) {
  ASSERT_TRUE(f_->Create(kBackups, J(R"({"apiVersion":"velero.io/v1","kind":"Backup",
      "metadata":{"name":"busy","namespace":"velero"},"spec":{"storageLocation":"default"},
      "status":{"phase":"InProgress"}})"))
                  .ok());
  CreateRequest("busy-req", "busy");
  DeleteBackupReconciler r(f_->ctx);
  auto result = r.Reconcile("busy-req", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, milliseconds(DeleteBackupReconciler::kMaxAge));
  auto dbr = Get(kDeleteBackupRequests, "busy-req");
  ASSERT_TRUE(dbr.has_value());
  EXPECT_EQ(JsonString(*dbr, {"status", "phase"}).value_or(""), "Processed");
  EXPECT_EQ(json::serialize(*JsonFind(*dbr, {"status", "errors"})),
            R"(["backup is still in progress"])");
  auto b = Get(kBackups, "busy");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(JsonString(*b, {"status", "phase"}).value_or(""), "InProgress");
}

TEST_F(DeleteBackupReconcilerTest, ReadOnlyLocationAndMissingNameAreRefused) {
  MakeBackup("rob");
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", "default",
                         J(R"({"spec":{"accessMode":"ReadOnly"}})").as_object())
                  .ok());
  CreateRequest("rob-req", "rob");
  CreateRequest("noname-req", "");
  DeleteBackupReconciler r(f_->ctx);
  ASSERT_TRUE(r.Reconcile("rob-req", CancellationToken()).ok());
  ASSERT_TRUE(r.Reconcile("noname-req", CancellationToken()).ok());
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", "default",
                         J(R"({"spec":{"accessMode":"ReadWrite"}})").as_object())
                  .ok());
  auto dbr = Get(kDeleteBackupRequests, "rob-req");
  ASSERT_TRUE(dbr.has_value());
  EXPECT_EQ(JsonString(*dbr, {"status", "phase"}).value_or(""), "Processed");
  EXPECT_EQ(
      json::serialize(*JsonFind(*dbr, {"status", "errors"})),
      R"(["cannot delete backup because backup storage location default is currently in read-only mode"])");
  EXPECT_TRUE(Get(kBackups, "rob").has_value());
  EXPECT_TRUE(HasFiles(BackupDir("rob")));
  dbr = Get(kDeleteBackupRequests, "noname-req");
  ASSERT_TRUE(dbr.has_value());
  EXPECT_EQ(json::serialize(*JsonFind(*dbr, {"status", "errors"})),
            R"(["spec.backupName is required"])");
}

TEST_F(DeleteBackupReconcilerTest, RecordedSnapshotsWithoutSnapshotterStopTheDeletion) {
  MakeBackup("snapb", "t-snap");
  ASSERT_TRUE(f_->Create(kVolumeSnapshotLocations, J(R"({"apiVersion":"velero.io/v1",
      "kind":"VolumeSnapshotLocation","metadata":{"name":"vsl1","namespace":"velero"},
      "spec":{"provider":"aws"}})"))
                  .ok());
  // The backup recorded a native snapshot (and a failed attempt, with no ID).
  std::ofstream(BackupDir("snapb") / "snapb-volumesnapshots.json.gz") << Gzip(R"([
      {"spec":{"backupName":"snapb","location":"vsl1","persistentVolumeName":"pv1",
               "providerVolumeID":"vol-1"},"status":{"providerSnapshotID":"snap-123","phase":"Completed"}},
      {"spec":{"backupName":"snapb","location":"vsl1","persistentVolumeName":"pv2",
               "providerVolumeID":"vol-2"},"status":{"phase":"Failed"}}])");
  CreateRequest("snapb-req", "snapb");
  DeleteBackupReconciler r(f_->ctx);
  auto result = r.Reconcile("snapb-req", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  auto dbr = Get(kDeleteBackupRequests, "snapb-req");
  ASSERT_TRUE(dbr.has_value());
  EXPECT_EQ(JsonString(*dbr, {"status", "phase"}).value_or(""), "Processed");
  const json::value* errors = JsonFind(*dbr, {"status", "errors"});
  ASSERT_NE(errors, nullptr);
  ASSERT_EQ(errors->as_array().size(), 1u) << json::serialize(*errors);
  EXPECT_THAT(std::string(errors->as_array()[0].as_string()), HasSubstr("snap-123"));
  EXPECT_THAT(std::string(errors->as_array()[0].as_string()), HasSubstr("provider aws"));
  EXPECT_EQ(JsonString(*dbr, {"metadata", "labels", "velero.io/backup-name"}).value_or(""),
            "snapb");
  // Nothing deleted, so no snapshot is orphaned.
  auto b = Get(kBackups, "snapb");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(JsonString(*b, {"status", "phase"}).value_or(""), "Deleting");
  EXPECT_TRUE(fs::exists(BackupDir("snapb") / "velero-backup.json"));
  EXPECT_THAT(Metrics(),
              HasSubstr("velero_backup_deletion_failure_total{schedule=\"t-snap\"} 1\n"));
}

TEST_F(DeleteBackupReconcilerTest, FilesOfAVanishedBackupAreStillDeleted) {
  MakeBackup("ghostly");
  ASSERT_TRUE(f_->ctx.client->Delete(kBackups, "velero", "ghostly").ok());
  ASSERT_TRUE(fs::exists(BackupDir("ghostly") / "velero-backup.json"));
  CreateRequest("ghostly-req", "ghostly", R"({"velero.io/storage-location":"default"})");
  CreateRequest("nobody-req", "nobody");
  DeleteBackupReconciler r(f_->ctx);
  auto result = r.Reconcile("ghostly-req", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(HasFiles(BackupDir("ghostly")));
  ASSERT_TRUE(r.Reconcile("nobody-req", CancellationToken()).ok());
  auto dbr = Get(kDeleteBackupRequests, "nobody-req");
  ASSERT_TRUE(dbr.has_value());
  EXPECT_EQ(json::serialize(*JsonFind(*dbr, {"status", "errors"})), R"(["backup not found"])");
}

TEST_F(DeleteBackupReconcilerTest, ProcessedRequestsGoAfterADay) {
  CreateRequest("old-req", "whatever");
  ASSERT_TRUE(PatchStatus(*f_->ctx.client, kDeleteBackupRequests, "velero", "old-req",
                          json::object{{"phase", "Processed"}})
                  .ok());
  DeleteBackupReconciler now(f_->ctx);
  auto result = now.Reconcile("old-req", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->requeue_after, milliseconds(hours(23)));
  EXPECT_LE(result->requeue_after, milliseconds(hours(24)));
  EXPECT_TRUE(Get(kDeleteBackupRequests, "old-req").has_value());
  FakeClock later(RealClock().Now() + hours(25));
  ServerContext ctx = f_->ctx;
  ctx.clock = &later;
  DeleteBackupReconciler tomorrow(ctx);
  ASSERT_TRUE(tomorrow.Reconcile("old-req", CancellationToken()).ok());
  EXPECT_FALSE(Get(kDeleteBackupRequests, "old-req").has_value());
}

}  // namespace
}  // namespace lifeboat::controller
