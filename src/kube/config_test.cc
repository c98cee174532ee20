#include "lifeboat/kube/config.h"

#include <cstdio>
#include <cstdlib>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/json.h"
#include "src/kube/kube_test_util.h"

namespace lifeboat::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::MakeTempDir;
using ::testing::Not;
using testing::ReadTextFile;
using testing::WriteTextFile;

const fs::path kData = fs::path(LIFEBOAT_SOURCE_DIR) / "test/testdata/kubeconfig";

std::string Env(std::initializer_list<std::string> names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ":") + (kData / n).string();
  return out;
}

KubeconfigOptions WithEnv(std::string env) {
  KubeconfigOptions o;
  o.kubeconfig_env = std::move(env);
  return o;
}

const std::string kAllFiles = Env({"a.yaml", "missing.yaml", "b.yaml", "sub/c.yaml"});

TEST(KubeconfigMergeTest, FirstFileToSetAMapEntryWins) {
  auto merged = LoadMergedKubeconfig(WithEnv(kAllFiles));
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->files.size(), 3u);  // missing.yaml skipped
  EXPECT_EQ(merged->current_context, "ctx-a");
  EXPECT_EQ(JsonString(boost::json::value(merged->clusters.at("shared").value), {"server"}),
            "https://shared-from-a.example.com");
  // Whole entries win, not fields: a's "shared" has no insecure-skip-tls-verify, b's does.
  EXPECT_FALSE(merged->clusters.at("shared").value.contains("insecure-skip-tls-verify"));
  EXPECT_EQ(JsonString(boost::json::value(merged->users.at("user-a").value), {"token"}),
            "token-a-secret");
  EXPECT_EQ(JsonString(boost::json::value(merged->contexts.at("shared-ctx").value), {"user"}),
            "cert-user");
  EXPECT_EQ(merged->clusters.at("cluster-c").origin, kData / "sub/c.yaml");
}

TEST(KubeconfigMergeTest, CurrentContextFromFirstFileThatSetsIt) {
  auto merged = LoadMergedKubeconfig(WithEnv(Env({"sub/c.yaml", "b.yaml", "a.yaml"})));
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->current_context, "ctx-b");
  EXPECT_EQ(JsonString(boost::json::value(merged->users.at("user-a").value), {"token"}),
            "must-not-win");
}

// The merged, flattened result must be exactly what kubectl prints for the same KUBECONFIG.
void ExpectSameAsKubectl(const std::string& env) {
  if (!fs::exists("/usr/bin/kubectl")) GTEST_SKIP() << "kubectl not installed";
  auto merged = LoadMergedKubeconfig(WithEnv(env));
  ASSERT_TRUE(merged.ok()) << merged.status();
  auto flat = FlattenKubeconfig(*merged);
  ASSERT_TRUE(flat.ok()) << flat.status();
  std::string cmd =
      "KUBECONFIG='" + env + "' /usr/bin/kubectl config view --flatten --raw -o json 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << out;
  auto kubectl = ParseJson(out);
  ASSERT_TRUE(kubectl.ok()) << out;
  EXPECT_EQ(CanonicalJson(*flat), CanonicalJson(*kubectl));
}

TEST(KubeconfigMergeTest, MatchesKubectlConfigViewFlatten) { ExpectSameAsKubectl(kAllFiles); }
TEST(KubeconfigMergeTest, MatchesKubectlConfigViewFlattenReversed) {
  ExpectSameAsKubectl(Env({"sub/c.yaml", "b.yaml", "a.yaml"}));
}

TEST(RestConfigTest, CurrentContextWithRelativeCaFileAndToken) {
  auto rc = LoadKubeconfig(WithEnv(kAllFiles));
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->server, "https://a.example.com:6443");
  EXPECT_EQ(rc->tls.ca_pem, ReadTextFile(kData / "certs/ca.pem"));
  EXPECT_EQ(rc->bearer_token, "token-a-secret");
  EXPECT_EQ(rc->namespace_name, "team-a");
  EXPECT_EQ(rc->context_name, "ctx-a");
  EXPECT_EQ(rc->cluster_name, "cluster-a");
  EXPECT_EQ(rc->user_name, "user-a");
  EXPECT_THAT(rc->Redacted(), Not(HasSubstr("token-a-secret")));
  EXPECT_THAT(rc->Redacted(), HasSubstr("ctx-a"));
}

