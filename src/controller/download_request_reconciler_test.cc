#include "src/controller/download_request_reconciler.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "lifeboat/api/time.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

class DownloadRequestReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ServerFixtureOptions options;
    options.clock = &clock_;
    auto f = testing::ServerFixture::Start(options);
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = std::move(*f);
    ASSERT_TRUE(f_->CreateLocalLocation("default", "bucket1").ok());
    CreateBackup("b1", "default", "Completed");
  }

  void CreateBackup(const std::string& name, const std::string& location,
                    const std::string& phase) {
    json::value b =
        json::object{{"apiVersion", "velero.io/v1"},
                     {"kind", "Backup"},
                     {"metadata", json::object{{"name", name}, {"namespace", "velero"}}},
                     {"spec", json::object{{"storageLocation", location}}},
                     {"status", json::object{{"phase", phase}}}};
    auto created = f_->Create(kBackups, b);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  void CreateRestore(const std::string& name, const std::string& backup, const std::string& phase) {
    json::value r =
        json::object{{"apiVersion", "velero.io/v1"},
                     {"kind", "Restore"},
                     {"metadata", json::object{{"name", name}, {"namespace", "velero"}}},
                     {"spec", json::object{{"backupName", backup}}},
                     {"status", json::object{{"phase", phase}}}};
    auto created = f_->Create(kRestores, r);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  void CreateRequest(const std::string& name, const std::string& kind, const std::string& target) {
    json::value d = json::object{
        {"apiVersion", "velero.io/v1"},
        {"kind", "DownloadRequest"},
        {"metadata", json::object{{"name", name}, {"namespace", "velero"}}},
        {"spec", json::object{{"target", json::object{{"kind", kind}, {"name", target}}}}}};
    auto created = f_->Create(kDownloadRequests, d);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  std::optional<json::value> Request(const std::string& name) {
    auto got = GetIfExists(*f_->ctx.client, kDownloadRequests, "velero", name);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : std::nullopt;
  }

  std::string Expected(const std::string& key) {
    return "file://" + (f_->bucket_root() / "bucket1").string() + "/" + key;
  }

  FakeClock clock_;
  std::unique_ptr<testing::ServerFixture> f_;
};

TEST_F(DownloadRequestReconcilerTest, SignsBackupFileAndDeletesAfterExpiry) {
  CreateRequest("d1", "BackupLog", "b1");
  DownloadRequestReconciler r(f_->ctx);
  auto result = r.Reconcile("d1", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, milliseconds(minutes(10)));
  auto d = Request("d1");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(JsonString(*d, {"status", "phase"}), "Processed");
  std::string url = JsonString(*d, {"status", "downloadURL"}).value_or("");
  EXPECT_TRUE(url.starts_with(Expected("backups/b1/b1-logs.gz"))) << url;
  EXPECT_EQ(JsonString(*d, {"status", "expiration"}),
            api::FormatRfc3339(clock_.Now() + minutes(10)));

  // Processed and not expired: left alone until the expiry.
  const std::string rv = JsonString(*d, {"metadata", "resourceVersion"}).value_or("");
  clock_.Advance(minutes(4));
  result = r.Reconcile("d1", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, milliseconds(minutes(6)));
  EXPECT_EQ(JsonString(*Request("d1"), {"metadata", "resourceVersion"}), rv);

  clock_.Advance(minutes(6));
  result = r.Reconcile("d1", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, milliseconds(0));
  EXPECT_FALSE(Request("d1").has_value());
  // And a request that is gone is nothing to do.
  EXPECT_TRUE(r.Reconcile("d1", CancellationToken()).ok());
}

TEST_F(DownloadRequestReconcilerTest, EveryBackupKindMapsToItsFile) {
  const std::pair<const char*, const char*> kinds[] = {
      {"BackupContents", "backups/b1/b1.tar.gz"},
      {"BackupResourceList", "backups/b1/b1-resource-list.json.gz"},
      {"BackupResults", "backups/b1/b1-results.gz"},
      {"BackupVolumeInfos", "backups/b1/b1-volumeinfo.json.gz"},
      {"CSIBackupVolumeSnapshots", "backups/b1/b1-csi-volumesnapshots.json.gz"},
  };
  DownloadRequestReconciler r(f_->ctx);
  int i = 0;
  for (const auto& [kind, key] : kinds) {
    const std::string name = "k" + std::to_string(i++);
    CreateRequest(name, kind, "b1");
    ASSERT_TRUE(r.Reconcile(name, CancellationToken()).ok()) << kind;
    std::string url = JsonString(*Request(name), {"status", "downloadURL"}).value_or("");
    EXPECT_TRUE(url.starts_with(Expected(key))) << kind << ": " << url;
  }
}

TEST_F(DownloadRequestReconcilerTest, RestoreKindsUseTheRestoresBackupLocation) {
  ASSERT_TRUE(f_->CreateLocalLocation("other", "bucket2", /*is_default=*/false).ok());
  CreateBackup("b2", "other", "Completed");
  CreateRestore("r1", "b2", "Completed");
  CreateRequest("d2", "RestoreLog", "r1");
  DownloadRequestReconciler r(f_->ctx);
  ASSERT_TRUE(r.Reconcile("d2", CancellationToken()).ok());
  auto d = Request("d2");
  EXPECT_EQ(JsonString(*d, {"status", "phase"}), "Processed");
  std::string url = JsonString(*d, {"status", "downloadURL"}).value_or("");
  EXPECT_TRUE(url.starts_with("file://" + (f_->bucket_root() / "bucket2").string() +
                              "/restores/r1/restore-r1-logs.gz"))
      << url;
}

TEST_F(DownloadRequestReconcilerTest, TargetThatWroteNothingFails) {
  CreateBackup("bv", "default", "FailedValidation");
  CreateRequest("d3", "BackupLog", "bv");
  CreateRestore("rn", "b1", "New");
  CreateRequest("d4", "RestoreResults", "rn");
  DownloadRequestReconciler r(f_->ctx);
  ASSERT_TRUE(r.Reconcile("d3", CancellationToken()).ok());
  ASSERT_TRUE(r.Reconcile("d4", CancellationToken()).ok());
  auto d3 = Request("d3");
  EXPECT_EQ(JsonString(*d3, {"status", "phase"}), "Failed");
  EXPECT_EQ(JsonString(*d3, {"status", "message"}),
            R"(backup "bv" is in phase "FailedValidation" and has not written any artifacts)");
  EXPECT_EQ(JsonFind(*d3, {"status", "downloadURL"}), nullptr);
  EXPECT_TRUE(JsonString(*d3, {"status", "expiration"}).has_value());
  auto d4 = Request("d4");
  EXPECT_EQ(JsonString(*d4, {"status", "phase"}), "Failed");
  EXPECT_EQ(JsonString(*d4, {"status", "message"}),
            R"(restore "rn" is in phase "New" and has not written any artifacts)");
  // A failed request is deleted at its expiry as well.
  clock_.Advance(minutes(10));
  ASSERT_TRUE(r.Reconcile("d3", CancellationToken()).ok());
  EXPECT_FALSE(Request("d3").has_value());
}

TEST_F(DownloadRequestReconcilerTest, MissingBackupOrLocationIsRetriedUntilExpiry) {
  CreateRequest("d5", "BackupLog", "nope");
  CreateBackup("bl", "no-such-location", "Completed");
  CreateRequest("d6", "BackupResults", "bl");
  CreateRequest("d7", "RestoreLog", "no-restore");
  DownloadRequestReconciler r(f_->ctx);
  for (const char* name : {"d5", "d6", "d7"}) {
    auto result = r.Reconcile(name, CancellationToken());
    ASSERT_FALSE(result.ok()) << name;
    EXPECT_TRUE(absl::IsNotFound(result.status())) << result.status();
    auto d = Request(name);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(JsonString(*d, {"status", "phase"}).value_or(""), "");
    EXPECT_EQ(JsonString(*d, {"status", "expiration"}),
              api::FormatRfc3339(clock_.Now() + minutes(10)));
  }
  // Retries do not push the expiry back.
  clock_.Advance(minutes(5));
  EXPECT_FALSE(r.Reconcile("d5", CancellationToken()).ok());
  EXPECT_EQ(JsonString(*Request("d5"), {"status", "expiration"}),
            api::FormatRfc3339(clock_.Now() + minutes(5)));
  // The backup appears: served on the next retry.
  CreateBackup("nope", "default", "Completed");
  ASSERT_TRUE(r.Reconcile("d5", CancellationToken()).ok());
  EXPECT_EQ(JsonString(*Request("d5"), {"status", "phase"}), "Processed");
  // Never served: deleted at the expiry.
  clock_.Advance(minutes(5));
  ASSERT_TRUE(r.Reconcile("d6", CancellationToken()).ok());
  EXPECT_FALSE(Request("d6").has_value());
}

}  // namespace
}  // namespace lifeboat::controller
