// RestClient against a real kubesim over HTTPS: CRUD, the error mapping, every kind of
// authentication, retries under injected faults, cancellation and timeouts. The first suite
// (StatusFromResponseTest) is hermetic.

#include "lifeboat/kube/rest_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kubesim/src/pki/pki.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/object.h"
#include "src/kube/kube_test_util.h"
#include "src/kube/testing/kubesim_process.h"

namespace lifeboat::kube {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::KubesimProcess;

constexpr char kConfigMaps[] = "/api/v1/namespaces/default/configmaps";

std::string Msg(const Status& s) { return std::string(s.message()); }

// ---------------------------------------------------------------------------------------------
// Hermetic: the error mapping.

TEST(StatusFromResponseTest, MapsCodesAndKeepsTheKubernetesStatus) {
  const std::string invalid = R"({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\"",
    "reason":"Invalid","code":422,"details":{"name":"Bad_Name","kind":"ConfigMap",
    "causes":[{"reason":"FieldValueInvalid","message":"Invalid value","field":"metadata.name"}]}})";
  Status s = StatusFromResponse(422, invalid, "");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(s), StartsWith("ConfigMap \"Bad_Name\" is invalid: metadata.name"));
  std::optional<ApiError> e = ApiErrorOf(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 422);
  EXPECT_EQ(e->reason, "Invalid");
  ASSERT_EQ(e->causes.size(), 1u);
  EXPECT_EQ(e->causes[0].field, "metadata.name");
  EXPECT_EQ(e->causes[0].reason, "FieldValueInvalid");
  EXPECT_TRUE(e->details.is_object());
  // The payload survives annotation by the layers above.
  EXPECT_TRUE(ApiErrorOf(Annotate(s, "restoring configmaps/default/Bad_Name")).has_value());

  struct Case {
    int http;
    std::string reason;
    absl::StatusCode code;
  };
  for (const Case& c : std::vector<Case>{{400, "BadRequest", absl::StatusCode::kInvalidArgument},
                                         {401, "Unauthorized", absl::StatusCode::kUnauthenticated},
                                         {403, "Forbidden", absl::StatusCode::kPermissionDenied},
                                         {404, "NotFound", absl::StatusCode::kNotFound},
                                         {405, "MethodNotAllowed", absl::StatusCode::kUnimplemented},
                                         {409, "AlreadyExists", absl::StatusCode::kAlreadyExists},
                                         {409, "Conflict", absl::StatusCode::kAborted},
                                         {410, "Expired", absl::StatusCode::kOutOfRange},
                                         {413, "RequestEntityTooLarge", absl::StatusCode::kInvalidArgument},
                                         {415, "UnsupportedMediaType", absl::StatusCode::kInvalidArgument},
                                         {429, "TooManyRequests", absl::StatusCode::kUnavailable},
                                         {500, "InternalError", absl::StatusCode::kUnavailable},
                                         {502, "", absl::StatusCode::kUnavailable},
                                         {503, "ServiceUnavailable", absl::StatusCode::kUnavailable},
                                         {504, "Timeout", absl::StatusCode::kUnavailable},
                                         {501, "", absl::StatusCode::kInternal}}) {
    json::object body{{"kind", "Status"}, {"code", c.http}, {"reason", c.reason},
                      {"message", "m" + std::to_string(c.http)}};
    Status st = StatusFromResponse(c.http, json::serialize(body), "");
    EXPECT_EQ(st.code(), c.code) << c.http << " " << c.reason;
    EXPECT_EQ(Msg(st), "m" + std::to_string(c.http));
  }
}

