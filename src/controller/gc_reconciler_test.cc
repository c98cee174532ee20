// GcReconciler against kubesim, with a FakeClock: an expired backup gets one DeleteBackupRequest
// (Velero's labels and spec), an unexpired one is looked at again at expiry, unfinished ones are
// never collected, and a read-only or missing location blocks collection with a reason.

#include "src/controller/gc_reconciler.h"

#include <chrono>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using ::testing::HasSubstr;
using testing::ServerFixture;

json::value J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : json::value();
}

class GcReconcilerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    clock_ = new FakeClock();
    testing::ServerFixtureOptions o;
    o.clock = clock_;
    auto f = ServerFixture::Start(o);
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = f->release();
    ASSERT_TRUE(f_->CreateLocalLocation("default", "bucket1").ok());
    ASSERT_TRUE(f_->CreateLocalLocation("ro", "bucket2", false).ok());
    for (const char* bsl : {"default", "ro"}) {
      ASSERT_TRUE(PatchStatus(*f_->ctx.client, kBackupStorageLocations, "velero", bsl,
                              json::object{{"phase", "Available"}})
                      .ok());
    }
    ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", "ro",
                           J(R"({"spec":{"accessMode":"ReadOnly"}})").as_object())
                    .ok());
  }
  static void TearDownTestSuite() {
    delete f_;
    delete clock_;
  }

  void SetUp() override { f_->ctx.options.gc_frequency = hours(1); }

  // A finished backup in `location` that expires at now + `ttl_left` (negative: expired).
  std::string CreateBackup(const std::string& name, std::chrono::seconds ttl_left,
                           const std::string& phase = "Completed",
                           const std::string& location = "default") {
    json::value b = {
        {"apiVersion", "velero.io/v1"},
        {"kind", "Backup"},
        {"metadata", {{"name", name}, {"namespace", "velero"}}},
        {"spec", {{"storageLocation", location}}},
        {"status",
         {{"phase", phase}, {"expiration", api::FormatRfc3339(clock_->Now() + ttl_left)}}}};
    auto created = f_->Create(kBackups, b);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? std::string(JsonString(*created, {"metadata", "uid"}).value_or("")) : "";
  }

  json::array Requests(const std::string& backup) {
    kube::ListOptions lo;
    lo.label_selector = "velero.io/backup-name=" + backup;
    auto page = f_->ctx.client->List(kDeleteBackupRequests, "velero", lo);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->items : json::array();
  }

  Result MustReconcile(GcReconciler& r, const std::string& name) {
    auto result = r.Reconcile(name, CancellationToken());
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : Result{};
  }

  static FakeClock* clock_;
  static ServerFixture* f_;
};

FakeClock* GcReconcilerTest::clock_ = nullptr;
ServerFixture* GcReconcilerTest::f_ = nullptr;

TEST_F(GcReconcilerTest, UnexpiredBackupIsLookedAtAgainAtExpiry) {
  CreateBackup("soon", minutes(10));
  CreateBackup("later", hours(5));
  GcReconciler r(f_->ctx);
  EXPECT_EQ(MustReconcile(r, "soon").requeue_after, milliseconds(minutes(10)));
  EXPECT_EQ(MustReconcile(r, "later").requeue_after, milliseconds(hours(1)));  // capped
  EXPECT_TRUE(Requests("soon").empty());
  EXPECT_TRUE(Requests("later").empty());
}

