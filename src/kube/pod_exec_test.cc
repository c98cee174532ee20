// Integration tests of PodExecutor against a real kubesim over HTTPS.

#include "lifeboat/kube/pod_exec.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/http/client.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/credentials.h"
#include "src/kube/kube_test_util.h"
#include "src/kube/testing/kubesim_process.h"

namespace lifeboat::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::KubesimProcess;
namespace json = boost::json;

constexpr char kPod[] = "hooks";
constexpr char kContainer[] = "app";

class PodExecTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto k = KubesimProcess::Start();
    ASSERT_TRUE(k.ok()) << k.status();
    kubesim_ = k->release();
    auto config = LoadKubeconfig({.explicit_path = kubesim_->kubeconfig()});
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = new RestConfig(*config);
    CreateRunningPod(kPod);
  }

  static void TearDownTestSuite() {
    delete config_;
    config_ = nullptr;
    delete kubesim_;
    kubesim_ = nullptr;
  }

  // POSTs a one-container pod through plain HTTPS and waits until kubesim runs it.
  static void CreateRunningPod(const std::string& name) {
    http::ClientOptions options;
    options.ca.file = kubesim_->ca_file().string();
    auto client = http::Client::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"Authorization", "Bearer " + kubesim_->admin_token()},
        {"Content-Type", "application/json"}};
    http::ClientRequest create;
    create.method = "POST";
    create.url = kubesim_->server() + "/api/v1/namespaces/default/pods";
    create.headers = headers;
    create.body = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                  R"("},"spec":{"containers":[{"name":")" + kContainer +
                  R"(","image":"busybox"}]}})";
    auto created = (*client)->Send(create);
    ASSERT_TRUE(created.ok()) << created.status();
    ASSERT_EQ(created->status, 201) << created->body;
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    for (;;) {
      http::ClientRequest get;
      get.url = kubesim_->server() + "/api/v1/namespaces/default/pods/" + name;
      get.headers = headers;
      auto got = (*client)->Send(get);
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(got->status, 200) << got->body;
      json::value pod = json::parse(got->body);
      const json::value* phase = pod.as_object().if_contains("status");
      if (phase && phase->is_object()) phase = phase->as_object().if_contains("phase");
      if (phase && phase->is_string() && phase->as_string() == "Running") return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "pod never became Running";
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  std::unique_ptr<PodExecutor> MakeExecutor(const RestConfig& config,
                                            std::shared_ptr<CredentialProvider> creds = nullptr) {
    auto e = PodExecutor::Create(config, std::move(creds));
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? std::move(*e) : nullptr;
  }

  ExecOptions Opts(std::vector<std::string> command) {
    ExecOptions o;
    o.ns = "default";
    o.pod = kPod;
    o.container = kContainer;
    o.command = std::move(command);
    o.timeout = seconds(30);
    return o;
  }

  static KubesimProcess* kubesim_;
  static RestConfig* config_;
};

KubesimProcess* PodExecTest::kubesim_ = nullptr;
RestConfig* PodExecTest::config_ = nullptr;

// Counts Get/Invalidate and hands out `first` until the first invalidation, then `then`.
class RotatingProvider : public CredentialProvider {
 public:
  RotatingProvider(std::string first, std::string then) : first_(first), then_(then) {}
  StatusOr<Credential> Get() override {
    ++gets;
    Credential c;
    c.bearer_token = invalidations.load() == 0 ? first_ : then_;
    return c;
  }
  void Invalidate() override { ++invalidations; }
  std::string Describe() const override { return "rotating test provider"; }
  std::atomic<int> gets{0};
  std::atomic<int> invalidations{0};

 private:
  const std::string first_, then_;
};

// A minimal HTTP CONNECT proxy on loopback: tunnels each connection to the requested
// host:port and counts the tunnels.
class ConnectProxy {
 public:
  ConnectProxy() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "proxy: cannot listen";
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~ConnectProxy() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : pumps_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::atomic<int> tunnels{0};

 private:
  void AcceptLoop() {
    for (;;) {
      int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string head;
      char c;
      while (head.find("\r\n\r\n") == std::string::npos && ::read(client, &c, 1) == 1)
        head.push_back(c);
      // "CONNECT 127.0.0.1:PORT HTTP/1.1"
      const size_t colon = head.find(':', 8);
      const int port = colon == std::string::npos ? 0 : std::atoi(head.c_str() + colon + 1);
      int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port));
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(client);
      fds_.push_back(upstream);
      if (head.rfind("CONNECT 127.0.0.1:", 0) != 0 ||
          ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        static constexpr char kNo[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
        (void)!::write(client, kNo, sizeof(kNo) - 1);
        ::shutdown(client, SHUT_RDWR);
        continue;
      }
      static constexpr char kYes[] = "HTTP/1.1 200 Connection established\r\n\r\n";
      (void)!::write(client, kYes, sizeof(kYes) - 1);
      ++tunnels;
      pumps_.emplace_back([client, upstream] { Pump(client, upstream); });
      pumps_.emplace_back([client, upstream] { Pump(upstream, client); });
    }
  }
  static void Pump(int from, int to) {
    char buf[16384];
    for (;;) {
      ssize_t n = ::read(from, buf, sizeof(buf));
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) return;
        off += w;
      }
    }
    ::shutdown(to, SHUT_WR);
  }
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
};