TEST(StatusFromResponseTest, RetryAfterFromDetailsOrHeader) {
  std::optional<ApiError> e = ApiErrorOf(StatusFromResponse(
      429, R"({"kind":"Status","reason":"TooManyRequests","message":"slow down","details":{"retryAfterSeconds":7}})",
      "3"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->retry_after_seconds, 7);
  e = ApiErrorOf(StatusFromResponse(503, "", "2"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->retry_after_seconds, 2);
  e = ApiErrorOf(StatusFromResponse(503, "", ""));
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->retry_after_seconds.has_value());
}

TEST(StatusFromResponseTest, NonStatusBodiesGetAGenericMessage) {
  Status s = StatusFromResponse(502, "<html>Bad Gateway</html>\n", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Msg(s), HasSubstr("<html>Bad Gateway</html>"));
  s = StatusFromResponse(404, "", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Msg(s), "the server could not find the requested resource");
  EXPECT_EQ(ApiErrorOf(s)->code, 404);
  EXPECT_FALSE(ApiErrorOf(absl::UnavailableError("connection refused")).has_value());
}

// ---------------------------------------------------------------------------------------------
// Against kubesim.

std::unique_ptr<KubesimProcess> StartKubesim(const std::vector<std::string>& flags = {}) {
  auto k = KubesimProcess::Start(flags);
  EXPECT_TRUE(k.ok()) << k.status();
  return k.ok() ? std::move(*k) : nullptr;
}

RestConfig ConfigOf(const KubesimProcess& k, std::string context = "") {
  KubeconfigOptions o;
  o.explicit_path = k.kubeconfig();
  o.context = std::move(context);
  auto config = LoadKubeconfig(o);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : RestConfig{};
}

RestClientOptions FastRetries() {
  RestClientOptions o;
  o.base_backoff = std::chrono::milliseconds(5);
  o.max_backoff = std::chrono::milliseconds(50);
  o.timeout = std::chrono::milliseconds(20'000);
  return o;
}

std::unique_ptr<RestClient> MakeClient(const RestConfig& config,
                                       RestClientOptions options = FastRetries()) {
  auto c = RestClient::Create(config, std::move(options));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

std::string ConfigMapJson(const std::string& name, const std::string& value,
                          const std::string& resource_version = "") {
  json::object meta{{"name", name}};
  if (!resource_version.empty()) meta["resourceVersion"] = resource_version;
  json::object cm{{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"metadata", std::move(meta)},
                  {"data", json::object{{"key", value}}}};
  return json::serialize(cm);
}

RestRequest Get(std::string path) {
  RestRequest r;
  r.path = std::move(path);
  return r;
}

RestRequest WithBody(std::string method, std::string path, std::string body,
                     std::string content_type = "application/json") {
  RestRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

json::object ParseObject(const std::string& body) {
  json::value v = json::parse(body);
  return v.as_object();
}

std::string DataKey(const std::string& body) {
  return std::string(ParseObject(body).at("data").at("key").as_string());
}

class RestClientKubesimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { kubesim_ = StartKubesim().release(); }
  static void TearDownTestSuite() {
    delete kubesim_;
    kubesim_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(kubesim_, nullptr);
    client_ = MakeClient(ConfigOf(*kubesim_));
    ASSERT_NE(client_, nullptr);
  }
  static KubesimProcess* kubesim_;
  std::unique_ptr<RestClient> client_;
};
KubesimProcess* RestClientKubesimTest::kubesim_ = nullptr;

TEST_F(RestClientKubesimTest, CreateGetUpdatePatchDelete) {
  auto created = client_->Do(WithBody("POST", kConfigMaps, ConfigMapJson("crud", "v1")));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->status, 201);
  EXPECT_THAT(created->Header("content-type"), HasSubstr("application/json"));

  auto got = client_->Do(Get(std::string(kConfigMaps) + "/crud"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(DataKey(got->body), "v1");
  std::string rv(ParseObject(got->body).at("metadata").at("resourceVersion").as_string());

  auto updated = client_->Do(
      WithBody("PUT", std::string(kConfigMaps) + "/crud", ConfigMapJson("crud", "v2", rv)));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(DataKey(updated->body), "v2");

  auto patched = client_->Do(WithBody("PATCH", std::string(kConfigMaps) + "/crud",
                                      R"({"data":{"key":"v3"}})", "application/merge-patch+json"));
  ASSERT_TRUE(patched.ok()) << patched.status();
  EXPECT_EQ(DataKey(patched->body), "v3");

  // Query parameters are escaped: a label selector with '=' and ','.
  RestRequest list = Get(kConfigMaps);
  list.query = {{"fieldSelector", "metadata.name=crud"}, {"limit", "10"}};
  auto listed = client_->Do(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(ParseObject(listed->body).at("items").as_array().size(), 1u);

  RestRequest del;
  del.method = "DELETE";
  del.path = std::string(kConfigMaps) + "/crud";
  auto deleted = client_->Do(del);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->status, 200);

  auto gone = client_->Do(Get(std::string(kConfigMaps) + "/crud"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Msg(gone.status()), "configmaps \"crud\" not found");
  std::optional<ApiError> e = ApiErrorOf(gone.status());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 404);
  EXPECT_EQ(e->reason, "NotFound");
}

TEST_F(RestClientKubesimTest, AlreadyExistsAndConflict) {
  ASSERT_TRUE(client_->Do(WithBody("POST", kConfigMaps, ConfigMapJson("dup", "a"))).ok());
  auto again = client_->Do(WithBody("POST", kConfigMaps, ConfigMapJson("dup", "b")));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Msg(again.status()), "configmaps \"dup\" already exists");
  EXPECT_EQ(ApiErrorOf(again.status())->reason, "AlreadyExists");

  auto stale = client_->Do(
      WithBody("PUT", std::string(kConfigMaps) + "/dup", ConfigMapJson("dup", "c", "1")));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted) << stale.status();
  EXPECT_EQ(ApiErrorOf(stale.status())->reason, "Conflict");
  EXPECT_THAT(Msg(stale.status()), HasSubstr("the object has been modified"));
}

TEST_F(RestClientKubesimTest, InvalidKeepsTheCauses) {
  auto bad = client_->Do(WithBody("POST", kConfigMaps, ConfigMapJson("Bad_Name", "x")));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(bad.status()),
              StartsWith("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: "));
  std::optional<ApiError> e = ApiErrorOf(bad.status());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 422);
  EXPECT_EQ(e->reason, "Invalid");
  ASSERT_FALSE(e->causes.empty());
  EXPECT_EQ(e->causes[0].field, "metadata.name");
}

