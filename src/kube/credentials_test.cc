#include "lifeboat/kube/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <thread>

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

std::string Msg(const Status& s) { return std::string(s.message()); }

// ---------------------------------------------------------------------------------------------
// Token files.

TEST(TokenFileProviderTest, RereadsWhenTheFileChangesOrThePeriodPasses) {
  fs::path dir = MakeTempDir();
  fs::path token = dir / "token";
  WriteTextFile(token, "token-one\n");
  FakeClock clock;
  Credential base;
  base.client_cert_pem = "CERT";
  TokenFileProvider p(token, base, clock);
  auto c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bearer_token, "token-one");
  EXPECT_EQ(c->client_cert_pem, "CERT");

  // Rotation (kubelet writes a new file): seen at once.
  WriteTextFile(token, "token-two-longer\n");
  EXPECT_EQ(p.Get()->bearer_token, "token-two-longer");

  // A change stat cannot see (same size, mtime forced back): picked up after the period.
  struct stat st;
  ASSERT_EQ(::stat(token.c_str(), &st), 0);
  WriteTextFile(token, "token-333-longer\n");
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, token.c_str(), times, 0), 0);
  EXPECT_EQ(p.Get()->bearer_token, "token-two-longer");
  clock.Advance(std::chrono::seconds(49));
  EXPECT_EQ(p.Get()->bearer_token, "token-two-longer");
  clock.Advance(std::chrono::seconds(2));
  EXPECT_EQ(p.Get()->bearer_token, "token-333-longer");

  // Invalidate forces a re-read.
  WriteTextFile(token, "token-444-longer\n");
  ASSERT_EQ(::utimensat(AT_FDCWD, token.c_str(), times, 0), 0);
  p.Invalidate();
  EXPECT_EQ(p.Get()->bearer_token, "token-444-longer");

  // Mid-rotation the file vanishes: keep the last good token.
  fs::remove(token);
  clock.Advance(std::chrono::minutes(2));
  EXPECT_EQ(p.Get()->bearer_token, "token-444-longer");
}

TEST(TokenFileProviderTest, MissingOrEmptyFileIsAnError) {
  fs::path dir = MakeTempDir();
  TokenFileProvider missing(dir / "nope", Credential{});
  EXPECT_EQ(missing.Get().status().code(), absl::StatusCode::kNotFound);
  WriteTextFile(dir / "empty", " \n");
  TokenFileProvider empty(dir / "empty", Credential{});
  EXPECT_THAT(Msg(empty.Get().status()), HasSubstr("read empty token"));
}

// ---------------------------------------------------------------------------------------------
// Exec plugins.

// A plugin that counts its runs in $COUNT_FILE, saves KUBERNETES_EXEC_INFO to $INFO_FILE, writes
// noise to stderr, and prints an ExecCredential of version $API with token tok-<n> expiring at
// $EXP (when set).
constexpr char kPlugin[] = R"(#!/bin/sh
n=$(cat "$COUNT_FILE" 2>/dev/null || echo 0)
n=$((n+1))
echo $n > "$COUNT_FILE"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$INFO_FILE"
echo "plugin diagnostics on stderr" >&2
exp=""
if [ -n "$EXP" ]; then exp=",\"expirationTimestamp\":\"$EXP\""; fi
printf '{"kind":"ExecCredential","apiVersion":"%s","status":{"token":"tok-%s"%s}}\n' "$API" "$n" "$exp"
)";

class ExecPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    WriteTextFile(dir_ / "plugin.sh", kPlugin, 0755);
    config_.command = (dir_ / "plugin.sh").string();
    config_.api_version = "client.authentication.k8s.io/v1";
    config_.interactive_mode = "Never";
    SetEnv("COUNT_FILE", (dir_ / "count").string());
    SetEnv("INFO_FILE", (dir_ / "info.json").string());
    SetEnv("API", "client.authentication.k8s.io/v1");
  }
  void SetEnv(const std::string& name, const std::string& value) {
    for (auto& [n, v] : config_.env) {
      if (n == name) {
        v = value;
        return;
      }
    }
    config_.env.emplace_back(name, value);
  }
  // Writes a plugin script whose body is `body` and points the config at it.
  void UseScript(const std::string& body) {
    WriteTextFile(dir_ / "custom.sh", "#!/bin/sh\n" + body + "\n", 0755);
    config_.command = (dir_ / "custom.sh").string();
  }
  int Runs() {
    std::string s = ReadTextFile(dir_ / "count");
    return s.empty() ? 0 : std::stoi(s);
  }
  std::unique_ptr<ExecPluginProvider> Make(ExecPluginOptions options = {}) {
    if (options.timeout == std::chrono::seconds(60)) options.timeout = std::chrono::seconds(20);
    return std::make_unique<ExecPluginProvider>(config_, options, Credential{}, clock_);
  }

  fs::path dir_;
  ExecConfig config_;
  FakeClock clock_;  // 2023-11-14T22:13:20Z
};

