// Unit tests of the Azure driver's configuration and signing: credentials files, cloud names,
// Shared Key strings-to-sign and SAS tokens. Hermetic: no network.

#include "src/storage/drivers/azure/azure_auth.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/storage/registry.h"
#include "src/storage/drivers/azure/azure_config.h"
#include "src/storage/drivers/azure/azure_object_store.h"

namespace lifeboat::storage::azure {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDevKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

std::chrono::system_clock::time_point Utc(int64_t unix_seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    path_ = std::filesystem::temp_directory_path() /
            ("azure-creds-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

EnvLookup Env(std::map<std::string, std::string> values) {
  return [values](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ParseDotEnvTest, ReadsGodotenvSyntax) {
  auto env = ParseDotEnv(
      "# comment\n"
      "AZURE_SUBSCRIPTION_ID=sub-1\n"
      "export AZURE_TENANT_ID = tenant-1 # trailing comment\n"
      "AZURE_CLIENT_SECRET='s3cr#t value'\n"
      "AZURE_CLIENT_ID=\"line1\\nline2\"\n"
      "AZURE_RESOURCE_GROUP: rg-yaml-style\r\n"
      "\n"
      "EMPTY=\n",
      "/credentials/cloud");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->at("AZURE_SUBSCRIPTION_ID"), "sub-1");
  EXPECT_EQ(env->at("AZURE_TENANT_ID"), "tenant-1");
  EXPECT_EQ(env->at("AZURE_CLIENT_SECRET"), "s3cr#t value");
  EXPECT_EQ(env->at("AZURE_CLIENT_ID"), "line1\nline2");
  EXPECT_EQ(env->at("AZURE_RESOURCE_GROUP"), "rg-yaml-style");
  EXPECT_EQ(env->at("EMPTY"), "");
}

TEST(ParseDotEnvTest, BadLineNamesFileAndLineButNotContent) {
  auto env = ParseDotEnv("A=1\nthis-is-secret-material\n", "/credentials/cloud");
  ASSERT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(env.status().message()), HasSubstr("/credentials/cloud line 2"));
  EXPECT_THAT(std::string(env.status().message()), Not(HasSubstr("secret-material")));
  EXPECT_FALSE(ParseDotEnv("A='unterminated\n", "f").ok());
}

TEST(CloudByNameTest, KnownNamesCaseInsensitive) {
  EXPECT_EQ(CloudByName("")->blob_suffix, "blob.core.windows.net");
  EXPECT_EQ(CloudByName("AzureCloud")->name, "AzurePublicCloud");
  EXPECT_EQ(CloudByName("azurepubliccloud")->authority_host, "https://login.microsoftonline.com/");
  EXPECT_EQ(CloudByName("AzureChinaCloud")->blob_suffix, "blob.core.chinacloudapi.cn");
  EXPECT_EQ(CloudByName("AZURECHINACLOUD")->authority_host, "https://login.chinacloudapi.cn/");
  EXPECT_EQ(CloudByName("AzureUSGovernment")->blob_suffix, "blob.core.usgovcloudapi.net");
  EXPECT_EQ(CloudByName("AzureUSGovernmentCloud")->authority_host,
            "https://login.microsoftonline.us/");
  auto bad = CloudByName("AzureGermanCloud");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("AzureGermanCloud"));
}

TEST(ResolveSettingsTest, SharedKeyFromCredentialsFile) {
  TempFile file("AZURE_STORAGE_ACCOUNT_ACCESS_KEY=" + std::string(kDevKey) +
                "\nAZURE_CLOUD_NAME=AzureChinaCloud\n");
  DriverParams p{.config = {{"storageAccount", "acct"},
                            {"storageAccountKeyEnvVar", "AZURE_STORAGE_ACCOUNT_ACCESS_KEY"},
                            {"credentialsFile", file.path()},
                            {"resourceGroup", "rg"},
                            {"subscriptionId", "sub"},
                            {"blockSizeInBytes", "4194304"}},
                 .env = Env({})};
  auto s = ResolveSettings(p);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->mode, AuthMode::kSharedKey);
  EXPECT_EQ(s->account_key, kDevKey);
  EXPECT_EQ(s->endpoint, "https://acct.blob.core.chinacloudapi.cn");
  EXPECT_EQ(s->block_size, 4194304);
}

