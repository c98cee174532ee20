#include "lifeboat/http/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <zlib.h>

namespace lifeboat::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using std::chrono::milliseconds;
using Clk = std::chrono::steady_clock;

std::string TestDataPath(const std::string& name) {
  return std::string(LIFEBOAT_SOURCE_DIR) + "/test/testdata/tls/" + name;
}

std::string TestData(const std::string& name) {
  std::ifstream in(TestDataPath(name));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A source of `chunks` blocks of `chunk_size` bytes ('a' + block % 26), of unknown or known size.
class PatternSource : public ByteSource {
 public:
  PatternSource(int chunks, size_t chunk_size, bool known_size)
      : chunks_(chunks), chunk_size_(chunk_size), known_size_(known_size) {}
  StatusOr<size_t> Read(std::span<char> buffer) override {
    if (fail_) return absl::DataLossError("disk on fire");
    if (next_ == chunks_) return size_t{0};
    size_t n = std::min(buffer.size(), chunk_size_ - offset_);
    std::fill_n(buffer.data(), n, static_cast<char>('a' + next_ % 26));
    offset_ += n;
    if (offset_ == chunk_size_) offset_ = 0, ++next_;
    return n;
  }
  Status Rewind() override {
    next_ = 0;
    offset_ = 0;
    return absl::OkStatus();
  }
  int64_t Size() const override { return known_size_ ? int64_t(chunks_ * chunk_size_) : -1; }
  std::string Expected() const {
    std::string s;
    for (int i = 0; i < chunks_; ++i) s.append(chunk_size_, static_cast<char>('a' + i % 26));
    return s;
  }
  bool fail_ = false;

 private:
  int chunks_;
  size_t chunk_size_;
  bool known_size_;
  int next_ = 0;
  size_t offset_ = 0;
};

// Waits (bounded) until the client goes away: a request that never gets an answer.
void Hang(ResponseWriter& w) {
  for (int i = 0; i < 1000 && !w.PeerClosed(); ++i) std::this_thread::sleep_for(milliseconds(10));
}

class HttpClientTest : public ::testing::Test {
 protected:
  void StartServer(Handler h, bool tls = false) {
    ServerOptions opts;
    opts.max_body_bytes = 16 * 1024 * 1024;
    if (tls) opts.tls = TlsConfig{TestData("server.crt"), TestData("server.key"), TestData("ca.crt")};
    auto counting = [this, h = std::move(h)](Request& req, ResponseWriter& w) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        remotes_.insert(req.remote_address);
      }
      h(req, w);
    };
    auto s = Server::Start(std::move(opts), std::move(counting));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    base_ = std::string(tls ? "https://" : "http://") + server_->address();
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  std::unique_ptr<Client> NewClient(ClientOptions o = {}) {
    auto c = Client::Create(std::move(o));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  ClientOptions TlsOptions() {
    ClientOptions o;
    o.ca.data = TestData("ca.crt");
    return o;
  }
  size_t Connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return remotes_.size();
  }

  std::unique_ptr<Server> server_;
  std::string base_;
  std::mutex mu_;
  std::set<std::string> remotes_;  // remote ip:port of every request: one per connection
};

Handler Echo() {
  return [](Request& req, ResponseWriter& w) {
    std::string te = req.Header("Transfer-Encoding");
    std::string reply = req.method + " " + req.target + " x=" + req.Header("X-Test") +
                        " len=" + req.Header("Content-Length") + " te=" + te +
                        " body=" + req.body;
    (void)w.Send(201, {{"Content-Type", "text/plain"}, {"X-Reply", "yes"}}, reply);
  };
}