TEST_F(ExecPluginTest, CachesWithoutExpiryUntilInvalidated) {
  auto p = Make();
  auto c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bearer_token, "tok-1");
  EXPECT_FALSE(c->expiry.has_value());
  clock_.Advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(p->Get()->bearer_token, "tok-1");
  EXPECT_EQ(Runs(), 1);
  p->Invalidate();  // what the HTTP layer does on 401
  EXPECT_EQ(p->Get()->bearer_token, "tok-2");
  EXPECT_EQ(Runs(), 2);
  EXPECT_THAT(c->Redacted(), Not(HasSubstr("tok-1")));
}

TEST_F(ExecPluginTest, InvalidateRejectedRerunsOnlyForTheCurrentCredential) {
  auto p = Make();
  auto first = p->Get();
  ASSERT_TRUE(first.ok()) << first.status();
  p->InvalidateRejected(*first);  // first 401 with tok-1: re-run
  auto second = p->Get();
  EXPECT_EQ(second->bearer_token, "tok-2");
  p->InvalidateRejected(*first);  // a late 401 for the old token: no re-run
  EXPECT_EQ(p->Get()->bearer_token, "tok-2");
  EXPECT_EQ(Runs(), 2);
}

TEST_F(ExecPluginTest, RerunsAfterExpirationTimestamp) {
  SetEnv("EXP", "2023-11-14T22:18:20Z");  // clock + 5 min
  auto p = Make();
  auto c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->expiry.has_value());
  EXPECT_EQ(*c->expiry, clock_.Now() + std::chrono::minutes(5));
  clock_.Advance(std::chrono::minutes(5));  // exactly at expiry: still valid (client-go: After)
  EXPECT_EQ(p->Get()->bearer_token, "tok-1");
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(p->Get()->bearer_token, "tok-2");
  EXPECT_EQ(Runs(), 2);
}

TEST_F(ExecPluginTest, ConcurrentCallersShareOneRun) {
  auto p = Make();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto c = p->Get();
      if (c.ok() && c->bearer_token == "tok-1") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(Runs(), 1);
}