TEST(ResolveSettingsTest, MissingKeyNamesFileAndKeyNeverValues) {
  TempFile file("AZURE_TENANT_ID=t\nAZURE_CLIENT_ID=c\nAZURE_CLIENT_SECRET=topsecret\n");
  DriverParams p{.config = {{"storageAccount", "acct"},
                            {"storageAccountKeyEnvVar", "AZURE_STORAGE_ACCOUNT_ACCESS_KEY"},
                            {"credentialsFile", file.path()}},
                 .env = Env({})};
  auto s = ResolveSettings(p);
  ASSERT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.status().message(), "AZURE_STORAGE_ACCOUNT_ACCESS_KEY missing from " + file.path());

  TempFile no_secret("AZURE_TENANT_ID=t\nAZURE_CLIENT_ID=c\n");
  p.config = {{"storageAccount", "acct"}, {"useAAD", "true"}};
  p.env = Env({{"AZURE_CREDENTIALS_FILE", no_secret.path()}});
  s = ResolveSettings(p);
  ASSERT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("AZURE_CLIENT_SECRET missing from " + no_secret.path()));

  p.env = Env({{"AZURE_CREDENTIALS_FILE", "/nonexistent/cloud"}});
  s = ResolveSettings(p);
  ASSERT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("/nonexistent/cloud"));
}

TEST(ResolveSettingsTest, ServicePrincipalWithAuthorityOverride) {
  TempFile file(
      "AZURE_SUBSCRIPTION_ID=s\nAZURE_TENANT_ID=tenant-9\nAZURE_CLIENT_ID=app\n"
      "AZURE_CLIENT_SECRET=pw\nAZURE_RESOURCE_GROUP=rg\nAZURE_CLOUD_NAME=AzureUSGovernment\n");
  DriverParams p{
      .config = {{"storageAccount", "acct"}, {"useAAD", "true"}, {"credentialsFile", file.path()}},
      .env = Env({})};
  auto s = ResolveSettings(p);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->mode, AuthMode::kServicePrincipal);
  EXPECT_EQ(s->token_url, "https://login.microsoftonline.us/tenant-9/oauth2/v2.0/token");
  EXPECT_EQ(s->endpoint, "https://acct.blob.core.usgovcloudapi.net");

  p.env = Env({{"AZURE_AUTHORITY_HOST", "https://127.0.0.1:1234/"}});
  EXPECT_EQ(ResolveSettings(p)->token_url, "https://127.0.0.1:1234/tenant-9/oauth2/v2.0/token");
  p.config["activeDirectoryAuthorityURI"] = "https://login.example/";
  EXPECT_EQ(ResolveSettings(p)->token_url, "https://login.example/tenant-9/oauth2/v2.0/token");
}

TEST(ResolveSettingsTest, WorkloadIdentityFromEnvironment) {
  DriverParams p{.config = {{"storageAccount", "acct"}, {"useAAD", "true"}},
                 .env = Env({{"AZURE_CLIENT_ID", "wi-app"},
                             {"AZURE_TENANT_ID", "wi-tenant"},
                             {"AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/token"}})};
  auto s = ResolveSettings(p);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->mode, AuthMode::kWorkloadIdentity);
  EXPECT_EQ(s->client_id, "wi-app");
  EXPECT_EQ(s->federated_token_file, "/var/run/secrets/token");
  EXPECT_EQ(s->token_url, "https://login.microsoftonline.com/wi-tenant/oauth2/v2.0/token");
}

TEST(ResolveSettingsTest, SasTokenAndEndpointOverride) {
  TempFile file("MY_SAS=?sv=2021-08-06&sig=abc\n");
  DriverParams p{.config = {{"storageAccount", "devstoreaccount1"},
                            {"sasTokenEnvVar", "MY_SAS"},
                            {"storageAccountURI", "http://127.0.0.1:10000/devstoreaccount1/"},
                            {"credentialsFile", file.path()}},
                 .env = Env({})};
  auto s = ResolveSettings(p);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->mode, AuthMode::kSas);
  EXPECT_EQ(s->sas_token, "sv=2021-08-06&sig=abc");
  EXPECT_EQ(s->endpoint, "http://127.0.0.1:10000/devstoreaccount1");
}

