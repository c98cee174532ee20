#include "lifeboat/http/server.h"

#include <curl/curl.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
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