TEST_F(RestClientKubesimTest, BadRequestAndUnsupportedMediaType) {
  auto garbage = client_->Do(WithBody("POST", kConfigMaps, "{not json"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApiErrorOf(garbage.status())->code, 400);

  auto media = client_->Do(
      WithBody("PATCH", std::string(kConfigMaps) + "/x", "{}", "application/x-unknown"));
  ASSERT_FALSE(media.ok());
  EXPECT_EQ(media.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApiErrorOf(media.status())->code, 415);
}

TEST_F(RestClientKubesimTest, StreamingDeliversChunksAndMapsErrors) {
  ASSERT_TRUE(client_->Do(WithBody("POST", kConfigMaps, ConfigMapJson("stream", "s"))).ok());
  std::string streamed;
  RestRequest r = Get(std::string(kConfigMaps) + "/stream");
  r.on_body = [&](std::string_view chunk) {
    streamed.append(chunk);
    return true;
  };
  auto resp = client_->Do(r);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200);
  EXPECT_TRUE(resp->body.empty());
  EXPECT_EQ(DataKey(streamed), "s");

  streamed.clear();
  r.path = std::string(kConfigMaps) + "/no-such";
  resp = client_->Do(r);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Msg(resp.status()), "configmaps \"no-such\" not found");
  EXPECT_TRUE(streamed.empty()) << "an error body must not reach on_body";
}

