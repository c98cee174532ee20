#include "src/controller/backup_sync.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/controller.h"
#include "lifeboat/controller/kinds.h"
#include "src/controller/bsl_reconciler.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class BackupSyncTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    clock_ = new FakeClock();
    testing::ServerFixtureOptions o;
    o.clock = clock_;
    auto f = testing::ServerFixture::Start(o);
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = f->release();
  }
  static void TearDownTestSuite() {
    delete f_;
    delete clock_;
  }

  // A local location whose status says `phase` (as the BSL controller would have set it).
  void MakeLocation(const std::string& name, const std::string& phase = "Available") {
    ASSERT_TRUE(f_->CreateLocalLocation(name, "bucket-" + name, false).ok());
    if (!phase.empty()) {
      ASSERT_TRUE(PatchStatus(*f_->ctx.client, kBackupStorageLocations, "velero", name,
                              json::object{{"phase", phase}})
                      .ok());
    }
  }

  static api::Backup SourceBackup(const std::string& name,
                                  api::BackupPhase phase = api::BackupPhase::kCompleted) {
    api::Backup b;
    b.metadata.name = name;
    b.metadata.namespace_ = "velero-elsewhere";
    b.metadata.uid = "uid-from-the-source-cluster";
    b.metadata.resource_version = "4242";
    b.metadata.creation_timestamp = "2023-01-01T00:00:00Z";
    b.metadata.labels["app"] = "demo";
    b.spec.storage_location = "name-in-source-cluster";
    b.spec.included_namespaces = {"demo"};
    b.status.phase = phase;
    b.status.format_version = "1.1.0";
    b.status.start_timestamp = "2023-01-01T00:00:01Z";
    b.status.completion_timestamp = "2023-01-01T00:01:00Z";
    return b;
  }

  // Uploads a backup (a tiny fake tarball and its velero-backup.json) into `location`'s bucket.
  void PutBackup(const std::string& location, const std::string& name,
                 const std::string& metadata) {
    auto loc = f_->stores->Get(location);
    ASSERT_TRUE(loc.ok()) << loc.status();
    auto contents = StringSource(std::string("\x1f\x8b fake tarball", 16));
    storage::BackupUpload upload;
    upload.name = name;
    upload.metadata_json = metadata;
    upload.contents = contents.get();
    ASSERT_TRUE(loc->store->PutBackup(upload).ok());
  }
  void PutBackup(const std::string& location, const api::Backup& b) {
    PutBackup(location, b.metadata.name, json::serialize(api::ToJson(b)));
  }
  void DeleteFromBucket(const std::string& location, const std::string& name) {
    auto loc = f_->stores->Get(location);
    ASSERT_TRUE(loc.ok()) << loc.status();
    ASSERT_TRUE(loc->store->DeleteBackup(name).ok());
  }

  // A Backup object in the cluster (with its status).
  void CreateBackupObject(const std::string& name, const std::string& location,
                          api::BackupPhase phase) {
    api::Backup b = SourceBackup(name, phase);
    b.metadata.namespace_ = "velero";
    b.metadata.uid.clear();
    b.metadata.resource_version.clear();
    b.metadata.creation_timestamp.reset();
    b.spec.storage_location = location;
    b.metadata.labels[std::string(kStorageLocationLabel)] = location;
    ASSERT_TRUE(f_->Create(kBackups, api::ToJson(b)).ok());
  }

  std::optional<json::value> Backup(const std::string& name) {
    auto got = GetIfExists(*f_->ctx.client, kBackups, "velero", name);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : std::nullopt;
  }
  static std::string Str(const json::value& v, std::initializer_list<std::string_view> path) {
    return JsonString(v, path).value_or("<absent>");
  }
  std::string LocationStatus(const std::string& name, std::string_view field) {
    auto got = f_->Get(kBackupStorageLocations, name);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? Str(*got, {"status", field}) : "";
  }

  static FakeClock* clock_;
  static testing::ServerFixture* f_;
};

