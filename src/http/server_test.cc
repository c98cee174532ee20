#include "lifeboat/http/server.h"

#include <curl/curl.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"

namespace lifeboat::http {
namespace {

std::string TestData(const std::string& name) {
  std::ifstream in(std::string(LIFEBOAT_SOURCE_DIR) + "/test/testdata/tls/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t Collect(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

struct CurlResult {
  long status = 0;
  std::string body;
  CURLcode code = CURLE_OK;
};

struct CurlOptions {
  std::string body;
  std::string method;
  bool tls = false;
  std::string client_cert, client_key;
  long timeout_ms = 10000;
};

CurlResult Fetch(CURL* curl, const std::string& url, const CurlOptions& o = {}) {
  CurlResult r;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, o.timeout_ms);
  if (!o.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, o.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(o.body.size()));
  }
  if (!o.method.empty()) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, o.method.c_str());
  if (o.tls) {
    std::string ca = std::string(LIFEBOAT_SOURCE_DIR) + "/test/testdata/tls/ca.crt";
    curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
    if (!o.client_cert.empty()) {
      std::string dir = std::string(LIFEBOAT_SOURCE_DIR) + "/test/testdata/tls/";
      curl_easy_setopt(curl, CURLOPT_SSLCERT, (dir + o.client_cert).c_str());
      curl_easy_setopt(curl, CURLOPT_SSLKEY, (dir + o.client_key).c_str());
    }
  }
  r.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(Handler h, bool tls = false) {
    ServerOptions opts;
    opts.max_body_bytes = 1024;
    opts.error_body = [](int status, const std::string& msg) {
      return std::make_pair(std::string("application/json"),
                            "{\"code\":" + std::to_string(status) + "}");
    };
    if (tls) {
      opts.tls = TlsConfig{TestData("server.crt"), TestData("server.key"), TestData("ca.crt")};
    }
    auto s = Server::Start(std::move(opts), std::move(h));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    base_ = std::string(tls ? "https://" : "http://") + server_->address();
  }
  void SetUp() override { curl_ = curl_easy_init(); }
  void TearDown() override {
    curl_easy_cleanup(curl_);
    if (server_) server_->Stop();
  }

  CURL* curl_ = nullptr;
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(HttpServerTest, DecodesPathAndQueryAndAnswers) {
  StartServer([](Request& req, ResponseWriter& w) {
    std::string body = req.method + " " + req.path + " ls=" + req.Query("labelSelector") +
                       " body=" + req.body;
    ASSERT_TRUE(w.Send(201, {{"Content-Type", "text/plain"}}, body).ok());
  });
  CurlResult r = Fetch(curl_, base_ + "/api/v1/namespaces/a%2Db?labelSelector=app%3Dweb%2Ctier+in+(x)",
                       {.body = "hello"});
  ASSERT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "POST /api/v1/namespaces/a-b ls=app=web,tier in (x) body=hello");
}

TEST_F(HttpServerTest, KeepsConnectionsAlive) {
  std::atomic<int> calls{0};
  StartServer([&](Request&, ResponseWriter& w) {
    ++calls;
    (void)w.Send(200, {}, "ok");
  });
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Fetch(curl_, base_ + "/x").status, 200);
  long connects = -1;
  curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &connects);
  EXPECT_EQ(connects, 0) << "the last request should have reused the connection";
  EXPECT_EQ(calls.load(), 5);
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(HttpServerTest, RejectsOversizedBodiesWith413) {
  bool called = false;
  StartServer([&](Request&, ResponseWriter& w) {
    called = true;
    (void)w.Send(200, {}, "");
  });
  CurlResult r = Fetch(curl_, base_ + "/upload", {.body = std::string(4096, 'x')});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "{\"code\":413}");
  EXPECT_FALSE(called);
}

TEST_F(HttpServerTest, StreamsChunks) {
  StartServer([](Request&, ResponseWriter& w) {
    ASSERT_TRUE(w.BeginStream(200, {{"Content-Type", "application/json"}}).ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.WriteChunk("{\"n\":" + std::to_string(i) + "}\n").ok());
    ASSERT_TRUE(w.EndStream().ok());
  });
  CurlResult r = Fetch(curl_, base_ + "/watch");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
}

