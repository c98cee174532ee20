// Integration tests of the Azure Blob driver against Azurite (started by the test on a free
// loopback port): the shared conformance suite with Shared Key, SAS, service-principal and
// workload-identity authentication, and driver-specific cases (error codes, token caching and
// refresh, SAS expiry, user delegation SAS).

#include "src/storage/drivers/azure/azure_object_store.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/clock.h"
#include "src/storage/drivers/azure/azure_strings.h"
#include "src/storage/drivers/azure/azurite_fixture.h"
#include "src/storage/testing/object_store_conformance.h"

namespace lifeboat::storage::azure {
namespace {

using storage::testing::ConformanceParam;
using storage::testing::ConformanceTarget;
using storage::testing::ObjectStoreConformanceTest;
using testing::Azurite;
using ::testing::HasSubstr;
using testing::kDevAccount;
using testing::kDevKey;
using ::testing::Not;
using testing::TestCert;
using testing::TokenServer;

constexpr char kSecret[] = "sp-secret-value-7f3a";
constexpr char kAssertion[] = "federated.jwt.assertion-1";

// Emulators and token endpoints shared by every test of this binary, started on first use and
// stopped by the gtest environment at the end.
struct Shared {
  std::mutex mu;
  std::string dir;
  std::unique_ptr<Azurite> plain;  // HTTP, Shared Key and SAS
  std::optional<TestCert> cert;
  std::unique_ptr<Azurite> tls;  // HTTPS + --oauth basic
  std::unique_ptr<TokenServer> tokens;
  Status error;
};

Shared& S() {
  static Shared* s = new Shared();
  return *s;
}

class AzuriteEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    std::lock_guard<std::mutex> l(S().mu);
    S().tokens.reset();
    S().plain.reset();
    S().tls.reset();
    std::error_code ec;
    if (!S().dir.empty()) std::filesystem::remove_all(S().dir, ec);
  }
};
[[maybe_unused]] auto* const kEnv = ::testing::AddGlobalTestEnvironment(new AzuriteEnvironment);

std::string TempDir() {
  std::lock_guard<std::mutex> l(S().mu);
  if (S().dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lifeboat-azure-XXXXXX").string();
    S().dir = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  return S().dir;
}

StatusOr<Azurite*> PlainAzurite() {
  TempDir();
  std::lock_guard<std::mutex> l(S().mu);
  if (!S().plain) {
    LIFEBOAT_ASSIGN_OR_RETURN(S().plain, Azurite::Start());
  }
  return S().plain.get();
}

// The HTTPS/OAuth Azurite, its certificate and a token endpoint accepting kSecret/kAssertion.
StatusOr<Azurite*> OAuthAzurite() {
  std::string dir = TempDir();
  std::lock_guard<std::mutex> l(S().mu);
  if (!S().cert) {
    LIFEBOAT_ASSIGN_OR_RETURN(S().cert, testing::MakeTestCert(dir));
  }
  if (!S().tls) {
    LIFEBOAT_ASSIGN_OR_RETURN(S().tls, Azurite::Start(&*S().cert));
  }
  if (!S().tokens) {
    LIFEBOAT_ASSIGN_OR_RETURN(
        S().tokens,
        TokenServer::Start({.client_secret = kSecret, .assertion = kAssertion}, *S().cert));
  }
  return S().tls.get();
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  std::string path = TempDir() + "/" + name;
  std::ofstream(path) << contents;
  return path;
}

EnvLookup Env(std::map<std::string, std::string> values) {
  return [values](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

StatusOr<std::unique_ptr<AzureBlobObjectStore>> MakeStore(const DriverParams& params) {
  LIFEBOAT_ASSIGN_OR_RETURN(AzureSettings settings, ResolveSettings(params));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, AzureBlobObjectStore::Create(settings, params.clock));
  store->set_list_page_size_for_testing(100);  // exercise NextMarker continuation
  return store;
}

StatusOr<std::string> NewContainer(Azurite* az) {
  std::string name = az->NewContainerName();
  LIFEBOAT_RETURN_IF_ERROR(az->CreateContainer(name));
  return name;
}

DriverParams SharedKeyParams(Azurite* az, const std::string& key = kDevKey) {
  std::string file = WriteFile("cloud-" + std::to_string(std::hash<std::string>()(key)),
                               StrCat("AZURE_STORAGE_ACCOUNT_ACCESS_KEY=", key, "\n"));
  return DriverParams{.config = {{"storageAccount", kDevAccount},
                                 {"storageAccountKeyEnvVar", "AZURE_STORAGE_ACCOUNT_ACCESS_KEY"},
                                 {"storageAccountURI", az->endpoint()},
                                 {"credentialsFile", file}},
                      .env = Env({})};
}

// A container SAS (racwdl) for `container`, valid for two hours.
std::string ContainerSas(const std::string& container) {
  auto now = std::chrono::system_clock::now();
  return *ServiceSas({.account = kDevAccount,
                      .container = container,
                      .resource = "c",
                      .permissions = "racwdl",
                      .start = now - std::chrono::minutes(5),
                      .expiry = now + std::chrono::hours(2),
                      .protocol = "https,http"},
                     kDevKey);
}

DriverParams OAuthParams(Azurite* az, const std::string& authority, EnvLookup env = Env({})) {
  std::string file = WriteFile("cloud-sp", StrCat("AZURE_TENANT_ID=", TokenServer::Options().tenant,
                                                  "\nAZURE_CLIENT_ID=lifeboat-test-app\n"
                                                  "AZURE_CLIENT_SECRET=",
                                                  kSecret, "\n"));
  return DriverParams{.config = {{"storageAccount", kDevAccount},
                                 {"useAAD", "true"},
                                 {"storageAccountURI", az->endpoint()},
                                 {"activeDirectoryAuthorityURI", authority},
                                 {"caCert", S().cert->cert_pem},
                                 {"credentialsFile", file}},
                      .env = std::move(env)};
}

StatusOr<ConformanceTarget> Target(Azurite* az, const DriverParams& params) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, MakeStore(params));
  return ConformanceTarget{.store = std::move(store), .bucket = ""};
}