TEST(ResolveSettingsTest, VeleroDefaultFetchesTheKeyThroughArm) {
  TempFile file(
      "AZURE_SUBSCRIPTION_ID=sub-1\nAZURE_TENANT_ID=t\nAZURE_CLIENT_ID=c\n"
      "AZURE_CLIENT_SECRET=pw\nAZURE_RESOURCE_GROUP=rg-file\n");
  DriverParams p{.config = {{"storageAccount", "acct"}, {"credentialsFile", file.path()}},
                 .env = Env({})};
  auto s = ResolveSettings(p);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->mode, AuthMode::kSharedKey);
  EXPECT_TRUE(s->key_from_arm);
  EXPECT_EQ(s->subscription_id, "sub-1");
  EXPECT_EQ(s->resource_group, "rg-file");
  EXPECT_EQ(s->resource_manager, "https://management.azure.com");
  p.config["resourceGroup"] = "rg-config";
  EXPECT_EQ(ResolveSettings(p)->resource_group, "rg-config");

  TempFile no_sub("AZURE_TENANT_ID=t\nAZURE_CLIENT_ID=c\nAZURE_CLIENT_SECRET=pw\n");
  p.config = {{"storageAccount", "acct"}, {"credentialsFile", no_sub.path()}};
  EXPECT_THAT(std::string(ResolveSettings(p).status().message()),
              HasSubstr("AZURE_SUBSCRIPTION_ID missing from " + no_sub.path()));
  // A key in the file wins over ARM, as in Velero.
  TempFile with_key("AZURE_STORAGE_KEY=" + std::string(kDevKey) + "\n");
  p.config = {{"storageAccount", "acct"}, {"credentialsFile", with_key.path()}};
  EXPECT_FALSE(ResolveSettings(p)->key_from_arm);
}

TEST(ResolveSettingsTest, BadConfig) {
  DriverParams p{.config = {{"storageAccount", "acct"}, {"bogus", "1"}}, .env = Env({})};
  auto s = ResolveSettings(p);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("bogus"));

  p.config = {{"resourceGroup", "rg"}};
  EXPECT_THAT(std::string(ResolveSettings(p).status().message()), HasSubstr("storageAccount"));

  TempFile file("K=" + std::string(kDevKey) + "\n");
  Config base = {
      {"storageAccount", "a"}, {"storageAccountKeyEnvVar", "K"}, {"credentialsFile", file.path()}};
  p.config = base;
  p.config["blockSizeInBytes"] = "lots";
  EXPECT_THAT(std::string(ResolveSettings(p).status().message()), HasSubstr("blockSizeInBytes"));
  p.config["blockSizeInBytes"] = "0";  // Velero: invalid sizes fall back to the default
  EXPECT_EQ(ResolveSettings(p)->block_size, 1 << 20);
  p.config["blockSizeInBytes"] = "209715200";
  EXPECT_EQ(ResolveSettings(p).status().code(), absl::StatusCode::kInvalidArgument);
  p.config = base;
  p.config["useAAD"] = "maybe";
  p.config.erase("storageAccountKeyEnvVar");
  EXPECT_THAT(std::string(ResolveSettings(p).status().message()), HasSubstr("useAAD"));
  p.config = base;
  p.config["caCert"] = "not a certificate";
  EXPECT_THAT(std::string(ResolveSettings(p).status().message()), HasSubstr("caCert"));
}

// The documented example of "Authorize with Shared Key" (emulator-style path, where the
// account name appears twice). The signature was computed independently with Python's hmac.
TEST(SharedKeyTest, DocumentedStringToSign) {
  SignableRequest r{
      .method = "GET",
      .encoded_path = "/myaccount/mycontainer",
      .query = {{"restype", "container"}, {"comp", "metadata"}, {"timeout", "20"}},
      .headers = {{"x-ms-version", "2009-09-19"}, {"x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT"}}};
  EXPECT_EQ(SharedKeyStringToSign("myaccount", r),
            "GET\n\n\n\n\n\n\n\n\n\n\n\n"
            "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n"
            "/myaccount/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20");
  auto auth = SharedKeyAuthorization("myaccount", kDevKey, r);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(*auth, "SharedKey myaccount:Su5rvibNeMxB7A4I87rOtEgCDtdICsL8v5H+yJs0W+M=");
}

TEST(SharedKeyTest, StandardHeadersLengthAndRepeatedQuery) {
  SignableRequest r{.method = "PUT",
                    .encoded_path = "/c/a%20b",
                    .query = {{"Comp", "block"}, {"blockid", "x+y="}, {"comp", "a"}},
                    .headers = {{"Content-Type", "application/octet-stream"},
                                {"Content-MD5", "md5=="},
                                {"X-MS-Blob-Type", "BlockBlob"},
                                {"x-ms-meta-a", "  spaced"}},
                    .content_length = 42};
  EXPECT_EQ(SharedKeyStringToSign("acct", r),
            "PUT\n\n\n42\nmd5==\napplication/octet-stream\n\n\n\n\n\n\n"
            "x-ms-blob-type:BlockBlob\nx-ms-meta-a:spaced\n"
            "/acct/c/a%20b\nblockid:x+y=\ncomp:a,block");
  r.content_length = 0;  // version 2015-02-21 and later: empty, not "0"
  EXPECT_THAT(SharedKeyStringToSign("acct", r), HasSubstr("PUT\n\n\n\nmd5=="));
}