TEST_F(RestClientKubesimTest, WarningHeadersAreParsed) {
  const std::string crd = R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.example.com"},
    "spec":{"group":"example.com","scope":"Namespaced",
      "names":{"plural":"widgets","singular":"widget","kind":"Widget"},
      "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{
        "type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"integer"}}}}}}}]}})";
  auto made = client_->Do(
      WithBody("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd));
  ASSERT_TRUE(made.ok()) << made.status();
  const std::string widget =
      R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":1,"colour":"red"}})";
  StatusOr<RestResponse> created = absl::UnknownError("not tried");
  for (int i = 0; i < 100; ++i) {  // the new resource is served shortly after the CRD is stored
    created = client_->Do(
        WithBody("POST", "/apis/example.com/v1/namespaces/default/widgets", widget));
    if (created.ok() || created.status().code() != absl::StatusCode::kNotFound) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->warnings, ::testing::ElementsAre("unknown field \"spec.colour\""));
}

TEST_F(RestClientKubesimTest, BadTokenIsUnauthenticatedAfterOneRefresh) {
  struct CountingProvider : CredentialProvider {
    StatusOr<Credential> Get() override {
      ++gets;
      Credential c;
      c.bearer_token = "not-a-valid-token";
      return c;
    }
    void Invalidate() override {}
    void InvalidateRejected(const Credential&) override { ++rejected; }
    std::string Describe() const override { return "counting"; }
    std::atomic<int> gets{0}, rejected{0};
  };
  auto provider = std::make_shared<CountingProvider>();
  auto client = RestClient::Create(ConfigOf(*kubesim_), provider, FastRetries());
  ASSERT_TRUE(client.ok()) << client.status();
  auto r = (*client)->Do(Get(kConfigMaps));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ApiErrorOf(r.status())->code, 401);
  EXPECT_EQ(provider->gets.load(), 2);
  EXPECT_EQ(provider->rejected.load(), 1);
  EXPECT_THAT(Msg(r.status()), ::testing::Not(HasSubstr("not-a-valid-token")));
}

TEST_F(RestClientKubesimTest, ConcurrentRequestsShareOneClient) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string name = "conc-" + std::to_string(t) + "-" + std::to_string(i);
        // Fixed names make the create safe to repeat. (Needed while kubesim's TLS server
        // rejects resumed sessions -- no session id context with SSL_VERIFY_PEER -- which
        // makes libcurl's parallel new connections fail with Unavailable now and then.)
        RestRequest create = WithBody("POST", kConfigMaps, ConfigMapJson(name, "x"));
        create.idempotent = true;
        auto created = client_->Do(create);
        if (!created.ok() && created.status().code() != absl::StatusCode::kAlreadyExists) {
          ADD_FAILURE() << "POST " << name << ": " << created.status();
          continue;
        }
        auto got = client_->Do(Get(std::string(kConfigMaps) + "/" + name));
        if (!got.ok()) {
          ADD_FAILURE() << "GET " << name << ": " << got.status();
          continue;
        }
        ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 80);
}

// ---------------------------------------------------------------------------------------------
// Authorization and client certificates (kubesim with ReadOnlyViewer).

kubesim::ClientCert IssueCert(const KubesimProcess& k, const std::string& user,
                              const std::vector<std::string>& groups) {
  kubesim::Pki pki;
  pki.ca_cert_pem = testing::ReadTextFile(k.data_dir() / "pki" / "ca.crt");
  pki.ca_key_pem = testing::ReadTextFile(k.data_dir() / "pki" / "ca.key");
  auto cert = kubesim::IssueClientCert(pki, user, groups, absl::Hours(1));
  EXPECT_TRUE(cert.ok()) << cert.status();
  return cert.ok() ? *cert : kubesim::ClientCert{};
}

RestConfig WithClientCert(RestConfig config, const kubesim::ClientCert& cert) {
  config.bearer_token.clear();
  config.tls.client_cert_pem = cert.cert_pem;
  config.tls.client_key_pem = cert.key_pem;
  return config;
}

class RestClientAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    kubesim_ = StartKubesim({"--authorization", "ReadOnlyViewer"}).release();
  }
  static void TearDownTestSuite() {
    delete kubesim_;
    kubesim_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(kubesim_, nullptr); }
  static KubesimProcess* kubesim_;
};
KubesimProcess* RestClientAuthTest::kubesim_ = nullptr;

TEST_F(RestClientAuthTest, ViewerMayReadButNotWrite) {
  auto viewer = MakeClient(ConfigOf(*kubesim_, "kubesim-viewer"));
  ASSERT_NE(viewer, nullptr);
  auto listed = viewer->Do(Get(kConfigMaps));
  ASSERT_TRUE(listed.ok()) << listed.status();
  auto created = viewer->Do(WithBody("POST", kConfigMaps, ConfigMapJson("nope", "x")));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(created.status()),
              HasSubstr("User \"kubesim-viewer\" cannot create resource \"configmaps\""));
  EXPECT_EQ(ApiErrorOf(created.status())->reason, "Forbidden");
}