StatusOr<ConformanceTarget> SharedKeyTarget() {
  LIFEBOAT_ASSIGN_OR_RETURN(Azurite * az, PlainAzurite());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string c, NewContainer(az));
  LIFEBOAT_ASSIGN_OR_RETURN(ConformanceTarget t, Target(az, SharedKeyParams(az)));
  t.bucket = c;
  return t;
}

StatusOr<ConformanceTarget> SasTarget() {
  LIFEBOAT_ASSIGN_OR_RETURN(Azurite * az, PlainAzurite());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string c, NewContainer(az));
  std::string file = WriteFile("cloud-sas-" + c, "AZURE_STORAGE_SAS_TOKEN=" + ContainerSas(c));
  DriverParams p{.config = {{"storageAccount", kDevAccount},
                            {"sasTokenEnvVar", "AZURE_STORAGE_SAS_TOKEN"},
                            {"storageAccountURI", az->endpoint()},
                            {"credentialsFile", file}},
                 .env = Env({})};
  LIFEBOAT_ASSIGN_OR_RETURN(ConformanceTarget t, Target(az, p));
  t.bucket = c;
  return t;
}

StatusOr<ConformanceTarget> ServicePrincipalTarget() {
  LIFEBOAT_ASSIGN_OR_RETURN(Azurite * az, OAuthAzurite());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string c, NewContainer(az));
  LIFEBOAT_ASSIGN_OR_RETURN(ConformanceTarget t,
                            Target(az, OAuthParams(az, S().tokens->authority())));
  t.bucket = c;
  return t;
}

StatusOr<ConformanceTarget> WorkloadIdentityTarget() {
  LIFEBOAT_ASSIGN_OR_RETURN(Azurite * az, OAuthAzurite());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string c, NewContainer(az));
  std::string token_file = WriteFile("federated-token", kAssertion);
  DriverParams p{.config = {{"storageAccount", kDevAccount},
                            {"useAAD", "true"},
                            {"storageAccountURI", az->endpoint()},
                            {"caCert", S().cert->cert_pem}},
                 .env = Env({{"AZURE_CLIENT_ID", "lifeboat-test-app"},
                             {"AZURE_TENANT_ID", TokenServer::Options().tenant},
                             {"AZURE_FEDERATED_TOKEN_FILE", token_file},
                             {"AZURE_AUTHORITY_HOST", S().tokens->authority()}})};
  LIFEBOAT_ASSIGN_OR_RETURN(ConformanceTarget t, Target(az, p));
  t.bucket = c;
  return t;
}