FakeClock* BackupSyncTest::clock_ = nullptr;
testing::ServerFixture* BackupSyncTest::f_ = nullptr;

TEST_F(BackupSyncTest, SyncsBucketBackupsIntoTheClusterAndRemovesDeletedOnes) {
  MakeLocation("sync1");
  PutBackup("sync1", SourceBackup("b1"));
  PutBackup("sync1", SourceBackup("b2", api::BackupPhase::kPartiallyFailed));
  BackupSyncReconciler r(f_->ctx);
  auto result = r.Reconcile("sync1", {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, f_->ctx.options.backup_sync_period);
  EXPECT_EQ(LocationStatus("sync1", "lastSyncedTime"), api::FormatRfc3339(clock_->Now()));

  for (const char* name : {"b1", "b2"}) {
    auto b = Backup(name);
    ASSERT_TRUE(b.has_value()) << name << " was not synced";
    EXPECT_EQ(Str(*b, {"metadata", "namespace"}), "velero");
    EXPECT_EQ(Str(*b, {"metadata", "labels", "velero.io/storage-location"}), "sync1");
    EXPECT_EQ(Str(*b, {"metadata", "labels", "app"}), "demo") << "other labels are kept";
    EXPECT_EQ(Str(*b, {"spec", "storageLocation"}), "sync1");
    EXPECT_NE(Str(*b, {"metadata", "uid"}), "uid-from-the-source-cluster");
    EXPECT_NE(Str(*b, {"metadata", "creationTimestamp"}), "2023-01-01T00:00:00Z");
    EXPECT_EQ(Str(*b, {"status", "completionTimestamp"}), "2023-01-01T00:01:00Z");
  }
  EXPECT_EQ(Str(*Backup("b1"), {"status", "phase"}), "Completed");
  EXPECT_EQ(Str(*Backup("b2"), {"status", "phase"}), "PartiallyFailed");

  // Gone from the bucket: not noticed before the next sync is due (nothing is written) ...
  DeleteFromBucket("sync1", "b2");
  auto early = r.Reconcile("sync1", {});
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_GT(early->requeue_after, 0ms);
  EXPECT_TRUE(Backup("b2").has_value());
  // ... and deleted from the cluster by it.
  clock_->Advance(f_->ctx.options.backup_sync_period);
  ASSERT_TRUE(r.Reconcile("sync1", {}).ok());
  EXPECT_FALSE(Backup("b2").has_value()) << "a PartiallyFailed backup gone from the bucket";
  EXPECT_TRUE(Backup("b1").has_value());
  EXPECT_EQ(LocationStatus("sync1", "lastSyncedTime"), api::FormatRfc3339(clock_->Now()));
}

TEST_F(BackupSyncTest, UnavailableLocationIsNotSynced) {
  MakeLocation("down", "Unavailable");
  MakeLocation("unvalidated", "");
  PutBackup("down", SourceBackup("from-down"));
  PutBackup("unvalidated", SourceBackup("from-unvalidated"));
  BackupSyncReconciler r(f_->ctx);
  for (const char* name : {"down", "unvalidated"}) {
    auto result = r.Reconcile(name, {});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->requeue_after, f_->ctx.options.backup_sync_period);
    EXPECT_EQ(LocationStatus(name, "lastSyncedTime"), "<absent>");
  }
  EXPECT_FALSE(Backup("from-down").has_value());
  EXPECT_FALSE(Backup("from-unvalidated").has_value());

  // Once Available it syncs.
  ASSERT_TRUE(PatchStatus(*f_->ctx.client, kBackupStorageLocations, "velero", "down",
                          json::object{{"phase", "Available"}})
                  .ok());
  ASSERT_TRUE(r.Reconcile("down", {}).ok());
  EXPECT_TRUE(Backup("from-down").has_value());
}

