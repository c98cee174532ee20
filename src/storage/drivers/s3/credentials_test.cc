// Credentials and config parsing for the S3 and GCS drivers.

#include "src/storage/drivers/s3/credentials.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/storage/drivers/s3/checksum.h"
#include "src/storage/drivers/s3/s3_object_store.h"
#include "src/storage/drivers/s3/s3_settings.h"

namespace lifeboat::storage::s3 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lifeboat-s3-creds-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  DriverParams Params(Config config, std::map<std::string, std::string> env = {}) {
    DriverParams p;
    p.config = std::move(config);
    p.env = [env](std::string_view name) -> std::optional<std::string> {
      auto it = env.find(std::string(name));
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    return p;
  }

  std::filesystem::path dir_;
};

TEST_F(CredentialsTest, ReadsProfileFromConfigFileWithSessionToken) {
  std::string file = Write("cloud",
                           "[default]\naws_access_key_id=AKDEFAULT\naws_secret_access_key=SKDEF\n"
                           "# comment\n[profile backup]\n aws_access_key_id = AKBACKUP \n"
                           "aws_secret_access_key=SKBACKUP\naws_session_token=TOKEN\n");
  auto creds = LoadAwsCredentials(Params({{"credentialsFile", file}, {"profile", "backup"}}));
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->access_key_id, "AKBACKUP");
  EXPECT_EQ(creds->secret_access_key, "SKBACKUP");
  EXPECT_EQ(creds->session_token, "TOKEN");

  auto def = LoadAwsCredentials(Params({}, {{"AWS_SHARED_CREDENTIALS_FILE", file}}));
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->access_key_id, "AKDEFAULT");
  EXPECT_EQ(def->session_token, "");

  auto env_profile = LoadAwsCredentials(
      Params({}, {{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "backup"}}));
  ASSERT_TRUE(env_profile.ok());
  EXPECT_EQ(env_profile->access_key_id, "AKBACKUP");
}

TEST_F(CredentialsTest, MissingKeyNamesFileAndKeyButNotValues) {
  std::string file = Write("cloud", "[default]\naws_access_key_id=AKVISIBLEVALUE\n");
  auto creds = LoadAwsCredentials(Params({{"credentialsFile", file}}));
  ASSERT_EQ(creds.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(creds.status().message(), HasSubstr("aws_secret_access_key missing"));
  EXPECT_THAT(creds.status().message(), HasSubstr(file));
  EXPECT_THAT(creds.status().message(), Not(HasSubstr("AKVISIBLEVALUE")));

  auto profile = LoadAwsCredentials(Params({{"credentialsFile", file}, {"profile", "nope"}}));
  EXPECT_EQ(profile.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(profile.status().message(), HasSubstr("profile \"nope\" not found"));

  auto missing = LoadAwsCredentials(Params({{"credentialsFile", file + ".missing"}}));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr(file + ".missing"));
}

TEST_F(CredentialsTest, EnvironmentFallback) {
  auto creds = LoadAwsCredentials(Params(
      {},
      {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_SESSION_TOKEN", "T"}}));
  ASSERT_TRUE(creds.ok());
  EXPECT_EQ(creds->session_token, "T");
  auto half = LoadAwsCredentials(Params({}, {{"AWS_ACCESS_KEY_ID", "SECRETISH"}}));
  EXPECT_EQ(half.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(half.status().message(), HasSubstr("AWS_SECRET_ACCESS_KEY missing"));
  EXPECT_THAT(half.status().message(), Not(HasSubstr("SECRETISH")));
  auto none = LoadAwsCredentials(Params({}, {}));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CredentialsTest, GcsHmacFileFormatsAndServiceAccountRefused) {
  std::string env_file =
      Write("hmac", "GOOGLE_HMAC_ACCESS_ID=GOOG1ID\nGOOGLE_HMAC_SECRET=\"s3cr3t\"\n");
  auto creds = LoadGcsHmacCredentials(Params({{"credentialsFile", env_file}}));
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->access_key_id, "GOOG1ID");
  EXPECT_EQ(creds->secret_access_key, "s3cr3t");

  std::string ini = Write("ini", "[default]\naws_access_key_id=GOOG2\naws_secret_access_key=x\n");
  auto aws_style = LoadGcsHmacCredentials(Params({}, {{"GOOGLE_APPLICATION_CREDENTIALS", ini}}));
  ASSERT_TRUE(aws_style.ok()) << aws_style.status();
  EXPECT_EQ(aws_style->access_key_id, "GOOG2");

  std::string sa = Write("sa.json", R"({"type": "service_account", "private_key": "KEYDATA"})");
  auto refused = LoadGcsHmacCredentials(Params({{"credentialsFile", sa}}));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("HMAC"));
  EXPECT_THAT(refused.status().message(), HasSubstr("service_account"));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("KEYDATA")));

  std::string partial = Write("partial", "GOOGLE_HMAC_ACCESS_ID=GOOG1ID\n");
  auto missing = LoadGcsHmacCredentials(Params({{"credentialsFile", partial}}));
  EXPECT_THAT(missing.status().message(), HasSubstr("GOOGLE_HMAC_SECRET missing from"));
}

TEST_F(CredentialsTest, AwsSettingsValidation) {
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", "AK"},
                                            {"AWS_SECRET_ACCESS_KEY", "SK"}};
  auto code = [&](Config c) { return ParseAwsSettings(Params(std::move(c), env)).status(); };
  EXPECT_TRUE(code({{"region", "eu-west-1"}}).ok());
  Status unknown = code({{"region", "x"}, {"s3url", "http://a"}});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.message(), HasSubstr("s3url"));
  EXPECT_THAT(code({{"s3Url", "ftp://x"}}).message(), HasSubstr("s3Url"));
  EXPECT_THAT(code({{"s3ForcePathStyle", "yes"}}).message(), HasSubstr("s3ForcePathStyle"));
  EXPECT_THAT(code({{"checksumAlgorithm", "MD5"}}).message(), HasSubstr("checksumAlgorithm"));
  EXPECT_THAT(code({{"tagging", "=v"}}).message(), HasSubstr("tagging"));
  EXPECT_THAT(code({{"partSizeInBytes", "1024"}}).message(), HasSubstr("partSizeInBytes"));
  EXPECT_THAT(code({{"serverSideEncryption", "AES256"}, {"kmsKeyId", "k"}}).message(),
              HasSubstr("mutually exclusive"));
  EXPECT_THAT(code({{"caCert", "not pem"}}).message(), HasSubstr("caCert"));

  auto s = ParseAwsSettings(Params({{"s3Url", "http://127.0.0.1:9000/base/"},
                                    {"s3ForcePathStyle", "true"},
                                    {"publicUrl", "https://public.example.com"},
                                    {"kmsKeyId", "alias/k"},
                                    {"checksumAlgorithm", ""},
                                    {"tagging", "b=2&a=x y"}},
                                   env));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->endpoint.host, "127.0.0.1:9000");
  EXPECT_EQ(s->endpoint.base_path, "/base");
  EXPECT_EQ(s->region, "us-east-1");
  EXPECT_TRUE(s->path_style);
  EXPECT_EQ(s->public_endpoint.host, "public.example.com");
  EXPECT_EQ(s->server_side_encryption, "aws:kms");
  EXPECT_EQ(s->checksum, ChecksumAlgorithm::kNone);
  EXPECT_EQ(s->tagging, "a=x%20y&b=2");
}