INSTANTIATE_TEST_SUITE_P(
    Azurite, ObjectStoreConformanceTest,
    ::testing::Values(
        ConformanceParam{.name = "AzuriteSharedKey",
                         .setup = SharedKeyTarget,
                         .large_object_bytes = 24 << 20,
                         .many_keys = 1100},
        ConformanceParam{.name = "AzuriteSas",
                         .setup = SasTarget,
                         .large_object_bytes = 6 << 20,
                         .many_keys = 250},
        // Azurite's OAuth mode needs HTTPS with our self-signed certificate, which the suite's
        // own fetch does not trust: the user delegation SAS is fetched by a test below.
        ConformanceParam{.name = "AzuriteServicePrincipal",
                         .setup = ServicePrincipalTarget,
                         .large_object_bytes = 6 << 20,
                         .signed_url_fetchable = false,
                         .many_keys = 250},
        ConformanceParam{.name = "AzuriteWorkloadIdentity",
                         .setup = WorkloadIdentityTarget,
                         .large_object_bytes = 3 << 20,
                         .signed_url_fetchable = false,
                         .many_keys = 120}),
    storage::testing::ConformanceParamName);

// Driver-specific cases.

#define SKIP_IF_UNAVAILABLE(expr)                                                 \
  auto az_or = (expr);                                                            \
  if (!az_or.ok() && az_or.status().code() == absl::StatusCode::kUnimplemented) { \
    GTEST_SKIP() << az_or.status().message();                                     \
  }                                                                               \
  ASSERT_TRUE(az_or.ok()) << az_or.status();                                      \
  Azurite* az = *az_or

StatusOr<std::string> Fetch(const std::string& url, const std::string& ca = "") {
  http::ClientOptions o;
  o.ca.data = ca;
  LIFEBOAT_ASSIGN_OR_RETURN(auto client, http::Client::Create(o));
  LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse r, client->Send({.url = url}));
  if (r.status != 200) return absl::UnknownError(StrCat("HTTP ", r.status));
  return r.body;
}

TEST(AzureDriverTest, WrongKeyIsPermissionDeniedWithoutSecrets) {
  SKIP_IF_UNAVAILABLE(PlainAzurite());
  auto c = NewContainer(az);
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LQ==";
  auto store = MakeStore(SharedKeyParams(az, wrong_key));
  ASSERT_TRUE(store.ok()) << store.status();
  Status s = PutString(**store, *c, "k", "v");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  // Azure answers AuthenticationFailed, Azurite AuthorizationFailure.
  EXPECT_THAT(std::string(s.message()),
              ::testing::ContainsRegex("HTTP 403 Auth(entication|orization)Fail"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr(wrong_key)));
}

TEST(AzureDriverTest, BadSasIsPermissionDeniedWithoutSignature) {
  SKIP_IF_UNAVAILABLE(PlainAzurite());
  auto c = NewContainer(az);
  ASSERT_TRUE(c.ok());
  std::string sas = ContainerSas(*c);
  std::string forged = sas.substr(0, sas.find("sig=") + 4) + "Zm9yZ2VkLXNpZ25hdHVyZQ%3D%3D";
  std::string file = WriteFile("cloud-forged", "SAS=" + forged + "\n");
  auto store = MakeStore({.config = {{"storageAccount", kDevAccount},
                                     {"sasTokenEnvVar", "SAS"},
                                     {"storageAccountURI", az->endpoint()},
                                     {"credentialsFile", file}},
                          .env = Env({})});
  ASSERT_TRUE(store.ok());
  Status s = PutString(**store, *c, "k", "v");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("Zm9yZ2Vk")));
}

TEST(AzureDriverTest, DotSegmentsAreRefused) {
  SKIP_IF_UNAVAILABLE(PlainAzurite());
  auto store = MakeStore(SharedKeyParams(az));
  ASSERT_TRUE(store.ok());
  for (const char* key : {"a/../b", "./a", "a/.", ".."}) {
    EXPECT_EQ(PutString(**store, "c", key, "v").code(), absl::StatusCode::kInvalidArgument) << key;
  }
}

TEST(AzureDriverTest, MissingContainerIsFailedPrecondition) {
  SKIP_IF_UNAVAILABLE(PlainAzurite());
  auto store = MakeStore(SharedKeyParams(az));
  ASSERT_TRUE(store.ok());
  std::string out;
  auto sink = StringSink(&out);
  EXPECT_EQ((*store)->Get("nosuchcontainer", "k", *sink).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*store)->Exists("nosuchcontainer", "k").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PutString(**store, "nosuchcontainer", "k", "v").code(),
            absl::StatusCode::kFailedPrecondition);
  auto list = (*store)->ListObjects("nosuchcontainer", "");
  EXPECT_EQ(list.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(list.status().message()), HasSubstr("ContainerNotFound"));
}