TEST_F(HttpClientTest, SendsMethodsBodiesAndHeaders) {
  StartServer(Echo());
  auto client = NewClient();
  for (std::string method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    ClientRequest req;
    req.method = method;
    req.url = base_ + "/api/v1/pods?limit=5";
    req.headers = {{"X-Test", "v1"}, {"Content-Type", "application/json"}};
    if (method != "GET") req.body = "{\"m\":\"" + method + "\"}";
    auto resp = client->Send(req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    EXPECT_EQ(resp->status, 201);
    EXPECT_EQ(resp->Header("x-reply"), "yes");
    EXPECT_EQ(resp->Header("CONTENT-TYPE"), "text/plain");
    std::string want_len = method == "GET" ? "" : std::to_string(req.body.size());
    EXPECT_EQ(resp->body, method + " /api/v1/pods?limit=5 x=v1 len=" + want_len +
                              " te= body=" + req.body);
  }
  // POST with an empty body still says so.
  auto resp = client->Send({.method = "POST", .url = base_ + "/e"});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "POST /e x= len=0 te= body=");
}

TEST_F(HttpClientTest, HttpErrorsAreResponsesNotStatuses) {
  StartServer([](Request&, ResponseWriter& w) { (void)w.Send(404, {}, "{\"reason\":\"NotFound\"}"); });
  auto resp = NewClient()->Send({.url = base_ + "/missing"});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 404);
  EXPECT_EQ(resp->body, "{\"reason\":\"NotFound\"}");
}

TEST_F(HttpClientTest, StreamsRequestBodyOfUnknownLengthChunked) {
  StartServer(Echo());
  auto client = NewClient();
  PatternSource source(40, 10000, /*known_size=*/false);
  ClientRequest req{.method = "PUT", .url = base_ + "/upload"};
  req.body_source = &source;
  auto resp = client->Send(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "PUT /upload x= len= te=chunked body=" + source.Expected());
}

TEST_F(HttpClientTest, StreamsRequestBodyOfKnownLength) {
  StartServer(Echo());
  PatternSource source(3, 70000, /*known_size=*/true);
  ClientRequest req{.method = "POST", .url = base_ + "/upload"};
  req.body_source = &source;
  auto resp = NewClient()->Send(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "POST /upload x= len=210000 te= body=" + source.Expected());
}

TEST_F(HttpClientTest, BodySourceErrorIsReturned) {
  StartServer(Echo());
  PatternSource source(3, 100, false);
  source.fail_ = true;
  ClientRequest req{.method = "PUT", .url = base_ + "/upload"};
  req.body_source = &source;
  auto resp = NewClient()->Send(req);
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kDataLoss) << resp.status();
  EXPECT_THAT(resp.status().message(), HasSubstr("disk on fire"));
}

TEST_F(HttpClientTest, DeliversStreamedResponseInChunks) {
  StartServer([](Request&, ResponseWriter& w) {
    (void)w.BeginStream(200, {{"Content-Type", "application/json"}});
    for (int i = 0; i < 3; ++i) {
      (void)w.WriteChunk("{\"n\":" + std::to_string(i) + "}\n");
      std::this_thread::sleep_for(milliseconds(20));
    }
    (void)w.EndStream();
  });
  std::vector<std::string> chunks;
  ClientRequest req{.url = base_ + "/watch"};
  req.on_body = [&](const ClientResponse& head, std::string_view chunk) {
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.Header("content-type"), "application/json");
    chunks.emplace_back(chunk);
    return true;
  };
  auto resp = NewClient()->Send(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, "");
  std::string all;
  for (const auto& c : chunks) all += c;
  EXPECT_EQ(all, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
  EXPECT_GE(chunks.size(), 2u);  // delivered as they came, not at the end
}