TEST_F(RestClientAuthTest, ImpersonationActsAsTheImpersonatedUser) {
  // The admin impersonates a member of the viewers' group: reads pass, writes are refused in
  // the impersonated user's name.
  RestConfig as_viewer = ConfigOf(*kubesim_);
  as_viewer.impersonate.user = "alice";
  as_viewer.impersonate.groups = {"kubesim:viewers"};
  auto alice = MakeClient(as_viewer);
  ASSERT_NE(alice, nullptr);
  auto listed = alice->Do(Get(kConfigMaps));
  ASSERT_TRUE(listed.ok()) << listed.status();
  auto created = alice->Do(WithBody("POST", kConfigMaps, ConfigMapJson("as-alice", "x")));
  ASSERT_EQ(created.status().code(), absl::StatusCode::kPermissionDenied) << created.status();
  EXPECT_THAT(Msg(created.status()), HasSubstr("User \"alice\" cannot create"));

  // A viewer may not impersonate anyone.
  RestConfig viewer = ConfigOf(*kubesim_, "kubesim-viewer");
  viewer.impersonate.user = "kubesim-admin";
  auto sneaky = MakeClient(viewer);
  ASSERT_NE(sneaky, nullptr);
  auto denied = sneaky->Do(Get(kConfigMaps));
  ASSERT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied) << denied.status();
  EXPECT_THAT(Msg(denied.status()), HasSubstr("cannot impersonate resource \"users\""));
}

TEST_F(RestClientAuthTest, ClientCertificateIdentifiesTheUser) {
  const RestConfig base = ConfigOf(*kubesim_);
  auto admin = MakeClient(WithClientCert(base, IssueCert(*kubesim_, "alice", {"system:masters"})));
  ASSERT_NE(admin, nullptr);
  auto created = admin->Do(WithBody("POST", kConfigMaps, ConfigMapJson("by-cert", "x")));
  ASSERT_TRUE(created.ok()) << created.status();

  auto viewer =
      MakeClient(WithClientCert(base, IssueCert(*kubesim_, "carol", {"kubesim:viewers"})));
  ASSERT_NE(viewer, nullptr);
  ASSERT_TRUE(viewer->Do(Get(std::string(kConfigMaps) + "/by-cert")).ok());
  auto denied = viewer->Do(WithBody("POST", kConfigMaps, ConfigMapJson("by-carol", "x")));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(denied.status()), HasSubstr("User \"carol\""));
}