TEST(AzureDriverTest, SignedUrlExpiresAfterTtl) {
  SKIP_IF_UNAVAILABLE(PlainAzurite());
  auto c = NewContainer(az);
  ASSERT_TRUE(c.ok());
  FakeClock past(std::chrono::system_clock::now() - std::chrono::hours(2));
  DriverParams p = SharedKeyParams(az);
  p.clock = &past;
  auto store = MakeStore(p);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(PutString(**store, *c, "backups/b1/b1.tar.gz", "tarball").ok());
  auto expired = (*store)->CreateSignedUrl(*c, "backups/b1/b1.tar.gz", std::chrono::minutes(10));
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(Fetch(*expired).ok());
  past.Set(std::chrono::system_clock::now());
  auto fresh = (*store)->CreateSignedUrl(*c, "backups/b1/b1.tar.gz", std::chrono::minutes(10));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(Fetch(*fresh).value_or("<failed>"), "tarball");
}

TEST(AzureDriverTest, SmallBlocksAreUploadedInParallelAndCommittedInOrder) {
  SKIP_IF_UNAVAILABLE(PlainAzurite());
  auto c = NewContainer(az);
  ASSERT_TRUE(c.ok());
  DriverParams p = SharedKeyParams(az);
  p.config["blockSizeInBytes"] = "65536";
  p.config["uploadConcurrency"] = "8";
  auto store = MakeStore(p);
  ASSERT_TRUE(store.ok());
  std::string body;
  for (int i = 0; body.size() < (1 << 20) + 12345; ++i) body += std::to_string(i) + ",";
  ASSERT_TRUE(PutString(**store, *c, "blocks/obj", body).ok());
  std::string out;
  auto sink = StringSink(&out);
  ASSERT_TRUE((*store)->Get(*c, "blocks/obj", *sink).ok());
  EXPECT_EQ(out, body);
}

TEST(AzureDriverTest, ServicePrincipalTokenIsCachedUntilNearExpiry) {
  SKIP_IF_UNAVAILABLE(OAuthAzurite());
  auto tokens = TokenServer::Start({.client_secret = kSecret}, *S().cert);
  ASSERT_TRUE(tokens.ok());
  auto c = NewContainer(az);
  ASSERT_TRUE(c.ok());
  FakeClock clock(std::chrono::system_clock::now());
  DriverParams p = OAuthParams(az, (*tokens)->authority());
  p.clock = &clock;
  auto store = MakeStore(p);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(PutString(**store, *c, "a", "1").ok());
  ASSERT_TRUE(PutString(**store, *c, "b", "2").ok());
  EXPECT_TRUE(*(*store)->Exists(*c, "a"));
  EXPECT_EQ((*tokens)->requests(), 1);
  clock.Advance(std::chrono::minutes(50));  // 10 minutes left: still cached
  EXPECT_TRUE(*(*store)->Exists(*c, "b"));
  EXPECT_EQ((*tokens)->requests(), 1);
  clock.Advance(std::chrono::minutes(6));  // within the 5-minute margin: refreshed
  EXPECT_TRUE(*(*store)->Exists(*c, "b"));
  EXPECT_EQ((*tokens)->requests(), 2);
}

TEST(AzureDriverTest, RejectedTokenIsRefreshedOnce) {
  SKIP_IF_UNAVAILABLE(OAuthAzurite());
  auto tokens = TokenServer::Start({.client_secret = kSecret}, *S().cert);
  ASSERT_TRUE(tokens.ok());
  auto c = NewContainer(az);
  ASSERT_TRUE(c.ok());
  auto store = MakeStore(OAuthParams(az, (*tokens)->authority()));
  ASSERT_TRUE(store.ok());
  (*tokens)->IssueExpiredTokenNext();
  Status s = PutString(**store, *c, "k", "v");  // expired token → 403 → new token → OK
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ((*tokens)->requests(), 2);
}

TEST(AzureDriverTest, WrongClientSecretIsUnauthenticatedWithoutTheSecret) {
  SKIP_IF_UNAVAILABLE(OAuthAzurite());
  auto tokens = TokenServer::Start({.client_secret = "the-right-one"}, *S().cert);
  ASSERT_TRUE(tokens.ok());
  auto c = NewContainer(az);
  ASSERT_TRUE(c.ok());
  auto store = MakeStore(OAuthParams(az, (*tokens)->authority()));
  ASSERT_TRUE(store.ok());
  Status s = PutString(**store, *c, "k", "v");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("invalid_client"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr(kSecret)));
}

