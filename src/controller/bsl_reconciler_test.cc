#include "src/controller/bsl_reconciler.h"

#include <absl/strings/escaping.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lifeboat/api/time.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

class BslReconcilerTest : public ::testing::Test {
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

  json::value Get(const std::string& name) {
    auto got = f_->Get(kBackupStorageLocations, name);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : json::value();
  }
  static std::string Str(const json::value& v, std::initializer_list<std::string_view> path) {
    return JsonString(v, path).value_or("<absent>");
  }
  std::string Exposition() { return f_->metrics->registry().Exposition(); }

  static FakeClock* clock_;
  static testing::ServerFixture* f_;
};

FakeClock* BslReconcilerTest::clock_ = nullptr;
testing::ServerFixture* BslReconcilerTest::f_ = nullptr;

TEST_F(BslReconcilerTest, ValidLocationBecomesAvailable) {
  ASSERT_TRUE(f_->CreateLocalLocation("good", "bucket-good", false).ok());
  BackupStorageLocationReconciler r(f_->ctx);
  auto result = r.Reconcile("good", {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, f_->ctx.options.store_validation_frequency);
  json::value bsl = Get("good");
  EXPECT_EQ(Str(bsl, {"status", "phase"}), "Available");
  EXPECT_EQ(Str(bsl, {"status", "lastValidationTime"}), api::FormatRfc3339(clock_->Now()));
  EXPECT_EQ(Str(bsl, {"status", "message"}), "<absent>");
  EXPECT_THAT(Exposition(), HasSubstr("lifeboat_backup_location_available{location=\"good\"} 1"));
}

TEST_F(BslReconcilerTest, ForeignBucketIsUnavailableWithTheReasonAndRecovers) {
  ASSERT_TRUE(f_->CreateLocalLocation("foreign", "bucket-foreign", false).ok());
  const fs::path stray = f_->bucket_root() / "bucket-foreign" / "not-velero";
  fs::create_directories(stray);
  std::ofstream(stray / "file") << "x";
  BackupStorageLocationReconciler r(f_->ctx);
  auto result = r.Reconcile("foreign", {});
  ASSERT_TRUE(result.ok()) << result.status();
  json::value bsl = Get("foreign");
  EXPECT_EQ(Str(bsl, {"status", "phase"}), "Unavailable");
  EXPECT_THAT(Str(bsl, {"status", "message"}), HasSubstr("\"foreign\" is unavailable"));
  EXPECT_THAT(Str(bsl, {"status", "message"}), HasSubstr("not-velero"));
  EXPECT_THAT(Exposition(),
              HasSubstr("lifeboat_backup_location_available{location=\"foreign\"} 0"));

  // Fixed in the bucket: the next periodic validation makes it Available again.
  fs::remove_all(stray);
  clock_->Advance(f_->ctx.options.store_validation_frequency);
  ASSERT_TRUE(r.Reconcile("foreign", {}).ok());
  bsl = Get("foreign");
  EXPECT_EQ(Str(bsl, {"status", "phase"}), "Available");
  EXPECT_EQ(Str(bsl, {"status", "message"}), "<absent>") << "the old reason is removed";
  EXPECT_EQ(Str(bsl, {"status", "lastValidationTime"}), api::FormatRfc3339(clock_->Now()));
  EXPECT_THAT(Exposition(),
              HasSubstr("lifeboat_backup_location_available{location=\"foreign\"} 1"));
}

TEST_F(BslReconcilerTest, ReconcileThatIsNotDueWritesNothing) {
  ASSERT_TRUE(f_->CreateLocalLocation("quiet", "bucket-quiet", false).ok());
  BackupStorageLocationReconciler r(f_->ctx);
  ASSERT_TRUE(r.Reconcile("quiet", {}).ok());
  const std::string rv = Str(Get("quiet"), {"metadata", "resourceVersion"});
  const std::string validated = Str(Get("quiet"), {"status", "lastValidationTime"});

  // The informer sees our own patch and queues the location again: that must not write.
  auto again = r.Reconcile("quiet", {});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Str(Get("quiet"), {"metadata", "resourceVersion"}), rv);
  EXPECT_GT(again->requeue_after, 0ms);
  EXPECT_LE(again->requeue_after, f_->ctx.options.store_validation_frequency);

  clock_->Advance(f_->ctx.options.store_validation_frequency / 2);
  auto half = r.Reconcile("quiet", {});
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(Str(Get("quiet"), {"metadata", "resourceVersion"}), rv);
  EXPECT_LE(half->requeue_after, f_->ctx.options.store_validation_frequency / 2);

  clock_->Advance(f_->ctx.options.store_validation_frequency / 2);
  ASSERT_TRUE(r.Reconcile("quiet", {}).ok());
  EXPECT_NE(Str(Get("quiet"), {"status", "lastValidationTime"}), validated) << "due: validated";
}