TEST_F(HttpClientTest, StreamingCallbackStopsTransferEarly) {
  std::atomic<bool> saw_close{false};
  StartServer([&](Request&, ResponseWriter& w) {
    (void)w.BeginStream(200, {});
    for (int i = 0; i < 1000 && !w.PeerClosed(); ++i) {
      if (!w.WriteChunk("event " + std::to_string(i) + "\n").ok()) break;
      std::this_thread::sleep_for(milliseconds(10));
    }
    saw_close = true;
  });
  int calls = 0;
  ClientRequest req{.url = base_ + "/watch"};
  req.timeout = milliseconds(0);  // a watch has no overall limit
  req.on_body = [&](const ClientResponse&, std::string_view chunk) {
    EXPECT_THAT(std::string(chunk), HasSubstr("event"));
    return ++calls < 3;
  };
  auto start = Clk::now();
  auto resp = NewClient()->Send(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(calls, 3);
  EXPECT_LT(Clk::now() - start, std::chrono::seconds(8));
  for (int i = 0; i < 500 && !saw_close; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_TRUE(saw_close.load());
}

TEST_F(HttpClientTest, BufferedBodyOverLimitIsResourceExhausted) {
  StartServer([](Request&, ResponseWriter& w) { (void)w.Send(200, {}, std::string(10000, 'x')); });
  ClientRequest req{.url = base_ + "/big"};
  req.max_response_bytes = 1000;
  auto resp = NewClient()->Send(req);
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kResourceExhausted) << resp.status();
}

TEST_F(HttpClientTest, ReusesConnections) {
  StartServer(Echo());
  auto client = NewClient();
  for (int i = 0; i < 20; ++i) {
    ClientRequest req{.method = i % 2 ? "GET" : "PUT", .url = base_ + "/r/" + std::to_string(i)};
    if (i % 2 == 0) req.body = "payload";
    auto resp = client->Send(req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    ASSERT_EQ(resp->status, 201);
  }
  EXPECT_EQ(Connections(), 1u);
}

TEST_F(HttpClientTest, ReusesTlsConnections) {
  StartServer(Echo(), /*tls=*/true);
  auto client = NewClient(TlsOptions());
  for (int i = 0; i < 10; ++i) {
    auto resp = client->Send({.url = base_ + "/r"});
    ASSERT_TRUE(resp.ok()) << resp.status();
  }
  EXPECT_EQ(Connections(), 1u);
}

TEST_F(HttpClientTest, ConcurrentRequestsFromEightThreads) {
  StartServer(Echo());
  auto client = NewClient();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string body = "t" + std::to_string(t) + "i" + std::to_string(i);
        auto resp = client->Send({.method = "POST", .url = base_ + "/c", .body = body});
        if (resp.ok() && resp->body == "POST /c x= len=" + std::to_string(body.size()) +
                                           " te= body=" + body) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_LE(Connections(), 16u);  // pooled: far fewer connections than requests
}

TEST_F(HttpClientTest, LimitsRequestsInFlightPerHost) {
  std::atomic<int> in_flight{0}, peak{0};
  StartServer([&](Request&, ResponseWriter& w) {
    int now = ++in_flight;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    std::this_thread::sleep_for(milliseconds(50));
    --in_flight;
    (void)w.Send(200, {}, "ok");
  });
  ClientOptions o;
  o.max_connections_per_host = 2;
  auto client = NewClient(o);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      if (client->Send({.url = base_ + "/slow"}).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_LE(peak.load(), 2);
}

TEST_F(HttpClientTest, TlsVerifiesWithCaDataAndFile) {
  StartServer(Echo(), /*tls=*/true);
  auto resp = NewClient(TlsOptions())->Send({.url = base_ + "/x"});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 201);
  ClientOptions o;
  o.ca.file = TestDataPath("ca.crt");
  resp = NewClient(o)->Send({.url = base_ + "/x"});
  ASSERT_TRUE(resp.ok()) << resp.status();
}

TEST_F(HttpClientTest, TlsWithWrongCaFailsNamingTheHost) {
  StartServer(Echo(), /*tls=*/true);
  ClientOptions o;
  o.ca.data = TestData("rogue.crt");
  auto resp = NewClient(o)->Send({.url = base_ + "/x?token=secret"});
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kFailedPrecondition) << resp.status();
  EXPECT_THAT(resp.status().message(), HasSubstr("TLS verification of " + base_ + " failed: "));
  EXPECT_THAT(resp.status().message(), Not(HasSubstr("secret")));
}

TEST_F(HttpClientTest, TlsInsecureSkipVerify) {
  StartServer(Echo(), /*tls=*/true);
  ClientOptions o;
  o.insecure_skip_verify = true;
  auto resp = NewClient(o)->Send({.url = base_ + "/x"});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 201);
}