TEST_F(RestClientAuthTest, UnusableClientCertificateIsInvalidArgument) {
  RestConfig config = ConfigOf(*kubesim_);
  config.tls.client_cert_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  config.tls.client_key_pem = "garbage";
  auto client = RestClient::Create(config);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Exec credential plugins: a shell script that counts its runs.

class ExecPlugin {
 public:
  ExecPlugin() : dir_(testing::MakeTempDir()) {
    testing::WriteTextFile(dir_ / "plugin.sh", R"(#!/bin/sh
d=$(dirname "$0")
n=$(cat "$d/count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$d/count"
if [ -f "$d/out.$n" ]; then cat "$d/out.$n"; else cat "$d/out"; fi
)",
                           0755);
  }
  // What run `n` prints (0: every run without its own file).
  void SetOutput(const std::string& text, int run = 0) {
    testing::WriteTextFile(dir_ / (run == 0 ? std::string("out") : "out." + std::to_string(run)),
                           text);
  }
  static std::string Token(const std::string& token, const std::string& expiry = "") {
    json::object status{{"token", token}};
    if (!expiry.empty()) status["expirationTimestamp"] = expiry;
    return json::serialize(json::object{{"apiVersion", "client.authentication.k8s.io/v1"},
                                        {"kind", "ExecCredential"},
                                        {"status", std::move(status)}});
  }
  static std::string Cert(const kubesim::ClientCert& cert, const std::string& expiry = "") {
    json::object status{{"clientCertificateData", cert.cert_pem},
                        {"clientKeyData", cert.key_pem}};
    if (!expiry.empty()) status["expirationTimestamp"] = expiry;
    return json::serialize(json::object{{"apiVersion", "client.authentication.k8s.io/v1"},
                                        {"kind", "ExecCredential"},
                                        {"status", std::move(status)}});
  }
  int runs() const {
    std::string n = testing::ReadTextFile(dir_ / "count");
    return n.empty() ? 0 : std::stoi(n);
  }
  RestConfig Apply(RestConfig config) const {
    config.bearer_token.clear();
    ExecConfig exec;
    exec.command = (dir_ / "plugin.sh").string();
    exec.api_version = "client.authentication.k8s.io/v1";
    exec.interactive_mode = "Never";
    config.exec = exec;
    return config;
  }

 private:
  std::filesystem::path dir_;
};

TEST_F(RestClientKubesimTest, ExecPluginTokenIsCached) {
  ExecPlugin plugin;
  plugin.SetOutput(ExecPlugin::Token(kubesim_->admin_token()));
  auto client = MakeClient(plugin.Apply(ConfigOf(*kubesim_)));
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 5; ++i) {
    auto r = client->Do(Get(kConfigMaps));
    ASSERT_TRUE(r.ok()) << r.status();
  }
  EXPECT_EQ(plugin.runs(), 1);
}

TEST_F(RestClientKubesimTest, ExecPluginIsRerunOnceAfter401) {
  ExecPlugin plugin;
  plugin.SetOutput(ExecPlugin::Token("revoked-token"), 1);
  plugin.SetOutput(ExecPlugin::Token(kubesim_->admin_token()));
  auto client = MakeClient(plugin.Apply(ConfigOf(*kubesim_)));
  ASSERT_NE(client, nullptr);
  auto r = client->Do(Get(kConfigMaps));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(plugin.runs(), 2);
  ASSERT_TRUE(client->Do(Get(kConfigMaps)).ok());
  EXPECT_EQ(plugin.runs(), 2);
}

TEST_F(RestClientAuthTest, ExecPluginCertificateRotationSwitchesClients) {
  // The first certificate (a viewer) expires; the plugin's next one is an admin's. Time is a
  // FakeClock so that expiry is under the test's control.
  FakeClock clock;  // 2023-11-14T22:13:20Z
  ExecPlugin plugin;
  plugin.SetOutput(
      ExecPlugin::Cert(IssueCert(*kubesim_, "viewer-v1", {"kubesim:viewers"}), "2023-11-14T23:00:00Z"),
      1);
  plugin.SetOutput(ExecPlugin::Cert(IssueCert(*kubesim_, "admin-v2", {"system:masters"})));
  RestClientOptions options = FastRetries();
  options.clock = &clock;
  options.qps = 0;  // no limiter sleeps on the fake clock
  options.timeout = std::chrono::milliseconds(0);
  auto client = MakeClient(plugin.Apply(ConfigOf(*kubesim_)), options);
  ASSERT_NE(client, nullptr);

  auto denied = client->Do(WithBody("POST", kConfigMaps, ConfigMapJson("rotated", "x")));
  ASSERT_FALSE(denied.ok());
  EXPECT_THAT(Msg(denied.status()), HasSubstr("User \"viewer-v1\""));
  EXPECT_EQ(plugin.runs(), 1);

  clock.Advance(std::chrono::hours(2));
  auto created = client->Do(WithBody("POST", kConfigMaps, ConfigMapJson("rotated", "x")));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(plugin.runs(), 2);
}

// ---------------------------------------------------------------------------------------------
// Fault injection.