TEST_F(BackupSyncTest, OnlyFinishedBackupsOfThisLocationAreDeleted) {
  MakeLocation("keep");
  CreateBackupObject("keep-inprogress", "keep", api::BackupPhase::kInProgress);
  CreateBackupObject("keep-new", "keep", api::BackupPhase::kNew);
  CreateBackupObject("keep-failed", "keep", api::BackupPhase::kFailed);
  CreateBackupObject("keep-completed-orphan", "keep", api::BackupPhase::kCompleted);
  CreateBackupObject("other-location-completed", "some-other-location",
                     api::BackupPhase::kCompleted);
  BackupSyncReconciler r(f_->ctx);
  ASSERT_TRUE(r.Reconcile("keep", {}).ok());
  EXPECT_TRUE(Backup("keep-inprogress").has_value()) << "still running: not yet in the bucket";
  EXPECT_TRUE(Backup("keep-new").has_value());
  EXPECT_TRUE(Backup("keep-failed").has_value());
  EXPECT_FALSE(Backup("keep-completed-orphan").has_value());
  EXPECT_TRUE(Backup("other-location-completed").has_value());
}

TEST_F(BackupSyncTest, ExistingObjectsAreNotOverwritten) {
  MakeLocation("exists");
  CreateBackupObject("already-here", "exists", api::BackupPhase::kInProgress);
  PutBackup("exists", SourceBackup("already-here", api::BackupPhase::kCompleted));
  BackupSyncReconciler r(f_->ctx);
  ASSERT_TRUE(r.Reconcile("exists", {}).ok());
  auto b = Backup("already-here");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(Str(*b, {"status", "phase"}), "InProgress");
}

TEST_F(BackupSyncTest, UndecodableMetadataIsSkipped) {
  MakeLocation("messy");
  PutBackup("messy", "broken", "{this is not json");
  PutBackup("messy", "wrongtype",
            R"({"apiVersion":"velero.io/v1","kind":"Backup",)"
            R"("metadata":{"name":"wrongtype"},"spec":{"ttl":"forever"}})");
  PutBackup("messy", SourceBackup("fine"));
  BackupSyncReconciler r(f_->ctx);
  auto result = r.Reconcile("messy", {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(Backup("broken").has_value());
  EXPECT_FALSE(Backup("wrongtype").has_value());
  EXPECT_TRUE(Backup("fine").has_value());
  EXPECT_NE(LocationStatus("messy", "lastSyncedTime"), "<absent>");
}

TEST_F(BackupSyncTest, UnfinishedAsyncBackupsWaitUntilExpired) {
  MakeLocation("async");
  api::Backup pending =
      SourceBackup("async-pending", api::BackupPhase::kWaitingForPluginOperations);
  pending.status.expiration = api::FormatRfc3339(clock_->Now() + 24h);
  api::Backup expired = SourceBackup("async-expired", api::BackupPhase::kFinalizing);
  expired.status.expiration = api::FormatRfc3339(clock_->Now() - 1h);
  PutBackup("async", pending);
  PutBackup("async", expired);
  BackupSyncReconciler r(f_->ctx);
  ASSERT_TRUE(r.Reconcile("async", {}).ok());
  EXPECT_FALSE(Backup("async-pending").has_value());
  auto b = Backup("async-expired");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(Str(*b, {"status", "phase"}), "PartiallyFailed");
}

TEST_F(BackupSyncTest, ZeroPeriodDisablesSync) {
  MakeLocation("nosync");
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", "nosync",
                         json::object{{"spec", {{"backupSyncPeriod", "0s"}}}})
                  .ok());
  PutBackup("nosync", SourceBackup("from-nosync"));
  BackupSyncReconciler r(f_->ctx);
  auto result = r.Reconcile("nosync", {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, 0ms);
  EXPECT_FALSE(Backup("from-nosync").has_value());
}

TEST_F(BackupSyncTest, OwnPeriodAndLongLocationNames) {
  const std::string name(70, 'l');
  MakeLocation(name);
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", name,
                         json::object{{"spec", {{"backupSyncPeriod", "10m0s"}}}})
                  .ok());
  PutBackup(name, SourceBackup("from-long"));
  BackupSyncReconciler r(f_->ctx);
  auto result = r.Reconcile(name, {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, 10min);
  auto b = Backup("from-long");
  ASSERT_TRUE(b.has_value());
  const std::string label = Str(*b, {"metadata", "labels", "velero.io/storage-location"});
  EXPECT_EQ(label.size(), 63u);
  EXPECT_EQ(label, LabelValue(name));
  EXPECT_EQ(label.substr(0, 57), name.substr(0, 57));
  EXPECT_EQ(Str(*b, {"spec", "storageLocation"}), name);
  // The label-safe value also finds it for orphan deletion.
  DeleteFromBucket(name, "from-long");
  clock_->Advance(10min);
  ASSERT_TRUE(r.Reconcile(name, {}).ok());
  EXPECT_FALSE(Backup("from-long").has_value());
}

