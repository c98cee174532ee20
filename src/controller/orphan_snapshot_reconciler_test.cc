// OrphanSnapshotReconciler against kubesim and a local bucket, with a fake native provider that
// can list its snapshots: contents and snapshots whose backup exists (as an object in any phase,
// in a bucket, or recorded by another backup's files) are not orphans; the others are, and are
// counted in lifeboat_orphaned_volume_snapshots per kind and location; nothing is deleted; a
// location that cannot be listed keeps its count; an unreadable bucket reports nothing.

#include "src/controller/orphan_snapshot_reconciler.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "src/controller/delete_backup_reconciler.h"
#include "src/controller/testing/fake_volume_snapshotter.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using testing::FakeSnapshotCloud;
using testing::ServerFixture;

constexpr char kDriver[] = "hostpath.csi.kubesim.io";

class OrphanSnapshotReconcilerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto f = ServerFixture::Start();
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = f->release();
    ASSERT_TRUE(f_->CreateLocalLocation("default", "bucket1").ok());
    ASSERT_TRUE(PatchStatus(*f_->ctx.client, kBackupStorageLocations, "velero", "default",
                            json::object{{"phase", "Available"}})
                    .ok());
    ASSERT_TRUE(testing::EnsureVolumeSnapshotContentCrd(*f_->ctx.client, *f_->ctx.discovery).ok());
  }
  static void TearDownTestSuite() { delete f_; }

  void SetUp() override {
    cloud_ = std::make_shared<FakeSnapshotCloud>();
    metrics_ = std::make_unique<metrics::ServerMetrics>();
    ctx_ = f_->ctx;
    ctx_.snapshotters = testing::FakeSnapshotterFactory(cloud_);
    ctx_.metrics = metrics_.get();
  }

  void CreateBackupObject(const std::string& name, const std::string& phase) {
    json::value b = {{"apiVersion", "velero.io/v1"},
                     {"kind", "Backup"},
                     {"metadata", {{"name", name}, {"namespace", "velero"}}},
                     {"spec", {{"storageLocation", "default"}}},
                     {"status", {{"phase", phase}}}};
    ASSERT_TRUE(f_->Create(kBackups, b).ok());
  }
  fs::path BackupDir(const std::string& name) {
    return f_->bucket_root() / "bucket1" / "backups" / name;
  }
  // A backup that exists only in the bucket (not synced into the cluster).
  void CreateBucketBackup(const std::string& name) {
    fs::create_directories(BackupDir(name));
    std::ofstream(BackupDir(name) / "velero-backup.json")
        << R"({"apiVersion":"velero.io/v1","kind":"Backup","metadata":{"name":")" << name
        << R"("},"status":{"phase":"Completed"}})";
  }
  void WriteBackupFile(const std::string& backup, const std::string& suffix,
                       const std::string& text) {
    std::ofstream(BackupDir(backup) / (backup + suffix)) << Gzip(text);
  }
  void CreateVsc(const std::string& name, const std::string& backup_label) {
    json::value vsc = {{"apiVersion", "snapshot.storage.k8s.io/v1"},
                       {"kind", "VolumeSnapshotContent"},
                       {"metadata", {{"name", name}}},
                       {"spec",
                        {{"deletionPolicy", "Retain"},
                         {"driver", kDriver},
                         {"source", {{"snapshotHandle", "handle-" + name}}},
                         {"volumeSnapshotRef", {{"name", "vs-" + name}, {"namespace", "app"}}}}}};
    if (!backup_label.empty()) {
      vsc.as_object()["metadata"].as_object()["labels"] = {{"velero.io/backup-name", backup_label}};
    }
    auto r = f_->cluster->client->Create(kCsiSnapshotContents, "", vsc);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  void DeleteVsc(const std::string& name) {
    ASSERT_TRUE(f_->cluster->client->Delete(kCsiSnapshotContents, "", name).ok());
  }
  void CreateVsl(const std::string& name, const std::string& provider, const std::string& region) {
    json::value vsl = {{"apiVersion", "velero.io/v1"},
                       {"kind", "VolumeSnapshotLocation"},
                       {"metadata", {{"name", name}, {"namespace", "velero"}}},
                       {"spec", {{"provider", provider}, {"config", {{"region", region}}}}}};
    ASSERT_TRUE(f_->Create(kVolumeSnapshotLocations, vsl).ok());
  }
  static std::vector<std::string> Ids(const std::vector<OrphanedSnapshot>& orphans,
                                      const std::string& kind) {
    std::vector<std::string> out;
    for (const auto& o : orphans) {
      if (o.kind == kind) out.push_back(o.id + "@" + o.location + "<-" + o.backup);
    }
    return out;
  }
  std::string Metrics() { return metrics_->registry().Exposition(); }

  static ServerFixture* f_;
  std::shared_ptr<FakeSnapshotCloud> cloud_;
  std::unique_ptr<metrics::ServerMetrics> metrics_;
  ServerContext ctx_;
};