TEST(RestClientFaultTest, GetsSurviveInjected429And500) {
  auto k = StartKubesim({"--fault-429-rate", "0.5", "--fault-retry-after", "1",
                         "--fault-500-rate", "0.3"});
  ASSERT_NE(k, nullptr);
  RestClientOptions options = FastRetries();
  options.max_retries = 100;  // 80% of attempts fail: 200 * 0.8^101 ~ 3e-8 of any GET failing
  options.qps = 0;  // ~1,000 attempts: the default limiter would pace them at 100/s
  auto client = MakeClient(ConfigOf(*k), options);
  ASSERT_NE(client, nullptr);
  const Clock::TimePoint start = RealClock().Now();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = client->Do(Get(kConfigMaps));
        if (r.ok()) {
          ++ok;
        } else {
          ADD_FAILURE() << r.status();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
  // Retry-After (1 s) is capped by max_backoff (50 ms): ~4 retries per GET cannot take long.
  EXPECT_LT(RealClock().Now() - start, std::chrono::seconds(60));
}

TEST(RestClientFaultTest, RetryAfterIsHonoured) {
  auto k = StartKubesim({"--fault-429-rate", "1.0", "--fault-retry-after", "1"});
  ASSERT_NE(k, nullptr);
  RestClientOptions options = FastRetries();  // base 5 ms: only Retry-After explains a 1 s wait
  options.max_backoff = std::chrono::milliseconds(10'000);
  options.max_retries = 1;
  auto client = MakeClient(ConfigOf(*k), options);
  ASSERT_NE(client, nullptr);
  const Clock::TimePoint start = RealClock().Now();
  auto r = client->Do(Get(kConfigMaps));
  const Clock::Duration elapsed = RealClock().Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Msg(r.status()), StartsWith("giving up after 2 attempts: "));
  EXPECT_EQ(ApiErrorOf(r.status())->code, 429);
  EXPECT_EQ(ApiErrorOf(r.status())->retry_after_seconds, 1);
  EXPECT_GE(elapsed, std::chrono::milliseconds(1000));
  EXPECT_LT(elapsed, std::chrono::milliseconds(5000));
}

TEST(RestClientFaultTest, OnlyIdempotentRequestsAreRetried) {
  auto k = StartKubesim({"--fault-500-rate", "1.0"});
  ASSERT_NE(k, nullptr);
  RestClientOptions options = FastRetries();
  options.max_retries = 3;
  auto client = MakeClient(ConfigOf(*k), options);
  ASSERT_NE(client, nullptr);

  auto post = client->Do(WithBody("POST", kConfigMaps, ConfigMapJson("once", "x")));
  ASSERT_FALSE(post.ok());
  EXPECT_EQ(post.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Msg(post.status()), ::testing::Not(HasSubstr("attempts")));
  EXPECT_THAT(Msg(post.status()), HasSubstr("kubesim fault injection"));

  auto get = client->Do(Get(kConfigMaps));
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Msg(get.status()), StartsWith("giving up after 4 attempts: "));
  EXPECT_EQ(ApiErrorOf(get.status())->code, 500);

  RestRequest idempotent_post = WithBody("POST", kConfigMaps, ConfigMapJson("fixed", "x"));
  idempotent_post.idempotent = true;
  auto retried = client->Do(idempotent_post);
  ASSERT_FALSE(retried.ok());
  EXPECT_THAT(Msg(retried.status()), StartsWith("giving up after 4 attempts: "));
}

TEST(RestClientFaultTest, ConnectionRefusedIsUnavailableAfterRetries) {
  RestConfig config;
  config.server = "https://127.0.0.1:1";  // nothing listens on port 1
  config.bearer_token = "t";
  config.tls.insecure_skip_verify = true;
  RestClientOptions options = FastRetries();
  options.max_retries = 2;
  auto client = MakeClient(config, options);
  ASSERT_NE(client, nullptr);
  auto r = client->Do(Get(kConfigMaps));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Msg(r.status()), StartsWith("giving up after 3 attempts: "));
  EXPECT_FALSE(ApiErrorOf(r.status()).has_value());
}