TEST(RestConfigTest, TokenFileCaDataTlsServerNameProxyAndNamespaceOverride) {
  KubeconfigOptions o = WithEnv(kAllFiles);
  o.context = "ctx-b";
  o.namespace_name = "override";
  auto rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->server, "https://b.example.com");
  EXPECT_EQ(rc->tls.ca_pem,
            "-----BEGIN CERTIFICATE-----\nRkFLRS1CLUNB\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(rc->tls.server_name, "api.b.internal");
  EXPECT_EQ(rc->proxy_url, "http://proxy.example.com:3128");
  EXPECT_EQ(rc->bearer_token_file, kData / "token.txt");  // relative to b.yaml
  EXPECT_EQ(rc->bearer_token, "file-token-secret");
  EXPECT_EQ(rc->namespace_name, "override");
}

TEST(RestConfigTest, DefaultNamespaceAndBasicAuthRedacted) {
  KubeconfigOptions o = WithEnv(kAllFiles);
  o.context = "basic-ctx";
  auto rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->username, "alice");
  EXPECT_EQ(rc->password, "basic-secret");
  EXPECT_EQ(rc->namespace_name, "team-b");
  EXPECT_THAT(rc->Redacted(), Not(HasSubstr("basic-secret")));
  o.context = "ctx-b";
  o.namespace_name.clear();
  EXPECT_EQ(LoadKubeconfig(o)->namespace_name, "default");
}

TEST(RestConfigTest, ClientCertificateFromFilesAndFromDataAreTheSame) {
  KubeconfigOptions o = WithEnv(kAllFiles);
  o.context = "shared-ctx";
  auto files = LoadKubeconfig(o);
  ASSERT_TRUE(files.ok()) << files.status();
  o.context = "inline-ctx";
  auto data = LoadKubeconfig(o);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(files->tls.client_cert_pem, ReadTextFile(kData / "certs/client.pem"));
  EXPECT_EQ(files->tls.client_key_pem, ReadTextFile(kData / "certs/client-key.pem"));
  EXPECT_EQ(data->tls.client_cert_pem, files->tls.client_cert_pem);
  EXPECT_EQ(data->tls.client_key_pem, files->tls.client_key_pem);
  EXPECT_EQ(data->server, "https://[fd00::1]:6443");
  EXPECT_EQ(data->tls.ca_pem, ReadTextFile(kData / "certs/ca.pem"));  // ../certs from sub/
  EXPECT_EQ(data->namespace_name, "inline-ns");
  EXPECT_THAT(data->Redacted(), Not(HasSubstr("PRIVATE KEY")));
}

TEST(RestConfigTest, ExecCommandWithSlashIsRelativeToItsKubeconfig) {
  KubeconfigOptions o = WithEnv(kAllFiles);
  o.context = "exec-ctx";
  auto rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status();
  ASSERT_TRUE(rc->exec.has_value());
  EXPECT_EQ(rc->exec->command, (kData / "sub/plugin.sh").string());
  EXPECT_THAT(rc->exec->args, ::testing::ElementsAre("get-token", "--cluster", "c"));
  ASSERT_EQ(rc->exec->env.size(), 1u);
  EXPECT_EQ(rc->exec->env[0].first, "PLUGIN_MODE");
  EXPECT_EQ(rc->exec->api_version, "client.authentication.k8s.io/v1");
  EXPECT_EQ(rc->exec->interactive_mode, "Never");
  EXPECT_EQ(rc->exec->install_hint, "install plugin.sh from the test fixtures");
}