ServerFixture* OrphanSnapshotReconcilerTest::f_ = nullptr;

TEST_F(OrphanSnapshotReconcilerTest, FindsOnlySnapshotsWhoseBackupIsGone) {
  CreateVsl("fake-north", "fake", "north");
  CreateVsl("aws-vsl", "aws", "us-east-1");  // no such provider here: not checked
  CreateBackupObject("alive", "Completed");
  CreateBackupObject("running", "InProgress");  // its object exists before its files
  CreateBackupObject("deleting", "Deleting");
  CreateBucketBackup("bucket-only");
  WriteBackupFile("bucket-only", "-volumeinfo.json.gz",
                  R"([{"pvName":"p","backupMethod":"CSISnapshot","csiSnapshotInfo":
                     {"vscName":"vsc-recorded","snapshotHandle":"h","driver":"x"}}])");
  WriteBackupFile("bucket-only", "-volumesnapshots.json.gz",
                  R"([{"spec":{"location":"fake-north"},
                       "status":{"providerSnapshotID":"n-recorded","phase":"Completed"}}])");
  CreateVsc("vsc-alive", "alive");
  CreateVsc("vsc-running", "running");
  CreateVsc("vsc-deleting", "deleting");
  CreateVsc("vsc-bucket", "bucket-only");
  CreateVsc("vsc-recorded", "ghost-a");  // its label is stale, but a backup records it
  CreateVsc("vsc-orphan", "ghost-b");
  CreateVsc("vsc-not-velero", "");
  cloud_->Add("north", "n-alive", {{"velero.io/backup", "alive"}});
  cloud_->Add("north", "n-bucket", {{"velero.io/backup", "bucket-only"}});
  cloud_->Add("north", "n-recorded", {{"velero.io/backup", "ghost-c"}});
  cloud_->Add("north", "n-orphan1", {{"velero.io/backup", "ghost-d"}, {"velero.io/pv", "pv1"}});
  cloud_->Add("north", "n-orphan2", {{"velero.io-backup", "ghost-d"}});  // Azure-style key
  cloud_->Add("north", "n-not-velero", {{"owner", "someone"}});

  OrphanSnapshotReconciler r(ctx_, OrphanSnapshotOptions{.period = std::chrono::minutes(7)});
  auto result = r.Reconcile(std::string(OrphanSnapshotReconciler::kKey), CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, milliseconds(std::chrono::minutes(7)));
  std::string text = Metrics();
  EXPECT_THAT(text, HasSubstr("lifeboat_orphaned_volume_snapshots{kind=\"csi\",location=\"" +
                              std::string(kDriver) + "\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("lifeboat_orphaned_volume_snapshots{kind=\"native\",location=\"fake-north\"} 2\n"));
  EXPECT_THAT(text, Not(HasSubstr("location=\"aws-vsl\"")));

  auto orphans = r.Check(CancellationToken());
  ASSERT_TRUE(orphans.ok()) << orphans.status();
  EXPECT_THAT(Ids(*orphans, "csi"), UnorderedElementsAre("vsc-orphan@" + std::string(kDriver) +
                                                         "<-ghost-b"));
  EXPECT_THAT(Ids(*orphans, "native"), UnorderedElementsAre("n-orphan1@fake-north<-ghost-d",
                                                            "n-orphan2@fake-north<-ghost-d"));
  // Reported, never deleted.
  EXPECT_TRUE(cloud_->Has("north", "n-orphan1"));
  EXPECT_TRUE(cloud_->Deleted().empty());
  EXPECT_TRUE(GetIfExists(*f_->ctx.client, kCsiSnapshotContents, "", "vsc-orphan")->has_value());

  // Cleaned up by hand: the CSI series goes, the location's count drops.
  DeleteVsc("vsc-orphan");
  {
    std::lock_guard<std::mutex> l(cloud_->mu);
    cloud_->snapshots["north"].erase("n-orphan1");
  }
  ASSERT_TRUE(r.Reconcile(std::string(OrphanSnapshotReconciler::kKey), CancellationToken()).ok());
  text = Metrics();
  EXPECT_THAT(text, Not(HasSubstr("kind=\"csi\"")));
  EXPECT_THAT(text,
              HasSubstr("lifeboat_orphaned_volume_snapshots{kind=\"native\",location=\"fake-north\"} 1\n"));

  // The location cannot be listed: its last count stays; CSI is still checked.
  CreateVsc("vsc-orphan2", "ghost-e");
  cloud_->fail_list = true;
  ASSERT_TRUE(r.Reconcile(std::string(OrphanSnapshotReconciler::kKey), CancellationToken()).ok());
  text = Metrics();
  EXPECT_THAT(text,
              HasSubstr("lifeboat_orphaned_volume_snapshots{kind=\"native\",location=\"fake-north\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lifeboat_orphaned_volume_snapshots{kind=\"csi\",location=\"" +
                              std::string(kDriver) + "\"} 1\n"));
  cloud_->fail_list = false;

  // A backup appears for the orphan (e.g. synced from another cluster's bucket): no longer one.
  CreateBucketBackup("ghost-e");
  CreateBucketBackup("ghost-d");
  ASSERT_TRUE(r.Reconcile(std::string(OrphanSnapshotReconciler::kKey), CancellationToken()).ok());
  text = Metrics();
  EXPECT_THAT(text, Not(HasSubstr("kind=\"csi\"")));
  EXPECT_THAT(text,
              HasSubstr("lifeboat_orphaned_volume_snapshots{kind=\"native\",location=\"fake-north\"} 0\n"));

  // Other keys are not this reconciler's.
  auto other = r.Reconcile("something-else", CancellationToken());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->requeue_after, milliseconds(0));
}