TEST_F(HttpServerTest, HandlerSeesWhenStreamingClientGoesAway) {
  std::atomic<bool> saw_close{false};
  StartServer([&](Request&, ResponseWriter& w) {
    (void)w.BeginStream(200, {});
    (void)w.WriteChunk("first\n");
    for (int i = 0; i < 500 && !w.PeerClosed(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    saw_close = w.PeerClosed();
  });
  CurlResult r = Fetch(curl_, base_ + "/watch", {.timeout_ms = 300});
  EXPECT_EQ(r.code, CURLE_OPERATION_TIMEDOUT);
  curl_easy_cleanup(curl_);
  curl_ = curl_easy_init();
  for (int i = 0; i < 500 && !saw_close; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(saw_close.load());
}

TEST_F(HttpServerTest, TlsReportsVerifiedClientCertificates) {
  StartServer(
      [](Request& req, ResponseWriter& w) {
        std::string who = req.peer ? req.peer->common_name : "anonymous";
        if (req.peer) {
          for (const auto& o : req.peer->organizations) who += "," + o;
        }
        (void)w.Send(200, {}, who);
      },
      /*tls=*/true);
  EXPECT_EQ(Fetch(curl_, base_ + "/", {.tls = true}).body, "anonymous");
  curl_easy_reset(curl_);
  EXPECT_EQ(Fetch(curl_, base_ + "/", {.tls = true, .client_cert = "client.crt", .client_key = "client.key"}).body,
            "alice,devs,ops");
  curl_easy_reset(curl_);
  // A self-signed certificate claiming system:masters must not be believed.
  EXPECT_EQ(Fetch(curl_, base_ + "/", {.tls = true, .client_cert = "rogue.crt", .client_key = "rogue.key"}).body,
            "anonymous");
}

TEST_F(HttpServerTest, UpgradesToWebSocketWithSubprotocol) {
  StartServer([](Request& req, ResponseWriter& w) {
    ASSERT_TRUE(IsWebSocketUpgrade(req));
    auto ws = w.AcceptWebSocket("v5.channel.k8s.io");
    ASSERT_TRUE(ws.ok()) << ws.status();
    auto msg = (*ws)->Read();
    ASSERT_TRUE(msg.ok()) << msg.status();
    ASSERT_TRUE((*ws)->Write("echo:" + *msg).ok());
    (void)(*ws)->Close();
  });
  namespace beast = boost::beast;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket sock(io);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), server_->port()});
  beast::websocket::stream<boost::asio::ip::tcp::socket&> ws(sock);
  std::string chosen;
  ws.set_option(beast::websocket::stream_base::decorator([](beast::websocket::request_type& r) {
    r.set(beast::http::field::sec_websocket_protocol, "v5.channel.k8s.io, v4.channel.k8s.io");
  }));
  beast::websocket::response_type res;
  ws.handshake(res, "127.0.0.1", "/exec");
  EXPECT_EQ(std::string(res[beast::http::field::sec_websocket_protocol]), "v5.channel.k8s.io");
  ws.binary(true);
  ws.write(boost::asio::buffer(std::string("hi")));
  beast::flat_buffer buf;
  ws.read(buf);
  EXPECT_EQ(beast::buffers_to_string(buf.data()), "echo:hi");
  beast::error_code ec;
  ws.read(buf, ec);
  EXPECT_EQ(ec, beast::websocket::error::closed);
}

// A handler takes over the connection after `101 Switching Protocols`: a reader thread blocked
// in Read while the handler thread writes a large answer (TLS streams must not be used from
// two threads at once), and bytes the client sent right after its request are not lost.
void RunUpgradeTest(HttpServerTest* t, Server& server, bool tls, std::string* server_got) {
  namespace asio = boost::asio;
  (void)t;
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.add_certificate_authority(asio::buffer(TestData("ca.crt")));
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> ssl(io, ctx);
  asio::ip::tcp::socket& sock = ssl.next_layer();
  sock.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  if (tls) ssl.handshake(asio::ssl::stream_base::client);
  auto write = [&](const std::string& s) {
    if (tls) asio::write(ssl, asio::buffer(s)); else asio::write(sock, asio::buffer(s));
  };
  write("GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test/1\r\n\r\nearly-");
  write("more");
  std::string in;
  boost::system::error_code ec;
  const size_t want = 1 << 20;
  for (;;) {
    char buf[65536];
    size_t n = tls ? ssl.read_some(asio::buffer(buf), ec) : sock.read_some(asio::buffer(buf), ec);
    in.append(buf, n);
    size_t end = in.find("\r\n\r\n");
    if (ec || (end != std::string::npos && in.size() - end - 4 >= want)) break;
  }
  ASSERT_FALSE(ec) << ec.message();
  size_t end = in.find("\r\n\r\n");
  std::string head = in.substr(0, end);
  EXPECT_EQ(head.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Upgrade: test/1"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Chosen: yes"), std::string::npos) << head;
  EXPECT_EQ(in.substr(end + 4), std::string(want, 'x'));
  sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  sock.close(ec);
  for (int i = 0; i < 500 && server.open_connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server.open_connections(), 0u);
  EXPECT_EQ(*server_got, "early-more");
}