TEST_F(PodExecTest, CapturesStdoutAndStderrSeparately) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"sh", "-c", "echo out; echo err >&2; echo more"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_data, "out\nmore\n");
  EXPECT_EQ(r->stderr_data, "err\n");
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->protocol, "v5.channel.k8s.io");
}

TEST_F(PodExecTest, NonZeroExitIsAResultNotAnError) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"sh", "-c", "echo partial; exit 3"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->stdout_data, "partial\n");
}

TEST_F(PodExecTest, MissingExecutableExits127) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"no-such-binary-lifeboat"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 127);
  EXPECT_NE(r->stderr_data.find("not found"), std::string::npos) << r->stderr_data;
}

TEST_F(PodExecTest, CommandSeesPodEnvironmentAndUnusualArguments) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  // Arguments with spaces, '&', '=', '%', '+' and non-ASCII must survive the query string.
  auto r = exec->Exec(Opts({"sh", "-c", "printf '%s|%s|%s' \"$POD_NAME\" \"$POD_NAMESPACE\" \"$1\"",
                            "x", "a b&c=d%20+é"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stdout_data, "hooks|default|a b&c=d%20+é");
}

TEST_F(PodExecTest, StdinRoundTrip) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  ExecOptions o = Opts({"cat"});
  o.stdin_data = "hello\nworld\n";
  auto r = exec->Exec(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_data, "hello\nworld\n");

  // Larger than one stdin frame, and the output flows back while input is still being sent.
  std::string big;
  for (int i = 0; big.size() < 300'000; ++i) big += "line " + std::to_string(i) + "\n";
  o.stdin_data = big;
  r = exec->Exec(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stdout_data.size(), big.size());
  EXPECT_TRUE(r->stdout_data == big);

  o.command = {"wc", "-c"};
  o.stdin_data = "";
  r = exec->Exec(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stdout_data.find_first_not_of(" "), r->stdout_data.find('0'));
}

TEST_F(PodExecTest, LargeOutputIsComplete) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"seq", "1", "200000"}));
  ASSERT_TRUE(r.ok()) << r.status();
  std::string expected;
  for (int i = 1; i <= 200000; ++i) expected += std::to_string(i) + "\n";
  EXPECT_EQ(r->stdout_data.size(), expected.size());
  EXPECT_TRUE(r->stdout_data == expected);
  EXPECT_FALSE(r->truncated);
}

TEST_F(PodExecTest, OutputBeyondTheLimitIsTruncated) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  ExecOptions o = Opts({"seq", "1", "100000"});
  o.max_output_bytes = 1000;
  auto r = exec->Exec(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_data.size(), 1000u);
  EXPECT_EQ(r->stdout_data.substr(0, 6), "1\n2\n3\n");
  EXPECT_TRUE(r->truncated);
}

TEST_F(PodExecTest, TimeoutIsDeadlineExceededAndKillsTheCommand) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  const std::filesystem::path dir = testing::MakeTempDir();
  const std::filesystem::path marker = dir / "survived";
  ExecOptions o = Opts({"sh", "-c", "sleep 3; touch " + marker.string() + "; sleep 30"});
  o.timeout = seconds(1);
  const auto start = std::chrono::steady_clock::now();
  auto r = exec->Exec(o);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_LT(elapsed, seconds(10));
  // Closing the connection makes kubesim kill the command's process group.
  std::this_thread::sleep_for(seconds(4));
  EXPECT_FALSE(std::filesystem::exists(marker));
  std::filesystem::remove_all(dir);
}

TEST_F(PodExecTest, CancellationIsCancelled) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  CancellationSource source;
  ExecOptions o = Opts({"sleep", "30"});
  o.cancel = source.token();
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(500));
    source.Cancel("backup deleted");
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = exec->Exec(o);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  canceller.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  EXPECT_NE(r.status().message().find("backup deleted"), std::string::npos) << r.status();
  EXPECT_LT(elapsed, seconds(10));

  // Already cancelled: nothing is started.
  r = exec->Exec(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
}

TEST_F(PodExecTest, UnknownPodIsNotFound) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  ExecOptions o = Opts({"true"});
  o.pod = "no-such-pod";
  auto r = exec->Exec(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_NE(r.status().message().find("pods \"no-such-pod\" not found"), std::string::npos)
      << r.status();
}

TEST_F(PodExecTest, UnknownContainerIsInvalidArgument) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  ExecOptions o = Opts({"true"});
  o.container = "sidecar";
  auto r = exec->Exec(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("container sidecar is not valid for pod hooks"),
            std::string::npos)
      << r.status();
}

TEST_F(PodExecTest, EmptyCommandIsInvalidArgument) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
}

TEST_F(PodExecTest, BadTokenIsUnauthenticatedAfterOneRefetch) {
  auto provider = std::make_shared<RotatingProvider>("bad-token", "still-bad");
  auto exec = MakeExecutor(*config_, provider);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"true"}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
  EXPECT_EQ(provider->gets.load(), 2);
  EXPECT_EQ(r.status().message().find("still-bad"), std::string::npos);
}