TEST_F(GcReconcilerTest, ExpiredBackupGetsOneDeleteBackupRequest) {
  const std::string uid = CreateBackup("old", -minutes(1));
  ASSERT_FALSE(uid.empty());
  GcReconciler r(f_->ctx);
  EXPECT_EQ(MustReconcile(r, "old").requeue_after, milliseconds(hours(1)));
  json::array dbrs = Requests("old");
  ASSERT_EQ(dbrs.size(), 1u);
  const json::value& dbr = dbrs[0];
  EXPECT_EQ(JsonString(dbr, {"spec", "backupName"}).value_or(""), "old");
  EXPECT_EQ(JsonString(dbr, {"metadata", "labels", "velero.io/backup-uid"}).value_or(""), uid);
  EXPECT_EQ(JsonString(dbr, {"metadata", "generateName"}).value_or(""), "old-");
  // Still pending: no second request.
  MustReconcile(r, "old");
  EXPECT_EQ(Requests("old").size(), 1u);
  // Processed (e.g. it failed) and the backup is still there — left Deleting by the failed
  // attempt: the old request is replaced by a new one (Velero's gc retries the same way).
  const std::string first(JsonString(dbr, {"metadata", "name"}).value_or(""));
  ASSERT_TRUE(PatchStatus(*f_->ctx.client, kDeleteBackupRequests, "velero", first,
                          json::object{{"phase", "Processed"}})
                  .ok());
  ASSERT_TRUE(
      PatchStatus(*f_->ctx.client, kBackups, "velero", "old", json::object{{"phase", "Deleting"}})
          .ok());
  MustReconcile(r, "old");
  json::array again = Requests("old");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(JsonString(again[0], {"metadata", "name"}).value_or(""), first);
}

TEST_F(GcReconcilerTest, UnfinishedBackupsAreNeverCollected) {
  CreateBackup("running", -hours(2), "InProgress");
  CreateBackup("fresh", -hours(2), "New");
  GcReconciler r(f_->ctx);
  MustReconcile(r, "running");
  MustReconcile(r, "fresh");
  EXPECT_TRUE(Requests("running").empty());
  EXPECT_TRUE(Requests("fresh").empty());
}

TEST_F(GcReconcilerTest, ReadOnlyLocationBlocksCollectionUntilWritable) {
  CreateBackup("kept", -minutes(5), "Completed", "ro");
  f_->ctx.options.gc_frequency = minutes(30);
  GcReconciler r(f_->ctx);
  EXPECT_EQ(MustReconcile(r, "kept").requeue_after, milliseconds(minutes(30)));
  EXPECT_TRUE(Requests("kept").empty());
  auto b = f_->Get(kBackups, "kept");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(JsonString(*b, {"metadata", "labels", "velero.io/gc-failure"}).value_or(""),
            "BSLReadOnly");
  EXPECT_THAT(Annotation(*b, kGcBlockedAnnotation), HasSubstr("read-only"));
  // The location becomes writable: the block is lifted and the backup collected.
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", "ro",
                         J(R"({"spec":{"accessMode":"ReadWrite"}})").as_object())
                  .ok());
  MustReconcile(r, "kept");
  EXPECT_EQ(Requests("kept").size(), 1u);
  b = f_->Get(kBackups, "kept");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(JsonString(*b, {"metadata", "labels", "velero.io/gc-failure"}).has_value());
  EXPECT_EQ(Annotation(*b, kGcBlockedAnnotation), "");
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", "ro",
                         J(R"({"spec":{"accessMode":"ReadOnly"}})").as_object())
                  .ok());
}

TEST_F(GcReconcilerTest, MissingLocationBlocksCollection) {
  CreateBackup("orphan", -minutes(5), "Completed", "gone");
  GcReconciler r(f_->ctx);
  EXPECT_EQ(MustReconcile(r, "orphan").requeue_after, milliseconds(hours(1)));
  EXPECT_TRUE(Requests("orphan").empty());
  auto b = f_->Get(kBackups, "orphan");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(JsonString(*b, {"metadata", "labels", "velero.io/gc-failure"}).value_or(""),
            "BSLNotFound");
  EXPECT_THAT(Annotation(*b, kGcBlockedAnnotation), HasSubstr("gone does not exist"));
}

TEST_F(GcReconcilerTest, TimePassingExpiresABackup) {
  CreateBackup("ticking", minutes(3));
  GcReconciler r(f_->ctx);
  EXPECT_EQ(MustReconcile(r, "ticking").requeue_after, milliseconds(minutes(3)));
  clock_->Advance(minutes(3));
  MustReconcile(r, "ticking");
  EXPECT_EQ(Requests("ticking").size(), 1u);
}

}  // namespace
}  // namespace lifeboat::controller