TEST_F(HttpClientTest, TlsPresentsClientCertificate) {
  StartServer([](Request& req, ResponseWriter& w) {
    (void)w.Send(200, {}, req.peer ? req.peer->common_name : "anonymous");
  }, /*tls=*/true);
  ClientOptions o = TlsOptions();
  o.client_cert.data = TestData("client.crt");
  o.client_key.data = TestData("client.key");
  auto resp = NewClient(o)->Send({.url = base_ + "/whoami"});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "alice");
  ClientOptions files = TlsOptions();
  files.client_cert.file = TestDataPath("client.crt");
  files.client_key.file = TestDataPath("client.key");
  resp = NewClient(files)->Send({.url = base_ + "/whoami"});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "alice");
  resp = NewClient(TlsOptions())->Send({.url = base_ + "/whoami"});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "anonymous");
}

TEST_F(HttpClientTest, TlsServerNameOverridesVerificationName) {
  StartServer([](Request& req, ResponseWriter& w) { (void)w.Send(200, {}, req.Header("Host")); },
              /*tls=*/true);
  ClientOptions o = TlsOptions();
  o.tls_server_name = "localhost";  // in the certificate; the URL's 127.0.0.1 is too
  auto resp = NewClient(o)->Send({.url = base_ + "/x"});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, server_->address());  // Host still names the real address

  o.tls_server_name = "wrong.example";
  resp = NewClient(o)->Send({.url = base_ + "/x"});
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kFailedPrecondition) << resp.status();
  EXPECT_THAT(resp.status().message(), HasSubstr("TLS verification of " + base_));
}

TEST_F(HttpClientTest, RequestTimeoutIsDeadlineExceeded) {
  StartServer([](Request&, ResponseWriter& w) { Hang(w); });
  ClientRequest req{.url = base_ + "/hang"};
  req.timeout = milliseconds(200);
  auto start = Clk::now();
  auto resp = NewClient()->Send(req);
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kDeadlineExceeded) << resp.status();
  EXPECT_LT(Clk::now() - start, std::chrono::seconds(10));
}

TEST_F(HttpClientTest, CancellationAbortsHangingRequest) {
  StartServer([](Request&, ResponseWriter& w) { Hang(w); });
  auto client = NewClient();
  CancellationSource source;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(200));
    source.Cancel("shutting down");
  });
  ClientRequest req{.url = base_ + "/hang"};
  req.cancel = source.token();
  auto start = Clk::now();
  auto resp = client->Send(req);
  canceller.join();
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kCancelled) << resp.status();
  EXPECT_LT(Clk::now() - start, std::chrono::seconds(10));
  // The client stays usable.
  source = CancellationSource();
  StartServer(Echo());
  auto after = client->Send({.url = base_ + "/ok"});
  ASSERT_TRUE(after.ok()) << after.status();
}

TEST_F(HttpClientTest, CancellationAbortsStream) {
  StartServer([](Request&, ResponseWriter& w) {
    (void)w.BeginStream(200, {});
    (void)w.WriteChunk("first\n");
    Hang(w);
  });
  CancellationSource source;
  ClientRequest req{.url = base_ + "/watch"};
  req.cancel = source.token();
  req.on_body = [&](const ClientResponse&, std::string_view) {
    source.Cancel();
    return true;
  };
  auto resp = NewClient()->Send(req);
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kCancelled) << resp.status();
}

TEST_F(HttpClientTest, ConnectionRefusedIsUnavailable) {
  StartServer(Echo());
  std::string base = base_;
  server_->Stop();
  auto resp = NewClient()->Send({.url = base + "/x"});
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kUnavailable) << resp.status();
}