TEST_F(PodExecTest, RejectedTokenIsRefetchedOnce) {
  auto provider = std::make_shared<RotatingProvider>("stale-token", kubesim_->admin_token());
  auto exec = MakeExecutor(*config_, provider);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"echo", "ok"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stdout_data, "ok\n");
  EXPECT_EQ(provider->invalidations.load(), 1);
}

TEST_F(PodExecTest, TlsVerificationFailureNamesTheHost) {
  RestConfig config = *config_;
  config.tls.server_name = "wrong.example.com";
  auto exec = MakeExecutor(config);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"true"}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(r.status().message().find("wrong.example.com"), std::string::npos) << r.status();

  // Insecure mode skips verification (and needs no CA).
  config.tls.insecure_skip_verify = true;
  config.tls.ca_pem.clear();
  exec = MakeExecutor(config);
  ASSERT_NE(exec, nullptr);
  auto ok = exec->Exec(Opts({"true"}));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->exit_code, 0);
}

TEST_F(PodExecTest, UnreachableServerIsUnavailable) {
  RestConfig config = *config_;
  config.server = "https://127.0.0.1:1";
  auto exec = MakeExecutor(config);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"true"}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

TEST_F(PodExecTest, TunnelsThroughAnHttpProxy) {
  ConnectProxy proxy;
  RestConfig config = *config_;
  config.proxy_url = proxy.url();
  auto exec = MakeExecutor(config);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"sh", "-c", "echo via-proxy; exit 4"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stdout_data, "via-proxy\n");
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_EQ(proxy.tunnels.load(), 1);

  config.server = "https://127.0.0.2:1";  // the proxy refuses anything else
  exec = MakeExecutor(config);
  ASSERT_NE(exec, nullptr);
  r = exec->Exec(Opts({"true"}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_NE(r.status().message().find("502"), std::string::npos) << r.status();
}

TEST_F(PodExecTest, ProxyFromTheEnvironmentUnlessNoProxyListsTheHost) {
  ConnectProxy proxy;
  ::setenv("HTTPS_PROXY", proxy.url().c_str(), 1);
  ::setenv("NO_PROXY", "example.com,.internal", 1);
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"echo", "env-proxy"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stdout_data, "env-proxy\n");
  EXPECT_EQ(proxy.tunnels.load(), 1);

  ::setenv("NO_PROXY", "localhost, 127.0.0.1:443", 1);  // the server's host: no proxy
  exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  r = exec->Exec(Opts({"true"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(proxy.tunnels.load(), 1);
  ::unsetenv("HTTPS_PROXY");
  ::unsetenv("NO_PROXY");
}

TEST_F(PodExecTest, ConcurrentExecsFromFourThreads) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string word = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto r = exec->Exec(Opts(
            {"sh", "-c", "echo " + word + "; echo " + word + " >&2; exit " + std::to_string(i)}));
        if (r.ok() && r->stdout_data == word + "\n" && r->stderr_data == word + "\n" &&
            r->exit_code == i) {
          ++good;
        } else {
          ADD_FAILURE() << word << ": " << (r.ok() ? r->stdout_data : r.status().ToString());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 20);
}

// Against an API server that speaks v4.channel.k8s.io only (kube before 1.30): the client
// falls back and still gets the output streams and the exit code.
class PodExecV4Test : public PodExecTest {
 protected:
  static void SetUpTestSuite() {
    auto k = KubesimProcess::Start({"--exec-websocket-protocols", "v4.channel.k8s.io"});
    ASSERT_TRUE(k.ok()) << k.status();
    kubesim_ = k->release();
    auto config = LoadKubeconfig({.explicit_path = kubesim_->kubeconfig()});
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = new RestConfig(*config);
    CreateRunningPod(kPod);
  }
};

TEST_F(PodExecV4Test, FallsBackToV4WithStreamsAndExitCode) {
  auto exec = MakeExecutor(*config_);
  ASSERT_NE(exec, nullptr);
  auto r = exec->Exec(Opts({"sh", "-c", "echo out; echo err >&2; exit 4"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->protocol, "v4.channel.k8s.io");
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_EQ(r->stdout_data, "out\n");
  EXPECT_EQ(r->stderr_data, "err\n");

  // v4 cannot close stdin: a command that reads a known amount still works.
  ExecOptions o = Opts({"head", "-c", "6"});
  o.stdin_data = "hello\n";
  r = exec->Exec(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_data, "hello\n");
}

TEST(PodExecCreateTest, RejectsUnusableConfigs) {
  RestConfig config;
  config.server = "ftp://example.com";
  config.bearer_token = "t";
  EXPECT_EQ(PodExecutor::Create(config, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.server = "https://example.com";
  config.tls.ca_pem = "not a certificate";
  EXPECT_EQ(PodExecutor::Create(config, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.tls.ca_pem.clear();
  config.proxy_url = "socks5://proxy:1080";
  EXPECT_EQ(PodExecutor::Create(config, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat::kube
