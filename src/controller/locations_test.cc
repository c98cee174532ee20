#include "lifeboat/controller/locations.h"

#include <absl/strings/escaping.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/controller/kinds.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAwsCredentials[] =
    "[default]\naws_access_key_id=AKIDLOCATIONSTEST\naws_secret_access_key=S3cr3tValue123\n";

json::value Secret(const std::string& name, const json::object& plain_data) {
  json::object data;
  for (const auto& [k, v] : plain_data) data[k] = absl::Base64Escape(std::string(v.as_string()));
  return json::object{{"apiVersion", "v1"},
                      {"kind", "Secret"},
                      {"metadata", {{"name", name}, {"namespace", "velero"}}},
                      {"data", std::move(data)}};
}

// An "aws" location (no network is touched until the store is used) with a credential.
json::value AwsLocation(const std::string& name, const std::string& secret,
                        const std::string& key) {
  return json::object{{"apiVersion", "velero.io/v1"},
                      {"kind", "BackupStorageLocation"},
                      {"metadata", {{"name", name}, {"namespace", "velero"}}},
                      {"spec",
                       {{"provider", "aws"},
                        {"objectStorage", {{"bucket", "bucket-aws"}}},
                        {"credential", {{"name", secret}, {"key", key}}},
                        {"config", {{"region", "us-east-1"}, {"s3Url", "http://127.0.0.1:9"}}}}}};
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LocationsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto f = testing::ServerFixture::Start();
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = f->release();
  }
  static void TearDownTestSuite() {
    delete f_;
    f_ = nullptr;
  }
  static testing::ServerFixture* f_;
};

testing::ServerFixture* LocationsTest::f_ = nullptr;

TEST_F(LocationsTest, LocalLocationGivesAWorkingStore) {
  ASSERT_TRUE(f_->CreateLocalLocation("local", "bucket-local", false).ok());
  auto loc = f_->stores->Get("local");
  ASSERT_TRUE(loc.ok()) << loc.status();
  EXPECT_EQ(loc->bsl.metadata.name, "local");
  EXPECT_FALSE(loc->read_only());
  ASSERT_TRUE(loc->store->Validate().ok());
  auto contents = StringSource("tarball");
  storage::BackupUpload upload;
  upload.name = "b1";
  upload.metadata_json = R"({"metadata":{"name":"b1"}})";
  upload.contents = contents.get();
  ASSERT_TRUE(loc->store->PutBackup(upload).ok());
  auto listed = loc->store->ListBackups();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(*listed, std::vector<std::string>{"b1"});
  EXPECT_TRUE(
      fs::exists(f_->bucket_root() / "bucket-local" / "backups" / "b1" / "velero-backup.json"));
}

TEST_F(LocationsTest, MissingLocationIsNotFound) {
  auto loc = f_->stores->Get("no-such-location");
  EXPECT_TRUE(absl::IsNotFound(loc.status())) << loc.status();
  EXPECT_THAT(std::string(loc.status().message()), HasSubstr("no-such-location"));
}

TEST_F(LocationsTest, CredentialIsWrittenPrivatelyAndCachedUntilTheSecretChanges) {
  ASSERT_TRUE(f_->Create(kSecrets, Secret("cloud-credentials", {{"cloud", kAwsCredentials}})).ok());
  ASSERT_TRUE(
      f_->Create(kBackupStorageLocations, AwsLocation("aws", "cloud-credentials", "cloud")).ok());
  auto first = f_->stores->Get("aws");
  ASSERT_TRUE(first.ok()) << first.status();

  const fs::path file = f_->dir() / "credentials" / "aws" / "cloud";
  ASSERT_TRUE(fs::exists(file)) << file;
  EXPECT_EQ(ReadFile(file), kAwsCredentials);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(file.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto again = f_->stores->Get("aws");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->store.get(), first->store.get()) << "unchanged location and secret: cached";

  // A rotated secret (new resourceVersion) rebuilds the store and rewrites the file.
  const std::string rotated =
      "[default]\naws_access_key_id=AKIDROTATED\naws_secret_access_key=Rotated456\n";
  json::object patch = {{"data", {{"cloud", absl::Base64Escape(rotated)}}}};
  ASSERT_TRUE(MergePatch(*f_->ctx.client, kSecrets, "velero", "cloud-credentials", patch).ok());
  auto rebuilt = f_->stores->Get("aws");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_NE(rebuilt->store.get(), first->store.get());
  EXPECT_EQ(ReadFile(file), rotated);
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Forget drops the cached store.
  f_->stores->Forget("aws");
  auto after_forget = f_->stores->Get("aws");
  ASSERT_TRUE(after_forget.ok()) << after_forget.status();
  EXPECT_NE(after_forget->store.get(), rebuilt->store.get());
}