TEST_F(BslReconcilerTest, SpecChangeIsValidatedAtOnce) {
  ASSERT_TRUE(f_->CreateLocalLocation("edited", "bucket-edited", false).ok());
  BackupStorageLocationReconciler r(f_->ctx);
  ASSERT_TRUE(r.Reconcile("edited", {}).ok());
  EXPECT_EQ(Str(Get("edited"), {"status", "phase"}), "Available");
  // Point it at a bucket that does not exist; no time passes.
  json::object patch = {{"spec", {{"objectStorage", {{"bucket", "no-such-bucket"}}}}}};
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", "edited", patch).ok());
  ASSERT_TRUE(r.Reconcile("edited", {}).ok());
  json::value bsl = Get("edited");
  EXPECT_EQ(Str(bsl, {"status", "phase"}), "Unavailable");
  EXPECT_THAT(Str(bsl, {"status", "message"}), HasSubstr("no-such-bucket"));
}

TEST_F(BslReconcilerTest, ZeroFrequencyValidatesOnlyOnce) {
  ASSERT_TRUE(f_->CreateLocalLocation("once", "bucket-once", false).ok());
  json::object patch = {{"spec", {{"validationFrequency", "0s"}}}};
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", "once", patch).ok());
  BackupStorageLocationReconciler r(f_->ctx);
  auto first = r.Reconcile("once", {});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->requeue_after, 0ms);
  json::value bsl = Get("once");
  EXPECT_EQ(Str(bsl, {"status", "phase"}), "Available") << "validated the first time";
  const std::string rv = Str(bsl, {"metadata", "resourceVersion"});
  clock_->Advance(24h);
  auto later = r.Reconcile("once", {});
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->requeue_after, 0ms);
  EXPECT_EQ(Str(Get("once"), {"metadata", "resourceVersion"}), rv);
}

TEST_F(BslReconcilerTest, ServerDefaultIsMarkedOnlyWhenNoLocationIsDefault) {
  ASSERT_TRUE(f_->CreateLocalLocation("srv-default", "bucket-sd", false).ok());
  ServerContext ctx = f_->ctx;
  ctx.options.default_backup_storage_location = "srv-default";
  BackupStorageLocationReconciler r(ctx);
  ASSERT_TRUE(r.Reconcile("srv-default", {}).ok());
  json::value bsl = Get("srv-default");
  EXPECT_EQ(JsonBool(bsl, {"spec", "default"}), std::optional<bool>(true));
  EXPECT_EQ(Str(bsl, {"status", "phase"}), "Available");
  // Our own spec.default patch is not a user's spec change: no second validation.
  const std::string rv = Str(bsl, {"metadata", "resourceVersion"});
  ASSERT_TRUE(r.Reconcile("srv-default", {}).ok());
  EXPECT_EQ(Str(Get("srv-default"), {"metadata", "resourceVersion"}), rv);

  // Another location named by the flag is not marked while one is already the default.
  ASSERT_TRUE(f_->CreateLocalLocation("srv-other", "bucket-so", false).ok());
  ctx.options.default_backup_storage_location = "srv-other";
  BackupStorageLocationReconciler r2(ctx);
  ASSERT_TRUE(r2.Reconcile("srv-other", {}).ok());
  EXPECT_EQ(JsonBool(Get("srv-other"), {"spec", "default"}).value_or(false), false);
  EXPECT_EQ(Str(Get("srv-other"), {"status", "phase"}), "Available");
}