Handler UpgradeHandler(std::string* got) {
  return [got](Request& req, ResponseWriter& w) {
    ASSERT_EQ(req.Header("Upgrade"), "test/1");
    auto up = w.AcceptUpgrade({{"Connection", "Upgrade"}, {"Upgrade", "test/1"}, {"X-Chosen", "yes"}});
    ASSERT_TRUE(up.ok()) << up.status();
    std::string local;
    std::thread reader([&] {
      char buf[7];  // small on purpose: several reads
      for (;;) {
        auto n = (*up)->Read(buf);
        if (!n.ok()) {
          EXPECT_EQ(n.status().code(), absl::StatusCode::kNotFound) << n.status();
          return;
        }
        local.append(buf, *n);
      }
    });
    std::string big(1 << 20, 'x');
    for (size_t off = 0; off < big.size(); off += 100000) {
      EXPECT_TRUE((*up)->Write(std::string_view(big).substr(off, 100000)).ok());
    }
    reader.join();
    *got = local;
  };
}

TEST_F(HttpServerTest, UpgradesToARawByteStream) {
  std::string got;
  StartServer(UpgradeHandler(&got));
  RunUpgradeTest(this, *server_, false, &got);
}

TEST_F(HttpServerTest, UpgradesToARawByteStreamOverTls) {
  std::string got;
  StartServer(UpgradeHandler(&got), true);
  RunUpgradeTest(this, *server_, true, &got);
}

TEST_F(HttpServerTest, UpgradedConnectionShutdownWakesAReader) {
  std::atomic<bool> reader_done{false};
  StartServer([&](Request&, ResponseWriter& w) {
    auto up = w.AcceptUpgrade({{"Connection", "Upgrade"}, {"Upgrade", "test/1"}});
    ASSERT_TRUE(up.ok()) << up.status();
    std::thread reader([&] {
      char buf[16];
      while ((*up)->Read(buf).ok()) {
      }
      reader_done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (*up)->Shutdown();
    reader.join();
    EXPECT_FALSE((*up)->Write("late").ok());
  }, true);
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  asio::ssl::stream<asio::ip::tcp::socket> ssl(io, ctx);
  ssl.next_layer().connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  ssl.handshake(asio::ssl::stream_base::client);
  asio::write(ssl, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test/1\r\n\r\n")));
  std::string in;
  boost::system::error_code ec;
  for (;;) {
    char buf[4096];
    size_t n = ssl.read_some(asio::buffer(buf), ec);
    in.append(buf, n);
    if (ec) break;
  }
  EXPECT_EQ(in.rfind("HTTP/1.1 101", 0), 0u) << in;
  for (int i = 0; i < 500 && server_->open_connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server_->open_connections(), 0u);
  EXPECT_TRUE(reader_done.load());
}

TEST_F(HttpServerTest, StopClosesLongRunningStreams) {
  std::atomic<bool> started{false};
  StartServer([&](Request&, ResponseWriter& w) {
    (void)w.BeginStream(200, {});
    started = true;
    while (!w.PeerClosed()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  std::thread client([&] { Fetch(curl_, base_ + "/watch", {.timeout_ms = 20000}); });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server_->Stop();
  client.join();
  EXPECT_EQ(server_->open_connections(), 0u);
}

TEST(HttpServerStartTest, RejectsBadAddressesAndTlsMaterial) {
  auto noop = [](Request&, ResponseWriter&) {};
  EXPECT_EQ(Server::Start({.listen = "nonsense"}, noop).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Server::Start({.listen = "127.0.0.1:99999"}, noop).status().code(),
            absl::StatusCode::kInvalidArgument);
  ServerOptions bad_tls;
  bad_tls.tls = TlsConfig{"not a cert", "not a key", ""};
  EXPECT_EQ(Server::Start(bad_tls, noop).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PercentDecodeTest, DecodesAndRejectsBadEscapes) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(*PercentDecode("a+b"), "a+b");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_FALSE(PercentDecode("%2").ok());
  EXPECT_FALSE(PercentDecode("%zz").ok());
}

}  // namespace
}  // namespace lifeboat::http