TEST(RestConfigTest, ExecCommandWithoutSlashStaysForPathLookup) {
  fs::path dir = MakeTempDir();
  WriteTextFile(dir / "k.yaml", R"(
clusters: [{name: c, cluster: {server: "https://x"}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)");
  KubeconfigOptions o;
  o.explicit_path = dir / "k.yaml";
  auto rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->exec->command, "kubelogin");
  EXPECT_EQ(rc->exec->interactive_mode, "IfAvailable");  // v1beta1 default
}

TEST(RestConfigTest, UnknownContext) {
  KubeconfigOptions o = WithEnv(kAllFiles);
  o.context = "nope";
  auto rc = LoadKubeconfig(o);
  EXPECT_EQ(rc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rc.status().message(), "context \"nope\" does not exist");
}

TEST(RestConfigTest, MalformedYamlNamesFileAndLine) {
  KubeconfigOptions o;
  o.explicit_path = kData / "malformed.yaml";
  auto rc = LoadKubeconfig(o);
  EXPECT_EQ(rc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rc.status().message()), HasSubstr("malformed.yaml"));
  EXPECT_THAT(std::string(rc.status().message()), HasSubstr("line 5"));
  // A malformed file in KUBECONFIG is an error too (not skipped like a missing one).
  EXPECT_FALSE(LoadKubeconfig(WithEnv(Env({"a.yaml", "malformed.yaml"}))).ok());
}

TEST(RestConfigTest, ExplicitPathMustExistAndBeatsKubeconfigEnv) {
  KubeconfigOptions o = WithEnv(kAllFiles);
  o.explicit_path = kData / "does-not-exist.yaml";
  EXPECT_EQ(LoadKubeconfig(o).status().code(), absl::StatusCode::kNotFound);
  o.explicit_path = kData / "b.yaml";
  auto rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->context_name, "ctx-b");
}

TEST(RestConfigTest, NoConfigurationAtAll) {
  auto rc = LoadKubeconfig(WithEnv(Env({"missing1", "missing2"})));
  EXPECT_EQ(rc.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(rc.status().message(), HasSubstr("no configuration has been provided"));
  KubeconfigOptions o = WithEnv("");
  o.default_path = kData / "no-such-dir/config";
  EXPECT_THAT(LoadKubeconfig(o).status().message(),
              HasSubstr("no configuration has been provided"));
}

TEST(RestConfigTest, DefaultPathUsedWhenKubeconfigEnvIsEmpty) {
  KubeconfigOptions o = WithEnv("");
  o.default_path = kData / "a.yaml";
  auto rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->context_name, "ctx-a");
}

StatusOr<RestConfig> LoadInline(const std::string& yaml) {
  fs::path dir = MakeTempDir();
  WriteTextFile(dir / "k.yaml", yaml);
  KubeconfigOptions o;
  o.explicit_path = dir / "k.yaml";
  return LoadKubeconfig(o);
}

std::string WithUser(const std::string& user) {
  return "clusters: [{name: c, cluster: {server: \"https://x\"}}]\n"
         "users: [{name: u, user: " +
         user +
         "}]\n"
         "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n";
}