TEST_F(ExecPluginTest, PassesArgsEnvAndExecInfo) {
  config_.api_version = "client.authentication.k8s.io/v1beta1";
  SetEnv("API", "client.authentication.k8s.io/v1beta1");
  config_.provide_cluster_info = true;
  config_.cluster_config = boost::json::value{{"audience", "lifeboat"}};
  ExecPluginOptions options;
  options.server = "https://k8s.example:6443";
  options.ca_pem = "CA";
  options.tls_server_name = "k8s.internal";
  auto p = Make(options);
  auto c = p->Get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bearer_token, "tok-1");
  auto info = ParseJson(ReadTextFile(dir_ / "info.json"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(JsonString(*info, {"kind"}), "ExecCredential");
  EXPECT_EQ(JsonString(*info, {"apiVersion"}), "client.authentication.k8s.io/v1beta1");
  EXPECT_EQ(JsonBool(*info, {"spec", "interactive"}), false);
  EXPECT_EQ(JsonString(*info, {"spec", "cluster", "server"}), "https://k8s.example:6443");
  EXPECT_EQ(JsonString(*info, {"spec", "cluster", "certificate-authority-data"}), "Q0E=");
  EXPECT_EQ(JsonString(*info, {"spec", "cluster", "tls-server-name"}), "k8s.internal");
  EXPECT_EQ(JsonString(*info, {"spec", "cluster", "config", "audience"}), "lifeboat");

  // Without provideClusterInfo there is no cluster; args reach the plugin.
  config_.provide_cluster_info = false;
  config_.args = {"one", "two words"};
  UseScript(
      "printf '%s|%s' \"$1\" \"$2\" > \"$INFO_FILE.args\"\n"
      "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$INFO_FILE\"\n"
      "echo '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
      "\"status\":{\"token\":\"t\"}}'");
  ASSERT_TRUE(Make()->Get().ok());
  EXPECT_EQ(ReadTextFile(dir_ / "info.json.args"), "one|two words");
  info = ParseJson(ReadTextFile(dir_ / "info.json"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(JsonFind(*info, {"spec", "cluster"}), nullptr);
}

TEST_F(ExecPluginTest, ClientCertificateFromPlugin) {
  UseScript(
      R"(echo '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"clientCertificateData":"CERT PEM","clientKeyData":"KEY PEM","expirationTimestamp":"2023-11-14T23:13:20.5+01:00"}}')");
  auto c = Make()->Get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->client_cert_pem, "CERT PEM");
  EXPECT_EQ(c->client_key_pem, "KEY PEM");
  EXPECT_TRUE(c->bearer_token.empty());
  EXPECT_EQ(*c->expiry, clock_.Now() + std::chrono::milliseconds(500));
  EXPECT_THAT(c->Redacted(), Not(HasSubstr("KEY PEM")));
}

TEST_F(ExecPluginTest, ApiVersionMismatch) {
  SetEnv("API", "client.authentication.k8s.io/v1beta1");
  auto c = Make()->Get();
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Msg(c.status()), HasSubstr("plugin.sh"));
  EXPECT_THAT(Msg(c.status()), HasSubstr("exec plugin is configured to use API version "
                                         "client.authentication.k8s.io/v1, plugin returned version "
                                         "client.authentication.k8s.io/v1beta1"));
  EXPECT_THAT(Msg(c.status()), Not(HasSubstr("tok-1")));
}

TEST_F(ExecPluginTest, BadOutputNeverLeaksIntoErrors) {
  const std::string secret = "super-secret-token-value";
  struct Case {
    std::string stdout_text;
    std::string want;
  } cases[] = {
      {"not json " + secret, "decoding stdout"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"})",
       "didn't return a status field"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{}})",
       "didn't return a token or cert/key pair"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"clientCertificateData":")" +
           secret + R"("}})",
       "only certificate or key, not both"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":")" +
           secret + R"(","expirationTimestamp":"tomorrow"}})",
       "expirationTimestamp"},
      {R"({"apiVersion":"client.authentication.k8s.io/v1","status":{"token":")" + secret + R"("}})",
       "decoding stdout"},
  };
  for (const Case& c : cases) {
    WriteTextFile(dir_ / "out.txt", c.stdout_text);
    UseScript("cat '" + (dir_ / "out.txt").string() + "'");
    auto got = Make()->Get();
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated) << c.want;
    EXPECT_THAT(Msg(got.status()), HasSubstr(c.want));
    EXPECT_THAT(Msg(got.status()), HasSubstr("custom.sh"));
    EXPECT_THAT(Msg(got.status()), Not(HasSubstr(secret)));
  }
}

TEST_F(ExecPluginTest, ExitCodeTimeoutAndOversizedOutput) {
  UseScript("echo 'token: leaked' ; echo 'login required' >&2; exit 3");
  auto failed = Make()->Get();
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Msg(failed.status()), HasSubstr("custom.sh failed with exit code 3"));
  EXPECT_THAT(Msg(failed.status()), Not(HasSubstr("leaked")));

  UseScript("sleep 30");
  ExecPluginOptions options;
  options.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto timed_out = Make(options)->Get();
  EXPECT_EQ(timed_out.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));

  UseScript("head -c 100000 /dev/zero");
  options.timeout = std::chrono::seconds(20);
  options.max_stdout_bytes = 1000;
  EXPECT_THAT(Msg(Make(options)->Get().status()), HasSubstr("wrote more than 1000 bytes"));
}

TEST_F(ExecPluginTest, MissingCommandShowsInstallHint) {
  config_.command = "lifeboat-no-such-plugin";
  config_.install_hint = "Install it with: apt install lifeboat-no-such-plugin";
  auto c = Make()->Get();
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(c.status()), HasSubstr("exec: executable lifeboat-no-such-plugin not found"));
  EXPECT_THAT(Msg(c.status()), HasSubstr("Install it with: apt install"));
  config_.command = (dir_ / "missing/plugin.sh").string();
  EXPECT_THAT(Msg(Make()->Get().status()), HasSubstr("not found"));
}

TEST_F(ExecPluginTest, BareCommandIsFoundInPath) {
  fs::path bin = dir_ / "bin";
  WriteTextFile(bin / "lifeboat-test-plugin", kPlugin, 0755);
  std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", (bin.string() + ":" + old_path).c_str(), 1);
  config_.command = "lifeboat-test-plugin";
  auto c = Make()->Get();
  ::setenv("PATH", old_path.c_str(), 1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bearer_token, "tok-1");
}