TEST(AzureDriverTest, WorkloadIdentityRereadsTheTokenFile) {
  SKIP_IF_UNAVAILABLE(OAuthAzurite());
  auto tokens = TokenServer::Start({.assertion = "assertion-one"}, *S().cert);
  ASSERT_TRUE(tokens.ok());
  auto c = NewContainer(az);
  ASSERT_TRUE(c.ok());
  std::string token_file = WriteFile("wi-token", "assertion-one\n");
  FakeClock clock(std::chrono::system_clock::now());
  DriverParams p{.config = {{"storageAccount", kDevAccount},
                            {"useAAD", "true"},
                            {"storageAccountURI", az->endpoint()},
                            {"caCert", S().cert->cert_pem}},
                 .env = Env({{"AZURE_CLIENT_ID", "lifeboat-test-app"},
                             {"AZURE_TENANT_ID", TokenServer::Options().tenant},
                             {"AZURE_FEDERATED_TOKEN_FILE", token_file},
                             {"AZURE_AUTHORITY_HOST", (*tokens)->authority()}}),
                 .clock = &clock};
  auto store = MakeStore(p);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(PutString(**store, *c, "k", "v").ok());
  // The kubelet rotates the projected token; the next fetch must send the new one.
  WriteFile("wi-token", "assertion-two");
  (*tokens)->SetAssertion("assertion-two");
  clock.Advance(std::chrono::hours(1));
  EXPECT_TRUE(*(*store)->Exists(*c, "k"));
  EXPECT_EQ((*tokens)->requests(), 2);
  // A stale assertion is refused by the token endpoint.
  (*tokens)->SetAssertion("assertion-three");
  clock.Advance(std::chrono::hours(1));
  auto exists = (*store)->Exists(*c, "k");
  EXPECT_EQ(exists.status().code(), absl::StatusCode::kUnauthenticated) << exists.status();
  EXPECT_THAT(std::string(exists.status().message()), Not(HasSubstr("assertion-two")));
}

// Velero's default: neither storageAccountKeyEnvVar nor useAAD, so the account key comes from
// ARM listKeys (once) and requests are signed with Shared Key.
TEST(AzureDriverTest, AccountKeyFromArmListKeys) {
  SKIP_IF_UNAVAILABLE(OAuthAzurite());
  auto tokens = TokenServer::Start({.client_secret = kSecret}, *S().cert);
  ASSERT_TRUE(tokens.ok());
  auto c = NewContainer(az);
  ASSERT_TRUE(c.ok());
  std::string file = WriteFile("cloud-arm", StrCat("AZURE_SUBSCRIPTION_ID=sub-1\nAZURE_TENANT_ID=",
                                                   TokenServer::Options().tenant,
                                                   "\nAZURE_CLIENT_ID=lifeboat-test-app\n"
                                                   "AZURE_CLIENT_SECRET=",
                                                   kSecret, "\n"));
  DriverParams p{.config = {{"storageAccount", kDevAccount},
                            {"resourceGroup", "rg-1"},
                            {"storageAccountURI", az->endpoint()},
                            {"caCert", S().cert->cert_pem},
                            {"credentialsFile", file}},
                 .env = Env({{"AZURE_AUTHORITY_HOST", (*tokens)->authority()},
                             {"AZURE_RESOURCE_MANAGER_ENDPOINT", (*tokens)->authority()}})};
  auto store = MakeStore(p);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(PutString(**store, *c, "arm/a", "via listKeys").ok());
  EXPECT_EQ(GetString(**store, *c, "arm/a").value_or("<failed>"), "via listKeys");
  auto url = (*store)->CreateSignedUrl(*c, "arm/a", std::chrono::minutes(5));
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_THAT(*url, Not(HasSubstr("skoid=")));  // a service SAS signed with the fetched key
  EXPECT_EQ(Fetch(*url, S().cert->cert_pem).value_or("<failed>"), "via listKeys");
  EXPECT_EQ((*tokens)->list_keys_requests(), 1);
  EXPECT_EQ((*tokens)->requests(), 1);

  p.config["resourceGroup"] = "rg-missing";
  auto wrong = MakeStore(p);
  ASSERT_TRUE(wrong.ok());
  Status s = PutString(**wrong, *c, "arm/b", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("ResourceNotFound"));
}

TEST(AzureDriverTest, UserDelegationSasServesTheObject) {
  SKIP_IF_UNAVAILABLE(OAuthAzurite());
  auto c = NewContainer(az);
  ASSERT_TRUE(c.ok());
  auto store = MakeStore(OAuthParams(az, S().tokens->authority()));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(PutString(**store, *c, "backups/b 1/logs.gz", "log data").ok());
  auto url = (*store)->CreateSignedUrl(*c, "backups/b 1/logs.gz", std::chrono::minutes(10));
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_THAT(*url, HasSubstr("skoid="));
  EXPECT_THAT(*url, HasSubstr("spr=https&"));
  auto fetched = Fetch(*url, S().cert->cert_pem);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(*fetched, "log data");
}

}  // namespace
}  // namespace lifeboat::storage::azure