TEST_F(CredentialsTest, SseCustomerKeyMustBe32Bytes) {
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", "AK"},
                                            {"AWS_SECRET_ACCESS_KEY", "SK"}};
  std::string short_key = Write("short", "0123456789");
  auto bad = ParseAwsSettings(Params({{"customerKeyEncryptionFile", short_key}}, env));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("exactly 32 bytes"));
  std::string key = Write("key", std::string(32, 'k'));
  auto ok = ParseAwsSettings(Params({{"customerKeyEncryptionFile", key}}, env));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->sse_customer_key.size(), 32u);
}

TEST_F(CredentialsTest, GcsSettings) {
  std::string file = Write("hmac", "GOOGLE_HMAC_ACCESS_ID=GOOG1\nGOOGLE_HMAC_SECRET=s\n");
  auto s = ParseGcsSettings(Params({{"credentialsFile", file}, {"kmsKeyName", "projects/p/k"}}));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->endpoint.scheme, "https");
  EXPECT_EQ(s->endpoint.host, "storage.googleapis.com");
  EXPECT_EQ(s->region, "auto");
  EXPECT_TRUE(s->path_style);
  EXPECT_EQ(s->checksum, ChecksumAlgorithm::kNone);
  auto bad = ParseGcsSettings(Params({{"credentialsFile", file}, {"region", "x"}}));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  auto factory = NewGcsObjectStore(Params({{"credentialsFile", file}}));
  EXPECT_TRUE(factory.ok()) << factory.status();
}

// Checksums of "123456789", the standard check input.
TEST(ChecksumTest, KnownValues) {
  EXPECT_EQ(ComputeChecksum(ChecksumAlgorithm::kCrc32, "123456789"), "y/Q5Jg==");   // cbf43926
  EXPECT_EQ(ComputeChecksum(ChecksumAlgorithm::kCrc32c, "123456789"), "4waSgw==");  // e3069283
  EXPECT_EQ(ComputeChecksum(ChecksumAlgorithm::kSha1, ""), "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
  EXPECT_EQ(ComputeChecksum(ChecksumAlgorithm::kSha256, ""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(ChecksumHeader(ChecksumAlgorithm::kCrc32c), "x-amz-checksum-crc32c");
  EXPECT_EQ(ComputeChecksum(ChecksumAlgorithm::kNone, "x"), "");
}

}  // namespace
}  // namespace lifeboat::storage::s3

namespace lifeboat::storage::s3 {
namespace {

TEST_F(CredentialsTest, RegistryCreatesAwsAndGcpDrivers) {
  auto aws = NewObjectStore("velero.io/aws",
                            Params({{"region", "eu-west-1"}},
                                   {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}}));
  EXPECT_TRUE(aws.ok()) << aws.status();
  std::string sa = Write("sa.json", R"({"type": "service_account"})");
  auto gcp = NewObjectStore("gcp", Params({{"credentialsFile", sa}}));
  EXPECT_EQ(gcp.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(gcp.status().message(), HasSubstr("provider gcp"));
  auto known = KnownProviders();
  EXPECT_THAT(known, ::testing::IsSupersetOf({"aws", "gcp"}));
}

}  // namespace
}  // namespace lifeboat::storage::s3