TEST_F(LocationsTest, MissingSecretIsFailedPreconditionNamingIt) {
  ASSERT_TRUE(
      f_->Create(kBackupStorageLocations, AwsLocation("aws-nosecret", "absent-secret", "cloud"))
          .ok());
  auto loc = f_->stores->Get("aws-nosecret");
  EXPECT_TRUE(absl::IsFailedPrecondition(loc.status())) << loc.status();
  EXPECT_THAT(std::string(loc.status().message()), HasSubstr("absent-secret"));
}

TEST_F(LocationsTest, MissingKeyIsFailedPreconditionNamingSecretAndKeyButNoValue) {
  ASSERT_TRUE(f_->Create(kSecrets, Secret("wrong-key", {{"other", "TopSecretValue987"}})).ok());
  ASSERT_TRUE(
      f_->Create(kBackupStorageLocations, AwsLocation("aws-nokey", "wrong-key", "cloud")).ok());
  auto loc = f_->stores->Get("aws-nokey");
  ASSERT_TRUE(absl::IsFailedPrecondition(loc.status())) << loc.status();
  const std::string message(loc.status().message());
  EXPECT_THAT(message, HasSubstr("wrong-key"));
  EXPECT_THAT(message, HasSubstr("cloud"));
  EXPECT_THAT(message, Not(HasSubstr("TopSecretValue987")));
  EXPECT_THAT(message, Not(HasSubstr(absl::Base64Escape("TopSecretValue987"))));
}

TEST_F(LocationsTest, BadCredentialContentNeverAppearsInTheError) {
  // A credential the driver cannot use: its error may name the file, never the content.
  ASSERT_TRUE(f_->Create(kSecrets, Secret("garbage", {{"cloud", "NotAnIniFileSecretXYZ"}})).ok());
  ASSERT_TRUE(
      f_->Create(kBackupStorageLocations, AwsLocation("aws-garbage", "garbage", "cloud")).ok());
  auto loc = f_->stores->Get("aws-garbage");
  ASSERT_FALSE(loc.ok()) << "a credentials file without a [default] profile";
  EXPECT_THAT(std::string(loc.status().message()), Not(HasSubstr("NotAnIniFileSecretXYZ")));
}

TEST_F(LocationsTest, UnknownProviderIsInvalidArgument) {
  json::value bsl = {
      {"apiVersion", "velero.io/v1"},
      {"kind", "BackupStorageLocation"},
      {"metadata", {{"name", "unknown-provider"}, {"namespace", "velero"}}},
      {"spec", {{"provider", "no-such-cloud"}, {"objectStorage", {{"bucket", "b"}}}}}};
  ASSERT_TRUE(f_->Create(kBackupStorageLocations, bsl).ok());
  auto loc = f_->stores->Get("unknown-provider");
  EXPECT_TRUE(absl::IsInvalidArgument(loc.status())) << loc.status();
  EXPECT_THAT(std::string(loc.status().message()), HasSubstr("no-such-cloud"));
  EXPECT_THAT(std::string(loc.status().message()), HasSubstr("unknown-provider"));
}

TEST_F(LocationsTest, ReadOnlyLocationRefusesWrites) {
  ASSERT_TRUE(f_->CreateLocalLocation("readonly", "bucket-ro", false).ok());
  json::object patch = {{"spec", {{"accessMode", "ReadOnly"}}}};
  ASSERT_TRUE(
      MergePatch(*f_->ctx.client, kBackupStorageLocations, "velero", "readonly", patch).ok());
  auto loc = f_->stores->Get("readonly");
  ASSERT_TRUE(loc.ok()) << loc.status();
  EXPECT_TRUE(loc->read_only());
  auto contents = StringSource("tarball");
  storage::BackupUpload upload;
  upload.name = "b1";
  upload.metadata_json = R"({"metadata":{"name":"b1"}})";
  upload.contents = contents.get();
  Status put = loc->store->PutBackup(upload);
  EXPECT_FALSE(put.ok());
  EXPECT_THAT(std::string(put.message()), HasSubstr("readonly"));
  EXPECT_FALSE(fs::exists(f_->bucket_root() / "bucket-ro" / "backups" / "b1"));
  auto listed = loc->store->ListBackups();
  EXPECT_TRUE(listed.ok()) << "reads still work: " << listed.status();
}

TEST_F(LocationsTest, DefaultLocationNameIsTheFirstMarkedDefault) {
  // Every other test creates non-default locations.
  auto none = f_->stores->DefaultLocationName();
  EXPECT_TRUE(absl::IsNotFound(none.status())) << none.status();
  ASSERT_TRUE(f_->CreateLocalLocation("zeta-default", "bucket-z", true).ok());
  auto one = f_->stores->DefaultLocationName();
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one, "zeta-default");
  ASSERT_TRUE(f_->CreateLocalLocation("alpha-default", "bucket-a", true).ok());
  auto two = f_->stores->DefaultLocationName();
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(*two, "alpha-default");
}

}  // namespace
}  // namespace lifeboat::controller