// Counts the reconciles of another reconciler.
// Counts the reconciles of one location (the suite's other locations are in the same
// namespace and get reconciled too, the more so on a slow, sanitized build).
class Counting : public Reconciler {
 public:
  Counting(Reconciler* inner, std::string name) : inner_(inner), name_(std::move(name)) {}
  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override {
    if (name == name_) ++calls;
    return inner_->Reconcile(name, cancel);
  }
  std::atomic<int> calls{0};

 private:
  Reconciler* inner_;
  std::string name_;
};

// Both controllers on one BSL informer, as the server runs them: the location becomes
// Available, its backups are synced, and then their own status patches do not keep them busy.
TEST_F(BackupSyncTest, BothControllersSettleWithoutAnUpdateStorm) {
  ASSERT_TRUE(f_->CreateLocalLocation("settle", "bucket-settle", false).ok());
  PutBackup("settle", SourceBackup("settled-backup"));
  BackupStorageLocationReconciler bsl(f_->ctx);
  BackupSyncReconciler sync(f_->ctx);
  Counting counted_bsl(&bsl, "settle"), counted_sync(&sync, "settle");
  Controller bsl_controller({.name = "backup-storage-location"}, &counted_bsl);
  Controller sync_controller({.name = "backup-sync"}, &counted_sync);
  kube::Informer informer(f_->ctx.client, kBackupStorageLocations, "velero");
  bsl_controller.Watch(informer);
  sync_controller.Watch(informer);
  CancellationSource stop;
  std::thread t1([&] { bsl_controller.Run(stop.token()); });
  std::thread t2([&] { sync_controller.Run(stop.token()); });
  informer.Start();

  bool synced = false;
  for (int i = 0; i < 600 && !synced; ++i) {
    std::this_thread::sleep_for(50ms);
    synced = Backup("settled-backup").has_value() &&
             LocationStatus("settle", "lastSyncedTime") != "<absent>";
  }
  EXPECT_TRUE(synced) << "the backup was not synced through the controllers";
  EXPECT_EQ(LocationStatus("settle", "phase"), "Available");
  auto before = f_->Get(kBackupStorageLocations, "settle");
  ASSERT_TRUE(before.ok());
  const int bsl_calls = counted_bsl.calls, sync_calls = counted_sync.calls;
  std::this_thread::sleep_for(1s);
  auto after = f_->Get(kBackupStorageLocations, "settle");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Str(*after, {"metadata", "resourceVersion"}),
            Str(*before, {"metadata", "resourceVersion"}))
      << "the location kept being written";
  // Each status patch is one more event for both; a storm would be unbounded.
  EXPECT_LE(counted_bsl.calls - bsl_calls, 2);
  EXPECT_LE(counted_sync.calls - sync_calls, 2);
  stop.Cancel();
  t1.join();
  t2.join();
  informer.Stop();
}

TEST_F(BackupSyncTest, MissingLocationIsNothingToDo) {
  BackupSyncReconciler r(f_->ctx);
  auto result = r.Reconcile("never-existed", {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, 0ms);
}

}  // namespace
}  // namespace lifeboat::controller