TEST(SharedKeyTest, BadKeyIsInvalidArgumentWithoutTheKey) {
  auto auth = SharedKeyAuthorization("a", "not*base64!", SignableRequest{.method = "GET"});
  EXPECT_EQ(auth.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(auth.status().message()), Not(HasSubstr("not*base64!")));
}

TEST(SasTest, ServiceSasStringToSignAndToken) {
  BlobSasRequest r{.account = "devstoreaccount1",
                   .container = "c",
                   .blob = "a b",
                   .start = Utc(1767225600),  // 2026-01-01T00:00:00Z
                   .expiry = Utc(1767229200)};
  EXPECT_EQ(ServiceSasStringToSign(r),
            "r\n2026-01-01T00:00:00Z\n2026-01-01T01:00:00Z\n/blob/devstoreaccount1/c/a b\n\n\n"
            "https\n2021-08-06\nb\n\n\n\n\n\n\n");
  auto sas = ServiceSas(r, kDevKey);
  ASSERT_TRUE(sas.ok());
  // Signature computed independently with Python's hmac over the string above.
  EXPECT_EQ(*sas,
            "sv=2021-08-06&spr=https&st=2026-01-01T00%3A00%3A00Z&se=2026-01-01T01%3A00%3A00Z&"
            "sr=b&sp=r&sig=s7KOgIraySbQf%2BEAenztLPSLY9PrVs5C1kaGchVOU6g%3D");
  r.resource = "c";
  r.permissions = "racwdl";
  EXPECT_THAT(ServiceSasStringToSign(r), HasSubstr("racwdl\n"));
  EXPECT_THAT(ServiceSasStringToSign(r), HasSubstr("\n/blob/devstoreaccount1/c\n"));
}

TEST(SasTest, UserDelegationStringToSign) {
  BlobSasRequest r{.account = "acct",
                   .container = "c",
                   .blob = "k",
                   .start = Utc(1767225600),
                   .expiry = Utc(1767229200),
                   .protocol = "https,http"};
  UserDelegationKey k{.object_id = "oid",
                      .tenant_id = "tid",
                      .start = "S",
                      .expiry = "E",
                      .service = "b",
                      .version = "2021-08-06",
                      .value = kDevKey};
  EXPECT_EQ(UserDelegationSasStringToSign(r, k),
            "r\n2026-01-01T00:00:00Z\n2026-01-01T01:00:00Z\n/blob/acct/c/k\n"
            "oid\ntid\nS\nE\nb\n2021-08-06\n\n\n\n\nhttps,http\n2021-08-06\nb\n\n\n\n\n\n\n");
  auto sas = UserDelegationSas(r, k);
  ASSERT_TRUE(sas.ok());
  EXPECT_THAT(*sas, HasSubstr("skoid=oid&sktid=tid&skt=S&ske=E&sks=b&skv=2021-08-06"));
}

TEST(RedactTest, RemovesSignatures) {
  EXPECT_EQ(RedactSignatures("GET /c/b?sv=1&sig=abc%2Bdef&se=2 failed"),
            "GET /c/b?sv=1&sig=REDACTED&se=2 failed");
}

TEST(FormatTest, Times) {
  EXPECT_EQ(FormatRfc1123(Utc(1255297753)), "Sun, 11 Oct 2009 21:49:13 GMT");
  EXPECT_EQ(FormatIso8601(Utc(1255297753)), "2009-10-11T21:49:13Z");
  EXPECT_EQ(UrlEncode("a b/é+", true), "a%20b/%C3%A9%2B");
}

TEST(FactoryTest, RejectsBadConfigBeforeAnyRequest) {
  auto store = NewAzureBlobObjectStore(DriverParams{.config = {}, .env = Env({})});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FactoryTest, RegisteredUnderVeleroNames) {
  TempFile file("AZURE_STORAGE_ACCOUNT_ACCESS_KEY=" + std::string(kDevKey) + "\n");
  DriverParams p{.config = {{"storageAccount", "acct"},
                            {"storageAccountKeyEnvVar", "AZURE_STORAGE_ACCOUNT_ACCESS_KEY"},
                            {"credentialsFile", file.path()}},
                 .env = Env({})};
  EXPECT_TRUE(NewObjectStore("azure", p).ok());
  EXPECT_TRUE(NewObjectStore("velero.io/azure", p).ok());
  p.config.erase("storageAccount");
  auto bad = NewObjectStore("velero.io/azure", p);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("storageAccount"));
}

}  // namespace
}  // namespace lifeboat::storage::azure