TEST_F(BslReconcilerTest, DeletedLocationLeavesMetricsAndCache) {
  ASSERT_TRUE(f_->CreateLocalLocation("gone", "bucket-gone", false).ok());
  BackupStorageLocationReconciler r(f_->ctx);
  ASSERT_TRUE(r.Reconcile("gone", {}).ok());
  EXPECT_THAT(Exposition(), HasSubstr("location=\"gone\""));
  auto bsl = api::BackupStorageLocationFromJson(Get("gone"));
  ASSERT_TRUE(bsl.ok());
  auto cached = f_->stores->ForLocation(*bsl);
  ASSERT_TRUE(cached.ok());
  ASSERT_EQ(f_->stores->ForLocation(*bsl)->get(), cached->get());

  ASSERT_TRUE(f_->ctx.client->Delete(kBackupStorageLocations, "velero", "gone").ok());
  auto result = r.Reconcile("gone", {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, 0ms);
  EXPECT_THAT(Exposition(), Not(HasSubstr("location=\"gone\"")));
  auto rebuilt = f_->stores->ForLocation(*bsl);
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_NE(rebuilt->get(), cached->get()) << "the cached store was forgotten";
}

TEST_F(BslReconcilerTest, UnreachableStoreIsUnavailableWithoutTheCredential) {
  const std::string creds =
      "[default]\naws_access_key_id=AKIDBSLTEST\naws_secret_access_key=VerySecretKey42\n";
  json::value secret = {{"apiVersion", "v1"},
                        {"kind", "Secret"},
                        {"metadata", {{"name", "bsl-creds"}, {"namespace", "velero"}}},
                        {"data", {{"cloud", absl::Base64Escape(creds)}}}};
  ASSERT_TRUE(f_->Create(kSecrets, secret).ok());
  json::value loc = {{"apiVersion", "velero.io/v1"},
                     {"kind", "BackupStorageLocation"},
                     {"metadata", {{"name", "unreachable"}, {"namespace", "velero"}}},
                     {"spec",
                      {{"provider", "aws"},
                       {"objectStorage", {{"bucket", "b"}}},
                       {"credential", {{"name", "bsl-creds"}, {"key", "cloud"}}},
                       {"config", {{"region", "us-east-1"}, {"s3Url", "http://127.0.0.1:9"}}}}}};
  ASSERT_TRUE(f_->Create(kBackupStorageLocations, loc).ok());
  BackupStorageLocationReconciler r(f_->ctx);
  auto result = r.Reconcile("unreachable", {});
  ASSERT_TRUE(result.ok()) << result.status();
  json::value bsl = Get("unreachable");
  EXPECT_EQ(Str(bsl, {"status", "phase"}), "Unavailable");
  const std::string message = Str(bsl, {"status", "message"});
  EXPECT_THAT(message, HasSubstr("\"unreachable\" is unavailable"));
  EXPECT_THAT(message, Not(HasSubstr("VerySecretKey42")));
  EXPECT_THAT(message, Not(HasSubstr("AKIDBSLTEST")));
}

TEST_F(BslReconcilerTest, MissingCredentialSecretIsUnavailableNamingIt) {
  json::value loc = {{"apiVersion", "velero.io/v1"},
                     {"kind", "BackupStorageLocation"},
                     {"metadata", {{"name", "nosecret"}, {"namespace", "velero"}}},
                     {"spec",
                      {{"provider", "aws"},
                       {"objectStorage", {{"bucket", "b"}}},
                       {"credential", {{"name", "absent-secret"}, {"key", "cloud"}}},
                       {"config", {{"region", "us-east-1"}}}}}};
  ASSERT_TRUE(f_->Create(kBackupStorageLocations, loc).ok());
  BackupStorageLocationReconciler r(f_->ctx);
  ASSERT_TRUE(r.Reconcile("nosecret", {}).ok());
  json::value bsl = Get("nosecret");
  EXPECT_EQ(Str(bsl, {"status", "phase"}), "Unavailable");
  EXPECT_THAT(Str(bsl, {"status", "message"}), HasSubstr("absent-secret"));
}

TEST_F(BslReconcilerTest, MissingLocationIsNothingToDo) {
  BackupStorageLocationReconciler r(f_->ctx);
  auto result = r.Reconcile("never-existed", {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, 0ms);
}

}  // namespace
}  // namespace lifeboat::controller