TEST_F(OrphanSnapshotReconcilerTest, AnUnreadableBucketReportsNothing) {
  CreateVsc("vsc-maybe", "in-the-unreadable-bucket");
  OrphanSnapshotReconciler r(ctx_);
  ASSERT_TRUE(r.Reconcile(std::string(OrphanSnapshotReconciler::kKey), CancellationToken()).ok());
  EXPECT_THAT(Metrics(), HasSubstr("location=\"" + std::string(kDriver) + "\"} 1\n"));
  // A location whose store cannot be built: its backups are unknown, so no verdict.
  json::value bsl = {{"apiVersion", "velero.io/v1"},
                     {"kind", "BackupStorageLocation"},
                     {"metadata", {{"name", "broken"}, {"namespace", "velero"}}},
                     {"spec", {{"provider", "no-such-provider"}, {"objectStorage", {{"bucket", "b"}}}}}};
  ASSERT_TRUE(f_->Create(kBackupStorageLocations, bsl).ok());
  CreateVsc("vsc-maybe2", "in-the-unreadable-bucket");
  auto result = r.Reconcile(std::string(OrphanSnapshotReconciler::kKey), CancellationToken());
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("broken"));
  // The gauge keeps the last complete check's value.
  EXPECT_THAT(Metrics(), HasSubstr("location=\"" + std::string(kDriver) + "\"} 1\n"));
  ASSERT_TRUE(f_->cluster->client->Delete(kBackupStorageLocations, "velero", "broken").ok());
  DeleteVsc("vsc-maybe");
  DeleteVsc("vsc-maybe2");
}

}  // namespace
}  // namespace lifeboat::controller