// ---------------------------------------------------------------------------------------------
// From kubeconfig to provider.

TEST(MakeCredentialProviderTest, KubeconfigExecWithRelativeCommand) {
  fs::path dir = MakeTempDir();
  WriteTextFile(dir / "plugins/plugin.sh", kPlugin, 0755);
  WriteTextFile(dir / "kubeconfig", R"(
apiVersion: v1
kind: Config
current-context: x
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      interactiveMode: IfAvailable
      command: ./plugins/plugin.sh
      env:
      - {name: COUNT_FILE, value: )" + (dir / "count").string() +
                                        R"(}
      - {name: INFO_FILE, value: )" + (dir / "info").string() +
                                        R"(}
      - {name: API, value: client.authentication.k8s.io/v1}
contexts:
- name: x
  context: {cluster: c, user: u}
)");
  KubeconfigOptions o;
  o.explicit_path = dir / "kubeconfig";
  auto rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status();
  auto provider = MakeCredentialProvider(*rc);
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_THAT((*provider)->Describe(), HasSubstr("plugins/plugin.sh"));
  auto c = (*provider)->Get();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bearer_token, "tok-1");
  EXPECT_EQ((*provider)->Get()->bearer_token, "tok-1");
  EXPECT_EQ(ReadTextFile(dir / "count"), "1\n");
}

TEST(MakeCredentialProviderTest, PicksTheRightProvider) {
  RestConfig rc;
  rc.server = "https://x";
  rc.tls.client_cert_pem = "C";
  rc.tls.client_key_pem = "K";
  auto anon = MakeCredentialProvider(rc);
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ((*anon)->Describe(), "client certificate");
  EXPECT_EQ((*anon)->Get()->client_key_pem, "K");

  rc.bearer_token = "static";
  EXPECT_EQ((*MakeCredentialProvider(rc))->Get()->bearer_token, "static");

  fs::path dir = MakeTempDir();
  WriteTextFile(dir / "t", "from-file");
  rc.bearer_token_file = dir / "t";
  auto file = MakeCredentialProvider(rc);
  EXPECT_THAT((*file)->Describe(), HasSubstr("token file"));
  EXPECT_EQ((*file)->Get()->bearer_token, "from-file");
  EXPECT_EQ((*file)->Get()->client_cert_pem, "C");

  RestConfig ex;
  ex.exec = ExecConfig{};
  ex.exec->command = "x";
  ex.exec->api_version = "client.authentication.k8s.io/v1";
  ex.exec->interactive_mode = "Always";
  EXPECT_THAT(Msg(MakeCredentialProvider(ex).status()), HasSubstr("interactive"));
}

TEST(MakeCredentialProviderTest, InClusterTokenIsReReadWhenRotated) {
  fs::path dir = MakeTempDir();
  WriteTextFile(dir / "token", "sa-token-1");
  WriteTextFile(dir / "ca.crt", "CA");
  InClusterOptions o;
  o.mount_dir = dir;
  o.service_host = "10.96.0.1";
  o.service_port = "443";
  auto rc = LoadInClusterConfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status();
  auto provider = MakeCredentialProvider(*rc);
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->Get()->bearer_token, "sa-token-1");
  // The kubelet rotates projected tokens by swapping a symlinked directory; a rename does too.
  WriteTextFile(dir / "token.new", "sa-token-2-rotated");
  fs::rename(dir / "token.new", dir / "token");
  EXPECT_EQ((*provider)->Get()->bearer_token, "sa-token-2-rotated");
}

TEST(ParseRfc3339Test, Formats) {
  using std::chrono::seconds;
  EXPECT_EQ(*ParseRfc3339("2023-11-14T22:13:20Z"), Clock::TimePoint(seconds(1'700'000'000)));
  EXPECT_EQ(*ParseRfc3339("2023-11-14T23:13:20+01:00"), Clock::TimePoint(seconds(1'700'000'000)));
  EXPECT_EQ(*ParseRfc3339("2023-11-14T21:13:20.25-01:00"),
            Clock::TimePoint(seconds(1'700'000'000)) + std::chrono::milliseconds(250));
  EXPECT_FALSE(ParseRfc3339("2023-11-14 22:13:20").ok());
  EXPECT_FALSE(ParseRfc3339("2023-11-14T22:13:20").ok());
  EXPECT_FALSE(ParseRfc3339("").ok());
}

}  // namespace
}  // namespace lifeboat::kube