TEST(RestConfigTest, LegacyAuthProvidersNameTheExecPluginToUse) {
  KubeconfigOptions o = WithEnv(kAllFiles);
  o.context = "gcp-ctx";
  auto gcp = LoadKubeconfig(o);
  EXPECT_EQ(gcp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(gcp.status().message(), HasSubstr("gke-gcloud-auth-plugin"));
  auto azure =
      LoadInline(WithUser("{auth-provider: {name: azure, config: {access-token: sekrit}}}"));
  EXPECT_THAT(azure.status().message(), HasSubstr("kubelogin"));
  EXPECT_THAT(azure.status().message(), Not(HasSubstr("sekrit")));
  auto oidc = LoadInline(WithUser("{auth-provider: {name: oidc, config: {id-token: sekrit}}}"));
  EXPECT_THAT(oidc.status().message(), HasSubstr("oidc-login"));
}

TEST(RestConfigTest, ValidationErrors) {
  EXPECT_THAT(LoadInline(WithUser("{token: t, username: a, password: b}")).status().message(),
              HasSubstr("more than one authentication method"));
  EXPECT_THAT(
      LoadInline(WithUser("{exec: {apiVersion: client.authentication.k8s.io/v1, command: x}}"))
          .status()
          .message(),
      HasSubstr("interactiveMode must be specified"));
  EXPECT_THAT(
      LoadInline(
          WithUser("{exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}"))
          .status()
          .message(),
      HasSubstr("invalid apiVersion"));
  EXPECT_THAT(LoadInline(WithUser("{client-certificate-data: Zm9v}")).status().message(),
              HasSubstr("client-key-data or client-key must be specified"));
  EXPECT_THAT(LoadInline(WithUser("{tokenFile: /no/such/token}")).status().message(),
              HasSubstr("unable to read tokenFile /no/such/token"));
  EXPECT_THAT(
      LoadInline(WithUser("{client-certificate-data: '!!!notbase64', client-key-data: Zm9v}"))
          .status()
          .message(),
      HasSubstr("not valid base64"));
  // An inline token beats a token file (which is then not even read).
  auto both = LoadInline(WithUser("{token: inline, tokenFile: /no/such/token}"));
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->bearer_token, "inline");
  EXPECT_TRUE(both->bearer_token_file.empty());
  auto no_server = LoadInline(
      "clusters: [{name: c, cluster: {insecure-skip-tls-verify: true}}]\n"
      "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
  EXPECT_THAT(no_server.status().message(), HasSubstr("no server found for cluster \"c\""));
  auto missing_cluster =
      LoadInline("contexts: [{name: x, context: {cluster: gone}}]\ncurrent-context: x\n");
  EXPECT_THAT(missing_cluster.status().message(), HasSubstr("cluster \"gone\" was not found"));
}

TEST(RestConfigTest, ImpersonationFromTheKubeconfigUser) {
  auto rc = LoadInline(WithUser(
      "{token: t, as: alice, as-uid: '42', as-groups: [dev, ops], "
      "as-user-extra: {scopes: [view, edit]}}"));
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->impersonate.user, "alice");
  EXPECT_EQ(rc->impersonate.uid, "42");
  EXPECT_THAT(rc->impersonate.groups, ::testing::ElementsAre("dev", "ops"));
  EXPECT_THAT(rc->impersonate.extra["scopes"], ::testing::ElementsAre("view", "edit"));
  EXPECT_THAT(rc->Redacted(), HasSubstr("as=alice"));
  EXPECT_THAT(LoadInline(WithUser("{as-groups: dev}")).status().message(),
              HasSubstr("as-groups must be a list of strings"));
}

TEST(RestConfigTest, KubectlFlagsOverrideTheKubeconfig) {
  fs::path dir = MakeTempDir();
  WriteTextFile(dir / "ca.pem", "CA FROM FLAG");
  KubeconfigOptions o = WithEnv(kAllFiles);
  o.overrides.server = "https://flag.example.com:443";
  o.overrides.token = "flag-token";
  o.overrides.certificate_authority = (dir / "ca.pem").string();
  o.overrides.as = "bob";
  o.overrides.as_groups = {"g1"};
  auto rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->server, "https://flag.example.com:443");
  EXPECT_EQ(rc->bearer_token, "flag-token");
  EXPECT_TRUE(rc->bearer_token_file.empty());
  EXPECT_EQ(rc->tls.ca_pem, "CA FROM FLAG");
  EXPECT_EQ(rc->impersonate.user, "bob");
  EXPECT_EQ(rc->context_name, "ctx-a");  // the rest still comes from the file

  // --insecure-skip-tls-verify drops the file's CA instead of conflicting with it.
  KubeconfigOptions insecure = WithEnv(kAllFiles);
  insecure.overrides.insecure_skip_tls_verify = true;
  auto rc2 = LoadKubeconfig(insecure);
  ASSERT_TRUE(rc2.ok()) << rc2.status();
  EXPECT_TRUE(rc2->tls.insecure_skip_verify);
  EXPECT_TRUE(rc2->tls.ca_pem.empty());

  // -s with no kubeconfig at all.
  KubeconfigOptions bare;
  bare.kubeconfig_env = "";
  bare.default_path = dir / "none";
  bare.overrides.server = "https://10.0.0.1:6443";
  bare.overrides.token = "t";
  auto rc3 = LoadKubeconfig(bare);
  ASSERT_TRUE(rc3.ok()) << rc3.status();
  EXPECT_EQ(rc3->server, "https://10.0.0.1:6443");
  EXPECT_EQ(rc3->namespace_name, "default");

  KubeconfigOptions groups_only = WithEnv(kAllFiles);
  groups_only.overrides.as_groups = {"g1"};
  EXPECT_THAT(LoadKubeconfig(groups_only).status().message(), HasSubstr("needs a user"));
  KubeconfigOptions missing_ca = WithEnv(kAllFiles);
  missing_ca.overrides.certificate_authority = "/no/such/ca.pem";
  EXPECT_THAT(LoadKubeconfig(missing_ca).status().message(),
              HasSubstr("unable to read certificate-authority /no/such/ca.pem"));
}

