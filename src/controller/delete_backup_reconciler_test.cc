// DeleteBackupReconciler against kubesim and a local bucket: a request deletes the backup's
// files, the restores made from it and the Backup object; unfinished backups and read-only
// locations are refused; recorded native snapshots are deleted through the location's
// snapshotter (a fake provider here) and the backup's VolumeSnapshotContents are switched to
// deletionPolicy Delete and deleted; a failing snapshot deletion, a missing location or an
// unknown provider keeps the backup with an error naming the snapshot; files of a backup whose
// object is gone are still deleted; processed requests go after 24 hours. With kubesim's
// snapshot controller (when this kubesim has it) a real CSI snapshot's data goes too.

#include "src/controller/delete_backup_reconciler.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "src/controller/backup_reconciler.h"
#include "src/controller/testing/fake_volume_snapshotter.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FakeSnapshotCloud;
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
    ASSERT_TRUE(testing::EnsureVolumeSnapshotContentCrd(*f_->ctx.client, *f_->ctx.discovery).ok());
    ASSERT_TRUE(
        f_->Create(
              kConfigMaps,
              J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"app"},"data":{"k":"v"}})"))
            .ok());
  }
  static void TearDownTestSuite() { delete f_; }

  // A Completed backup of namespace `app`, made by the BackupReconciler. It takes no snapshots
  // (snapshotVolumes false): the tests write the snapshot records they need, and the several
  // VolumeSnapshotLocations per provider they create would make Velero's location choice fail.
  void MakeBackup(const std::string& name, const std::string& schedule = "") {
    json::value b = {{"apiVersion", "velero.io/v1"},
                     {"kind", "Backup"},
                     {"metadata", {{"name", name}, {"namespace", "velero"}}},
                     {"spec", {{"includedNamespaces", {"app"}}, {"snapshotVolumes", false}}}};
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

  void WriteBackupFile(const std::string& backup, const std::string& suffix,
                       const std::string& json) {
    std::ofstream(BackupDir(backup) / (backup + suffix)) << Gzip(json);
  }
  // A VolumeSnapshotContent as Velero's CSI backup action leaves it (deletionPolicy Retain).
  void CreateVsc(const std::string& name, const std::string& backup_label,
                 const std::string& finalizer = "") {
    json::value vsc = {
        {"apiVersion", "snapshot.storage.k8s.io/v1"},
        {"kind", "VolumeSnapshotContent"},
        {"metadata", {{"name", name}}},
        {"spec",
         {{"deletionPolicy", "Retain"},
          {"driver", "hostpath.csi.kubesim.io"},
          {"source", {{"snapshotHandle", "handle-" + name}}},
          {"volumeSnapshotRef", {{"name", "vs-" + name}, {"namespace", "app"}}}}}};
    if (!backup_label.empty()) {
      vsc.as_object()["metadata"].as_object()["labels"] = {{"velero.io/backup-name", backup_label}};
    }
    if (!finalizer.empty()) {
      vsc.as_object()["metadata"].as_object()["finalizers"] = {finalizer};
    }
    auto r = f_->cluster->client->Create(kCsiSnapshotContents, "", vsc);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  std::optional<json::value> GetVsc(const std::string& name) {
    auto got = GetIfExists(*f_->ctx.client, kCsiSnapshotContents, "", name);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : std::nullopt;
  }
  // A context whose native snapshots go to `cloud`, with metrics of its own.
  ServerContext SnapshotContext(const std::shared_ptr<FakeSnapshotCloud>& cloud,
                                metrics::ServerMetrics* m) {
    ServerContext ctx = f_->ctx;
    ctx.snapshotters = testing::FakeSnapshotterFactory(cloud);
    ctx.metrics = m;
    return ctx;
  }
  void CreateVsl(const std::string& name, const std::string& provider, const std::string& region) {
    json::value vsl = {{"apiVersion", "velero.io/v1"},
                       {"kind", "VolumeSnapshotLocation"},
                       {"metadata", {{"name", name}, {"namespace", "velero"}}},
                       {"spec", {{"provider", provider}, {"config", {{"region", region}}}}}};
    ASSERT_TRUE(f_->Create(kVolumeSnapshotLocations, vsl).ok());
  }
  // Waits (generously) until `done` holds.
  static bool Eventually(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return done();
  }
  std::vector<std::string> Errors(const std::string& request) {
    std::vector<std::string> out;
    auto dbr = Get(kDeleteBackupRequests, request);
    if (!dbr) return out;
    if (const json::value* e = JsonFind(*dbr, {"status", "errors"}); e && e->is_array()) {
      for (const auto& m : e->as_array()) out.emplace_back(m.as_string());
    }
    return out;
  }

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

TEST_F(DeleteBackupReconcilerTest, NativeAndCsiSnapshotsAreDeletedWithTheBackup) {
  auto cloud = std::make_shared<FakeSnapshotCloud>();
  metrics::ServerMetrics m;
  CreateVsl("fake-east", "fake", "east");
  cloud->Add("east", "snap-a", {{"velero.io/backup", "both"}});
  cloud->Add("east", "snap-b", {{"velero.io/backup", "both"}});
  cloud->Add("east", "snap-keep", {{"velero.io/backup", "someone-else"}});
  MakeBackup("both", "t-both");
  WriteBackupFile("both", "-volumesnapshots.json.gz", R"([
      {"spec":{"backupName":"both","location":"fake-east","persistentVolumeName":"pv-a",
               "providerVolumeID":"vol-a"},"status":{"providerSnapshotID":"snap-a","phase":"Completed"}},
      {"spec":{"backupName":"both","location":"fake-east","persistentVolumeName":"pv-b",
               "providerVolumeID":"vol-b"},"status":{"providerSnapshotID":"snap-b","phase":"Completed"}},
      {"spec":{"backupName":"both","location":"fake-east","persistentVolumeName":"pv-c",
               "providerVolumeID":"vol-c"},"status":{"phase":"Failed"}}])");
  // CSI: one content recorded in the volume info (held by a finalizer, so that what was done to
  // it before its deletion can be seen), one found by its label only, one recorded but already
  // gone (no handle: nothing to re-create), and another backup's.
  CreateVsc("vsc-recorded", "both", "test.lifeboat.io/hold");
  CreateVsc("vsc-labelled", "both");
  CreateVsc("vsc-other", "other-backup");
  WriteBackupFile("both", "-volumeinfo.json.gz", R"([
      {"pvcName":"data","pvcNamespace":"app","pvName":"pv-x","backupMethod":"CSISnapshot",
       "snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false,
       "csiSnapshotInfo":{"snapshotHandle":"handle-vsc-recorded","size":1024,
                          "driver":"hostpath.csi.kubesim.io","vscName":"vsc-recorded"}},
      {"pvcName":"gone","pvcNamespace":"app","pvName":"pv-y","backupMethod":"CSISnapshot",
       "snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false,
       "csiSnapshotInfo":{"vscName":"vsc-vanished"}},
      {"pvName":"pv-a","backupMethod":"NativeSnapshot","snapshotDataMoved":false,
       "preserveLocalSnapshot":false,"skipped":false}])");
  CreateRequest("both-req", "both");
  DeleteBackupReconciler r(SnapshotContext(cloud, &m));
  auto result = r.Reconcile("both-req", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(Errors("both-req"), ::testing::IsEmpty());
  // Native: exactly the recorded snapshots with an ID, through the location's provider.
  EXPECT_THAT(cloud->Deleted(), ElementsAre("snap-a", "snap-b"));
  EXPECT_FALSE(cloud->Has("east", "snap-a"));
  EXPECT_FALSE(cloud->Has("east", "snap-b"));
  EXPECT_TRUE(cloud->Has("east", "snap-keep"));
  // CSI: switched to Delete, then deleted.
  auto held = GetVsc("vsc-recorded");
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(JsonString(*held, {"spec", "deletionPolicy"}).value_or(""), "Delete");
  EXPECT_TRUE(JsonFind(*held, {"metadata", "deletionTimestamp"}) != nullptr);
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kCsiSnapshotContents, "", "vsc-recorded",
                         J(R"({"metadata":{"finalizers":null}})").as_object())
                  .ok());
  // (kubesim's snapshot controller, when it runs, holds contents by a finalizer of its own.)
  EXPECT_TRUE(Eventually([&] { return !GetVsc("vsc-recorded").has_value(); }));
  EXPECT_TRUE(Eventually([&] { return !GetVsc("vsc-labelled").has_value(); }));
  auto other = GetVsc("vsc-other");
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(JsonString(*other, {"spec", "deletionPolicy"}).value_or(""), "Retain");
  // The backup went too.
  EXPECT_FALSE(Get(kBackups, "both").has_value());
  EXPECT_FALSE(HasFiles(BackupDir("both")));
  const std::string text = m.registry().Exposition();
  EXPECT_THAT(text, HasSubstr("lifeboat_volume_snapshots_deleted_total{kind=\"native\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("lifeboat_volume_snapshots_deleted_total{kind=\"csi\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("velero_backup_deletion_success_total{schedule=\"t-both\"} 1\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("lifeboat_volume_snapshot_deletion_failures_total{")));
}

TEST_F(DeleteBackupReconcilerTest, AFailedSnapshotDeletionKeepsTheBackup) {
  auto cloud = std::make_shared<FakeSnapshotCloud>();
  metrics::ServerMetrics m;
  CreateVsl("fake-west", "fake", "west");
  cloud->Add("west", "snap-ok", {{"velero.io/backup", "stuck"}});
  cloud->Add("west", "snap-stuck", {{"velero.io/backup", "stuck"}});
  cloud->fail_delete.insert("snap-stuck");
  MakeBackup("stuck");
  WriteBackupFile("stuck", "-volumesnapshots.json.gz", R"([
      {"spec":{"location":"fake-west","persistentVolumeName":"pv-1"},
       "status":{"providerSnapshotID":"snap-ok","phase":"Completed"}},
      {"spec":{"location":"fake-west","persistentVolumeName":"pv-2"},
       "status":{"providerSnapshotID":"snap-stuck","phase":"Completed"}}])");
  CreateRequest("stuck-req", "stuck");
  DeleteBackupReconciler r(SnapshotContext(cloud, &m));
  auto result = r.Reconcile("stuck-req", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();  // not transient: Processed with the error
  EXPECT_THAT(Errors("stuck-req"),
              ElementsAre("error deleting snapshot snap-stuck: the cloud refuses to delete "
                          "snap-stuck"));
  EXPECT_EQ(JsonString(*Get(kDeleteBackupRequests, "stuck-req"), {"status", "phase"}).value_or(""),
            "Processed");
  EXPECT_FALSE(cloud->Has("west", "snap-ok"));
  EXPECT_TRUE(cloud->Has("west", "snap-stuck"));
  // The backup, its files and its record of the snapshots stay for the next request.
  auto b = Get(kBackups, "stuck");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(JsonString(*b, {"status", "phase"}).value_or(""), "Deleting");
  EXPECT_TRUE(fs::exists(BackupDir("stuck") / "stuck-volumesnapshots.json.gz"));
  EXPECT_TRUE(fs::exists(BackupDir("stuck") / "velero-backup.json"));
  const std::string text = m.registry().Exposition();
  EXPECT_THAT(text, HasSubstr("lifeboat_volume_snapshot_deletion_failures_total{kind=\"native\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lifeboat_volume_snapshots_deleted_total{kind=\"native\"} 1\n"));
  // Once the cloud lets go, a new request finishes the job (the first snapshot is gone: fine).
  cloud->fail_delete.clear();
  CreateRequest("stuck-req2", "stuck");
  ASSERT_TRUE(r.Reconcile("stuck-req2", CancellationToken()).ok());
  EXPECT_FALSE(cloud->Has("west", "snap-stuck"));
  EXPECT_FALSE(Get(kBackups, "stuck").has_value());
}

TEST_F(DeleteBackupReconcilerTest, MissingLocationOrUnknownProviderKeepsTheBackup) {
  auto cloud = std::make_shared<FakeSnapshotCloud>();
  metrics::ServerMetrics m;
  CreateVsl("aws-vsl", "aws", "us-east-1");
  MakeBackup("novsl");
  WriteBackupFile("novsl", "-volumesnapshots.json.gz", R"([
      {"spec":{"location":"deleted-vsl"},"status":{"providerSnapshotID":"snap-1","phase":"Completed"}},
      {"spec":{"location":"aws-vsl"},"status":{"providerSnapshotID":"snap-2","phase":"Completed"}}])");
  CreateRequest("novsl-req", "novsl");
  DeleteBackupReconciler r(SnapshotContext(cloud, &m));
  auto result = r.Reconcile("novsl-req", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(Errors("novsl-req"),
              ElementsAre("error deleting snapshot snap-1: volume snapshot location deleted-vsl "
                          "not found",
                          "error deleting snapshot snap-2: no volume snapshotter for provider aws "
                          "(volume snapshot location aws-vsl) is available in this server"));
  EXPECT_TRUE(cloud->Deleted().empty());
  EXPECT_TRUE(Get(kBackups, "novsl").has_value());
  EXPECT_TRUE(fs::exists(BackupDir("novsl") / "velero-backup.json"));
}

// The real thing on kubesim's simulated CSI driver: the snapshot data goes with the backup, both
// for a content still in the cluster and for one that was removed (re-created, then deleted).
TEST_F(DeleteBackupReconcilerTest, KubesimCsiSnapshotDataIsDeletedWithTheBackup) {
  auto& client = *f_->ctx.client;
  const kube::GroupVersionResource kClasses{"snapshot.storage.k8s.io", "v1",
                                            "volumesnapshotclasses"};
  const kube::GroupVersionResource kSnapshots{"snapshot.storage.k8s.io", "v1", "volumesnapshots"};
  const kube::GroupVersionResource kPvcs{"", "v1", "persistentvolumeclaims"};
  auto cls = GetIfExists(client, kClasses, "", "csi-hostpath-snapclass");
  if (!cls.ok() || !cls->has_value()) {
    GTEST_SKIP() << "this kubesim has no CSI snapshot controller (VolumeSnapshotClass "
                    "csi-hostpath-snapclass)";
  }
  const fs::path snapshot_dir = f_->cluster->kubesim->data_dir() / "snapshots";
  ASSERT_TRUE(client
                  .Create(kNamespaces, "",
                          J(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"vols"}})"))
                  .ok());
  ASSERT_TRUE(client
                  .Create(kPvcs, "vols", J(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
      "metadata":{"name":"data","namespace":"vols"},
      "spec":{"storageClassName":"csi-hostpath","accessModes":["ReadWriteOnce"],
              "resources":{"requests":{"storage":"1Mi"}}}})"))
                  .ok());
  std::string pv;
  ASSERT_TRUE(Eventually([&] {
    auto c = GetIfExists(client, kPvcs, "vols", "data");
    pv = c.ok() && c->has_value() ? JsonString(**c, {"spec", "volumeName"}).value_or("") : "";
    return !pv.empty();
  })) << "the claim was not bound";
  const fs::path volume_dir = f_->cluster->kubesim->data_dir() / "volumes" / pv;
  ASSERT_TRUE(Eventually([&] { return fs::is_directory(volume_dir); }));
  std::ofstream(volume_dir / "hello.txt") << "hello";

  // Two snapshots, left as Velero's CSI backup leaves them: content labelled with the backup,
  // deletionPolicy Retain, VolumeSnapshot deleted.
  struct Snap {
    std::string vs, vsc, handle;
  };
  std::vector<Snap> snaps = {{"snap-kept", "", ""}, {"snap-removed", "", ""}};
  for (auto& s : snaps) {
    json::value vs = {{"apiVersion", "snapshot.storage.k8s.io/v1"},
                      {"kind", "VolumeSnapshot"},
                      {"metadata", {{"name", s.vs}, {"namespace", "vols"}}},
                      {"spec",
                       {{"volumeSnapshotClassName", "csi-hostpath-snapclass"},
                        {"source", {{"persistentVolumeClaimName", "data"}}}}}};
    ASSERT_TRUE(client.Create(kSnapshots, "vols", vs).ok());
    ASSERT_TRUE(Eventually([&] {
      auto v = GetIfExists(client, kSnapshots, "vols", s.vs);
      if (!v.ok() || !v->has_value()) return false;
      const json::value* ready = JsonFind(**v, {"status", "readyToUse"});
      s.vsc = JsonString(**v, {"status", "boundVolumeSnapshotContentName"}).value_or("");
      return ready && ready->is_bool() && ready->as_bool() && !s.vsc.empty();
    })) << s.vs << " did not become ready";
    auto content = GetVsc(s.vsc);
    ASSERT_TRUE(content.has_value());
    s.handle = JsonString(*content, {"status", "snapshotHandle"}).value_or("");
    ASSERT_FALSE(s.handle.empty());
    ASSERT_TRUE(fs::exists(snapshot_dir / s.handle / "hello.txt"));
    ASSERT_TRUE(MergePatch(client, kCsiSnapshotContents, "", s.vsc,
                           J(R"({"metadata":{"labels":{"velero.io/backup-name":"csi1"}},
                                 "spec":{"deletionPolicy":"Retain"}})")
                               .as_object())
                    .ok());
    ASSERT_TRUE(client.Delete(kSnapshots, "vols", s.vs).ok());
    ASSERT_TRUE(Eventually([&] {
      auto v = GetIfExists(client, kSnapshots, "vols", s.vs);
      return v.ok() && !v->has_value();
    }));
  }
  // The second content is gone from the cluster (Retain: its data stays).
  ASSERT_TRUE(client.Delete(kCsiSnapshotContents, "", snaps[1].vsc).ok());
  ASSERT_TRUE(Eventually([&] { return !GetVsc(snaps[1].vsc).has_value(); }));
  ASSERT_TRUE(fs::exists(snapshot_dir / snaps[1].handle));
  ASSERT_TRUE(GetVsc(snaps[0].vsc).has_value());

  MakeBackup("csi1");
  std::string info = "[";
  for (const auto& s : snaps) {
    if (info.size() > 1) info += ",";
    info += R"({"pvcName":"data","pvcNamespace":"vols","pvName":")" + pv +
            R"(","backupMethod":"CSISnapshot","snapshotDataMoved":false,
               "preserveLocalSnapshot":false,"skipped":false,"csiSnapshotInfo":
               {"snapshotHandle":")" + s.handle + R"(","size":5,"driver":"hostpath.csi.kubesim.io",
                "vscName":")" + s.vsc + R"("}})";
  }
  // A third one whose snapshot no longer exists anywhere: the driver says so, which is fine.
  info += R"(,{"pvcName":"old","pvcNamespace":"vols","backupMethod":"CSISnapshot",
              "csiSnapshotInfo":{"snapshotHandle":"snapshot-long-gone",
                                 "driver":"hostpath.csi.kubesim.io","vscName":"vsc-long-gone"}})";
  WriteBackupFile("csi1", "-volumeinfo.json.gz", info + "]");
  CreateRequest("csi1-req", "csi1");
  metrics::ServerMetrics m;
  ServerContext ctx = f_->ctx;
  ctx.metrics = &m;
  DeleteBackupReconciler r(ctx);
  auto result = r.Reconcile("csi1-req", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(Errors("csi1-req"), ::testing::IsEmpty());
  EXPECT_FALSE(Get(kBackups, "csi1").has_value());
  for (const auto& s : snaps) {
    EXPECT_TRUE(Eventually([&] { return !GetVsc(s.vsc).has_value(); })) << s.vsc;
    EXPECT_TRUE(Eventually([&] { return !fs::exists(snapshot_dir / s.handle); })) << s.handle;
  }
  EXPECT_TRUE(Eventually([&] { return !GetVsc("vsc-long-gone").has_value(); }));
  EXPECT_THAT(m.registry().Exposition(),
              HasSubstr("lifeboat_volume_snapshots_deleted_total{kind=\"csi\"} 2\n"));
  // The volume itself is untouched.
  EXPECT_TRUE(fs::exists(volume_dir / "hello.txt"));
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