TEST_F(HttpClientTest, ConnectTimeoutIsUnavailable) {
  // A listener that never accepts, with its backlog filled: Linux drops further SYNs, so the
  // client's connect hangs.
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  acceptor.listen(0);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(acceptor.local_endpoint().port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(fd);
  }
  std::this_thread::sleep_for(milliseconds(50));
  ClientOptions o;
  o.connect_timeout = milliseconds(200);
  ClientRequest req{
      .url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/x"};
  req.timeout = milliseconds(5000);
  auto resp = NewClient(o)->Send(req);
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kUnavailable) << resp.status();
  for (int fd : fillers) ::close(fd);
}

TEST_F(HttpClientTest, SendsThroughConfiguredProxy) {
  StartServer([](Request& req, ResponseWriter& w) { (void)w.Send(200, {}, req.target); });
  ClientOptions o;
  o.proxy_url = base_;  // the test server plays an HTTP proxy: it sees absolute-form targets
  auto resp = NewClient(o)->Send({.url = "http://backend.invalid:8080/api?x=1"});
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "http://backend.invalid:8080/api?x=1");
}

// gzip (RFC 1952) of `data` with zlib.
std::string Gzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_F(HttpClientTest, AcceptGzipDecodesOnlyWhenAsked) {
  const std::string plain(100000, 'k');
  StartServer([&](Request& req, ResponseWriter& w) {
    if (req.Header("Accept-Encoding").find("gzip") != std::string::npos) {
      (void)w.Send(200, {{"Content-Encoding", "gzip"}}, Gzip(plain));
    } else {
      (void)w.Send(200, {}, "identity:" + plain.substr(0, 10));
    }
  });
  ClientOptions gz;
  gz.accept_gzip = true;
  auto client = NewClient(gz);
  auto r = client->Send({.url = base_ + "/"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, plain);
  // Object-storage clients keep the default: no Accept-Encoding, bytes as stored.
  auto raw = NewClient()->Send({.url = base_ + "/"});
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->body, "identity:kkkkkkkkkk");
}

TEST_F(HttpClientTest, RejectsMalformedRequests) {
  auto client = NewClient();
  EXPECT_EQ(client->Send({.url = "not a url"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->Send({.url = "ftp://127.0.0.1/x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ClientRequest req{.url = "http://127.0.0.1:1/x"};
  req.headers = {{"Authorization", "Bearer sekrit\r\nX-Evil: 1"}};
  auto resp = client->Send(req);
  EXPECT_EQ(resp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(resp.status().message(), Not(HasSubstr("sekrit")));
}

TEST(HttpClientCreateTest, RejectsBadOptions) {
  ClientOptions bad_ca;
  bad_ca.ca.data = "not pem";
  EXPECT_EQ(Client::Create(bad_ca).status().code(), absl::StatusCode::kInvalidArgument);
  ClientOptions cert_only;
  cert_only.client_cert.data = TestData("client.crt");
  EXPECT_EQ(Client::Create(cert_only).status().code(), absl::StatusCode::kInvalidArgument);
  ClientOptions bad_proxy;
  bad_proxy.proxy_url = "gopher://proxy:70";
  EXPECT_EQ(Client::Create(bad_proxy).status().code(), absl::StatusCode::kInvalidArgument);
}

// A one-shot server speaking raw HTTP, for what Beast's writer cannot send (repeated headers).
TEST(HttpClientRawTest, KeepsRepeatedHeaders) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::thread server([&] {
    asio::ip::tcp::socket sock(io);
    acceptor.accept(sock);
    asio::streambuf buf;
    asio::read_until(sock, buf, "\r\n\r\n");
    std::string reply =
        "HTTP/1.1 200 OK\r\nWarning: 299 - \"first\"\r\nX-Folded: a\r\n b\r\n"
        "warning: 299 - \"second\"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    asio::write(sock, asio::buffer(reply));
  });
  auto client = Client::Create({});
  ASSERT_TRUE(client.ok());
  auto resp = (*client)->Send(
      {.url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/"});
  server.join();
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->body, "ok");
  EXPECT_THAT(resp->HeaderValues("WARNING"),
              ::testing::ElementsAre("299 - \"first\"", "299 - \"second\""));
  EXPECT_EQ(resp->Header("x-folded"), "a b");
}

}  // namespace
}  // namespace lifeboat::http