TEST(RestClientFaultTest, SlowRequestsCanBeCancelledOrTimeOut) {
  auto k = StartKubesim({"--fault-latency-ms", "5000"});
  ASSERT_NE(k, nullptr);
  auto client = MakeClient(ConfigOf(*k));
  ASSERT_NE(client, nullptr);

  CancellationSource source;
  RestRequest r = Get(kConfigMaps);
  r.cancel = source.token();
  const Clock::TimePoint start = RealClock().Now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    source.Cancel("shutting down");
  });
  auto cancelled = client->Do(r);
  canceller.join();
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled) << cancelled.status();
  EXPECT_LT(RealClock().Now() - start, std::chrono::seconds(2));

  RestRequest slow = Get(kConfigMaps);
  slow.timeout = std::chrono::milliseconds(300);
  const Clock::TimePoint start2 = RealClock().Now();
  auto timed_out = client->Do(slow);
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.status().code(), absl::StatusCode::kDeadlineExceeded) << timed_out.status();
  EXPECT_LT(RealClock().Now() - start2, std::chrono::seconds(2));
}

// A plain-HTTP server on loopback whose first answer breaks off in the middle of its body (a
// dropped connection mid-list); later answers are whole.
class TruncatingServer {
 public:
  explicit TruncatingServer(std::string body) : body_(std::move(body)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 8), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TruncatingServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int answers() const { return answers_; }

 private:
  void Serve() {
    while (true) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      std::string request;
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      const bool truncate = answers_++ == 0;
      std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n";
      std::string out = head + (truncate ? body_.substr(0, body_.size() / 2) : body_);
      EXPECT_EQ(write(c, out.data(), out.size()), static_cast<ssize_t>(out.size()));
      close(c);
    }
  }
  std::string body_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> answers_{0};
  std::thread thread_;
};

TEST(RestClientFaultTest, BrokenStreamIsRetriedOnlyWhenTheCallerCanRestart) {
  const std::string body(64 * 1024, 'x');
  RestConfig config;
  config.bearer_token = "t";
  {
    TruncatingServer server(body);
    config.server = server.url();
    auto client = MakeClient(config);
    ASSERT_NE(client, nullptr);
    std::string got;
    int restarts = 0;
    RestRequest r = Get(kConfigMaps);
    r.on_body = [&](std::string_view chunk) {
      got.append(chunk);
      return true;
    };
    r.on_body_restart = [&] {
      ++restarts;
      got.clear();
    };
    r.finite_stream = true;
    auto resp = client->Do(r);
    ASSERT_TRUE(resp.ok()) << resp.status();
    EXPECT_EQ(restarts, 1);
    EXPECT_EQ(server.answers(), 2);
    EXPECT_EQ(got, body);
  }
  {
    TruncatingServer server(body);
    config.server = server.url();
    auto client = MakeClient(config);
    ASSERT_NE(client, nullptr);
    RestRequest r = Get(kConfigMaps);
    r.on_body = [](std::string_view) { return true; };
    auto resp = client->Do(r);
    EXPECT_EQ(resp.status().code(), absl::StatusCode::kUnavailable) << resp.status();
    EXPECT_EQ(server.answers(), 1) << "a half-delivered stream without a restart hook is final";
  }
}

TEST(RestClientFaultTest, ListPageBrokenMidStreamIsParsedAfreshOnRetry) {
  json::array items;
  for (int i = 0; i < 300; ++i) {
    items.push_back(json::object{{"metadata", json::object{{"name", "cm-" + std::to_string(1000 + i)},
                                                           {"namespace", "default"}}}});
  }
  json::object list{{"kind", "ConfigMapList"}, {"apiVersion", "v1"},
                    {"metadata", json::object{{"resourceVersion", "42"}}}, {"items", items}};
  TruncatingServer server(json::serialize(list));
  RestConfig config;
  config.bearer_token = "t";
  config.server = server.url();
  auto client = MakeClient(config);
  ASSERT_NE(client, nullptr);
  DynamicClient dynamic(client.get(), nullptr);
  auto page = dynamic.List({"", "v1", "configmaps"}, "default", {});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(server.answers(), 2);
  ASSERT_EQ(page->items.size(), 300u);
  EXPECT_EQ(page->resource_version, "42");
  EXPECT_EQ(ObjectName(page->items[299]), "cm-1299");
  EXPECT_EQ(JsonString(page->items[0], {"kind"}).value_or(""), "ConfigMap");
}

}  // namespace
}  // namespace lifeboat::kube