// ---------------------------------------------------------------------------------------------

TEST(InClusterTest, FromFakeMountDir) {
  fs::path dir = MakeTempDir();
  WriteTextFile(dir / "token", "sa-token-1\n");
  WriteTextFile(dir / "ca.crt", "CA PEM");
  WriteTextFile(dir / "namespace", "velero\n");
  InClusterOptions o;
  o.mount_dir = dir;
  o.service_host = "10.0.0.1";
  o.service_port = "443";
  o.pod_namespace = "";
  EXPECT_TRUE(InClusterAvailable(o));
  auto rc = LoadInClusterConfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->server, "https://10.0.0.1:443");
  EXPECT_EQ(rc->bearer_token, "sa-token-1");
  EXPECT_EQ(rc->bearer_token_file, dir / "token");
  EXPECT_EQ(rc->tls.ca_pem, "CA PEM");
  EXPECT_EQ(rc->namespace_name, "velero");
  EXPECT_TRUE(rc->in_cluster);
  EXPECT_THAT(rc->Redacted(), Not(HasSubstr("sa-token-1")));

  o.service_host = "fd00::10";
  o.pod_namespace = "from-env";
  rc = LoadInClusterConfig(o);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(rc->server, "https://[fd00::10]:443");
  EXPECT_EQ(rc->namespace_name, "from-env");

  fs::remove(dir / "namespace");
  o.pod_namespace = "";
  EXPECT_EQ(LoadInClusterConfig(o)->namespace_name, "default");
}

TEST(InClusterTest, Errors) {
  fs::path dir = MakeTempDir();
  InClusterOptions o;
  o.mount_dir = dir;
  o.service_host = "";
  o.service_port = "443";
  EXPECT_FALSE(InClusterAvailable(o));
  EXPECT_EQ(LoadInClusterConfig(o).status().code(), absl::StatusCode::kFailedPrecondition);
  o.service_host = "10.0.0.1";
  EXPECT_EQ(LoadInClusterConfig(o).status().code(), absl::StatusCode::kNotFound);  // no token
}

TEST(InClusterTest, LoadRestConfigFallsBackOnlyWhenNoKubeconfig) {
  fs::path dir = MakeTempDir();
  WriteTextFile(dir / "token", "sa");
  InClusterOptions ic;
  ic.mount_dir = dir;
  ic.service_host = "10.0.0.1";
  ic.service_port = "6443";
  ic.pod_namespace = "";
  KubeconfigOptions o = WithEnv(Env({"missing"}));
  o.namespace_name = "ns-flag";
  auto rc = LoadRestConfig(o, ic);
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_TRUE(rc->in_cluster);
  EXPECT_EQ(rc->namespace_name, "ns-flag");
  rc = LoadRestConfig(WithEnv(kAllFiles), ic);
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_FALSE(rc->in_cluster);
}

}  // namespace
}  // namespace lifeboat::kube
