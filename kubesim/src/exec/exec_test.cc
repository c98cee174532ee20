#include "kubesim/src/exec/exec.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "kubesim/src/exec/exec_internal.h"

namespace kubesim {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace asio = boost::asio;
using exec_internal::ExitStatusJson;
using exec_internal::FormatLog;
using exec_internal::LogOptions;
using exec_internal::Process;
using exec_internal::ProcessOptions;

struct Captured {
  std::string out, err;
};

exec_internal::ExitResult RunCapture(Process& p, Captured& c) {
  return p.Pump([&](int ch, std::string_view d) {
    (ch == 1 ? c.out : c.err).append(d);
    return true;
  });
}

fs::path TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "kubesim_exec_test.XXXXXX").string();
  char* d = ::mkdtemp(tmpl.data());
  return d ? fs::path(d) : fs::path();
}

// Processes of process group `pgid` that are not zombies (an orphaned zombie waits for init).
int LiveInGroup(pid_t pgid) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::ifstream in(e.path() / "stat");
    std::string line;
    if (!in || !std::getline(in, line)) continue;
    size_t paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(line.substr(paren + 2));
    char state;
    long ppid, pgrp;
    if (!(rest >> state >> ppid >> pgrp)) continue;
    if (pgrp == pgid && state != 'Z') ++n;
  }
  return n;
}

TEST(ProcessTest, CapturesStdoutStderrAndExitCode) {
  auto p = Process::Start({.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"},
                           .cwd = "/",
                           .env = {"PATH=/usr/bin:/bin"}});
  ASSERT_TRUE(p.ok()) << p.status();
  Captured c;
  auto r = RunCapture(**p, c);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.killed);
  EXPECT_EQ(c.out, "out\n");
  EXPECT_EQ(c.err, "err\n");
}

TEST(ProcessTest, RunsInCwdWithGivenEnvironment) {
  fs::path dir = TempDir();
  auto p = Process::Start({.argv = {"sh", "-c", "pwd; echo $POD_NAME; echo ${HOME:-unset}"},
                           .cwd = dir,
                           .env = {"PATH=/usr/bin:/bin", "POD_NAME=web-0"}});
  ASSERT_TRUE(p.ok()) << p.status();
  Captured c;
  EXPECT_EQ(RunCapture(**p, c).exit_code, 0);
  EXPECT_EQ(c.out, fs::canonical(dir).string() + "\nweb-0\nunset\n");
  fs::remove_all(dir);
}

TEST(ProcessTest, StdinIsPassedAndClosed) {
  auto p = Process::Start({.argv = {"cat"}, .cwd = "/", .env = {"PATH=/usr/bin:/bin"}});
  ASSERT_TRUE(p.ok()) << p.status();
  std::thread writer([&] {
    std::string big(200000, 'x');
    EXPECT_TRUE((*p)->WriteStdin("hello ").ok());
    EXPECT_TRUE((*p)->WriteStdin(big).ok());  // more than a pipe holds: back pressure
    (*p)->CloseStdin();
  });
  Captured c;
  auto r = RunCapture(**p, c);
  writer.join();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(c.out.size(), 6u + 200000u);
  EXPECT_EQ(c.out.substr(0, 6), "hello ");
}

TEST(ProcessTest, MissingExecutableIsNotFound) {
  auto p = Process::Start({.argv = {"no-such-command-kubesim"}, .cwd = "/", .env = {"PATH=/usr/bin:/bin"}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(p.status().message(), "exec: \"no-such-command-kubesim\": executable file not found in $PATH");
}

TEST(ProcessTest, CancelKillsTheProcessGroup) {
  auto p = Process::Start({.argv = {"sh", "-c", "sleep 100 & sleep 100; echo never"},
                           .cwd = "/",
                           .env = {"PATH=/usr/bin:/bin"}});
  ASSERT_TRUE(p.ok()) << p.status();
  pid_t pid = (*p)->pid();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    (*p)->Cancel();
  });
  auto start = std::chrono::steady_clock::now();
  Captured c;
  auto r = RunCapture(**p, c);
  canceller.join();
  EXPECT_TRUE(r.killed);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(c.out, "");
  // The whole group is gone (the background sleep too) and the child is reaped.
  EXPECT_LT(::waitpid(pid, nullptr, WNOHANG), 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (LiveInGroup(pid) > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(LiveInGroup(pid), 0);
}

TEST(ProcessTest, SinkFailureKills) {
  auto p = Process::Start({.argv = {"yes"}, .cwd = "/", .env = {"PATH=/usr/bin:/bin"}});
  ASSERT_TRUE(p.ok()) << p.status();
  size_t got = 0;
  auto r = (*p)->Pump([&](int, std::string_view d) {
    got += d.size();
    return got < 100000;
  });
  EXPECT_TRUE(r.killed);
  EXPECT_LE(got, 100000u + 32 * 1024);
}

TEST(ProcessTest, TtyMergesOutput) {
  auto p = Process::Start({.argv = {"sh", "-c", "test -t 0 && echo tty; echo err >&2"},
                           .cwd = "/",
                           .env = {"PATH=/usr/bin:/bin"},
                           .tty = true});
  ASSERT_TRUE(p.ok()) << p.status();
  Captured c;
  EXPECT_EQ(RunCapture(**p, c).exit_code, 0);
  EXPECT_EQ(c.out, "tty\r\nerr\r\n");
  EXPECT_EQ(c.err, "");
}

TEST(ProcessTest, DestructorReapsRunningChild) {
  pid_t pid;
  {
    auto p = Process::Start({.argv = {"sleep", "100"}, .cwd = "/", .env = {"PATH=/usr/bin:/bin"}});
    ASSERT_TRUE(p.ok()) << p.status();
    pid = (*p)->pid();
  }
  EXPECT_LT(::waitpid(pid, nullptr, WNOHANG), 0);  // ECHILD: already reaped
}

TEST(FormatLogTest, StripsTimestampsAndTails) {
  std::string content =
      "2026-01-02T03:04:05Z kubesim: container app started\n"
      "2026-01-02T03:04:06Z second line\n"
      "plain line\n"
      "2026-01-02T03:04:07.123456789Z last\n";
  EXPECT_EQ(FormatLog(content, {}), "kubesim: container app started\nsecond line\nplain line\nlast\n");
  EXPECT_EQ(FormatLog(content, {.tail_lines = 2}), "plain line\nlast\n");
  EXPECT_EQ(FormatLog(content, {.tail_lines = 0}), "");
  EXPECT_EQ(FormatLog(content, {.tail_lines = 1, .timestamps = true}), "2026-01-02T03:04:07.123456789Z last\n");
  EXPECT_EQ(FormatLog(content, {.limit_bytes = 5}), "kubes");
  auto since = exec_internal::ParseRfc3339("2026-01-02T03:04:06Z");
  ASSERT_TRUE(since);
  EXPECT_EQ(FormatLog(content, {.since_unix = since}), "second line\nplain line\nlast\n");
  EXPECT_EQ(FormatLog("no newline", {}), "no newline");
  EXPECT_EQ(FormatLog("", {.tail_lines = 3}), "");
}

TEST(ExitStatusTest, MatchesKubelet) {
  EXPECT_EQ(ExitStatusJson({"ls"}, 0), R"({"metadata":{},"status":"Success"})");
  EXPECT_EQ(ExitStatusJson({"sh", "-c", "exit 3"}, 3),
            R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: )"
            R"(error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode",)"
            R"("details":{"causes":[{"reason":"ExitCode","message":"3"}]}})");
}

// ExecService behind a real HTTP server, with a Beast WebSocket client.
class ExecServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = TempDir();
    store_ = *Store::Open({});
    cluster_ = std::make_unique<Cluster>(store_.get(), &registry_, Cluster::Options{});
    ASSERT_TRUE(cluster_->Bootstrap().ok());
    exec_ = std::make_unique<ExecService>(cluster_.get(), data_dir_);
    auto server = lifeboat::http::Server::Start(
        {}, [this](lifeboat::http::Request& req, lifeboat::http::ResponseWriter& w) {
          // /api/v1/namespaces/<ns>/pods/<pod>/<sub>
          std::vector<std::string> parts;
          std::string p = req.path;
          size_t start = 1;
          while (start <= p.size()) {
            size_t slash = p.find('/', start);
            parts.push_back(p.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
            if (slash == std::string::npos) break;
            start = slash + 1;
          }
          ASSERT_EQ(parts.size(), 7u) << p;
          exec_->Handle(req, w, parts[3], parts[5]);
        });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    server_->Stop();
    fs::remove_all(data_dir_);
  }

  ResourceType Pods() { return registry_.StorageType("", "pods")->type; }

  // Creates pod `name` with containers `app` and `sidecar`, in `phase`; returns its uid.
  std::string CreatePod(const std::string& name, const std::string& phase = "Running") {
    json::value pod = json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                                  R"("},"spec":{"containers":[{"name":"app","image":"busybox"},)"
                                  R"({"name":"sidecar","image":"busybox"}]}})");
    auto created = cluster_->Create(Pods(), "default", pod, {});
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return "";
    json::value obj = *created;
    obj.as_object()["status"] = json::object{{"phase", phase}};
    auto updated = cluster_->Update(Pods(), "default", name, obj, {}, "status");
    EXPECT_TRUE(updated.ok()) << updated.status();
    return std::string(created->at("metadata").at("uid").as_string());
  }

  struct HttpResult {
    int status = 0;
    std::string content_type;
    std::string body;
  };
  HttpResult Get(const std::string& target, const std::string& method = "GET") {
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    beast::http::request<beast::http::empty_body> req{beast::http::string_to_verb(method), target, 11};
    req.set(beast::http::field::host, "127.0.0.1");
    beast::http::write(sock, req);
    beast::flat_buffer buf;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(sock, buf, res);
    return {static_cast<int>(res.result_int()), std::string(res[beast::http::field::content_type]), res.body()};
  }

  struct ExecResult {
    std::string protocol;
    std::map<int, std::string> channels;
    bool closed_normally = false;
  };
  // Runs an exec over a WebSocket, sending `input` on stdin (then v5's close-stdin signal).
  ExecResult Exec(const std::string& query, const std::string& input = "",
                  const std::string& protocols = "v5.channel.k8s.io, v4.channel.k8s.io") {
    ExecResult r;
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    beast::websocket::stream<asio::ip::tcp::socket&> ws(sock);
    ws.set_option(beast::websocket::stream_base::decorator([&](beast::websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, protocols);
    }));
    beast::websocket::response_type res;
    beast::error_code ec;
    ws.handshake(res, "127.0.0.1", "/api/v1/namespaces/default/pods/web/exec?" + query, ec);
    if (ec) {
      ADD_FAILURE() << "handshake: " << ec.message();
      return r;
    }
    r.protocol = std::string(res[beast::http::field::sec_websocket_protocol]);
    ws.binary(true);
    if (!input.empty()) {
      ws.write(asio::buffer(std::string(1, '\0') + input));
      ws.write(asio::buffer(std::string("\xff\x00", 2)));
    }
    for (;;) {
      beast::flat_buffer buf;
      ws.read(buf, ec);
      if (ec == beast::websocket::error::closed) {
        r.closed_normally = ws.reason().code == beast::websocket::close_code::normal;
        break;
      }
      if (ec) {
        ADD_FAILURE() << "read: " << ec.message();
        break;
      }
      std::string msg = beast::buffers_to_string(buf.data());
      if (msg.empty()) continue;
      r.channels[static_cast<unsigned char>(msg[0])] += msg.substr(1);
    }
    return r;
  }

  fs::path data_dir_;
  std::unique_ptr<Store> store_;
  Registry registry_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<ExecService> exec_;
  std::unique_ptr<lifeboat::http::Server> server_;
};

TEST_F(ExecServiceTest, LogServesContainerFileWithTail) {
  std::string uid = CreatePod("web");
  fs::create_directories(data_dir_ / "kubelet/pods" / uid / "logs");
  std::ofstream(data_dir_ / "kubelet/pods" / uid / "logs/app.log")
      << "2026-01-02T03:04:05Z one\n2026-01-02T03:04:06Z two\n2026-01-02T03:04:07Z three\n";
  auto all = Get("/api/v1/namespaces/default/pods/web/log");
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.content_type, "text/plain");
  EXPECT_EQ(all.body, "one\ntwo\nthree\n");
  auto tail = Get("/api/v1/namespaces/default/pods/web/log?container=app&tailLines=1&timestamps=true");
  EXPECT_EQ(tail.body, "2026-01-02T03:04:07Z three\n");
  auto sidecar = Get("/api/v1/namespaces/default/pods/web/log?container=sidecar");
  EXPECT_EQ(sidecar.status, 200);
  EXPECT_EQ(sidecar.body, "");
  auto follow = Get("/api/v1/namespaces/default/pods/web/log?follow=false&tailLines=2");
  EXPECT_EQ(follow.body, "two\nthree\n");
}

TEST_F(ExecServiceTest, LogErrors) {
  CreatePod("web");
  auto missing = Get("/api/v1/namespaces/default/pods/nope/log");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body).at("message"), "pods \"nope\" not found");
  auto bad = Get("/api/v1/namespaces/default/pods/web/log?container=db");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body).at("message"), "container db is not valid for pod web");
  EXPECT_EQ(json::parse(bad.body).at("reason"), "BadRequest");
  auto prev = Get("/api/v1/namespaces/default/pods/web/log?previous=true");
  EXPECT_EQ(prev.status, 400);
  CreatePod("pending", "Pending");
  auto waiting = Get("/api/v1/namespaces/default/pods/pending/log");
  EXPECT_EQ(waiting.status, 400);
  EXPECT_EQ(json::parse(waiting.body).at("message"),
            "container \"app\" in pod \"pending\" is waiting to start: ContainerCreating");
}

TEST_F(ExecServiceTest, AttachIsRejected) {
  CreatePod("web");
  auto r = Get("/api/v1/namespaces/default/pods/web/attach?stdout=true", "POST");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body).at("message"), "attach is not supported by kubesim");
}

TEST_F(ExecServiceTest, ExecErrorsBeforeUpgrade) {
  CreatePod("web");
  CreatePod("pending", "Pending");
  auto missing = Get("/api/v1/namespaces/default/pods/nope/exec?command=ls&stdout=true");
  EXPECT_EQ(missing.status, 404);
  auto bad = Get("/api/v1/namespaces/default/pods/web/exec?command=ls&stdout=true&container=db");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body).at("message"), "container db is not valid for pod web");
  auto nocmd = Get("/api/v1/namespaces/default/pods/web/exec?stdout=true");
  EXPECT_EQ(nocmd.status, 400);
  auto pending = Get("/api/v1/namespaces/default/pods/pending/exec?command=ls&stdout=true");
  EXPECT_EQ(pending.status, 400);
  EXPECT_EQ(json::parse(pending.body).at("message"), "container not found (\"app\")");
  auto noupgrade = Get("/api/v1/namespaces/default/pods/web/exec?command=ls&stdout=true");
  EXPECT_EQ(noupgrade.status, 400);
}

TEST_F(ExecServiceTest, ExecRunsCommandInPodDirectory) {
  std::string uid = CreatePod("web");
  auto r = Exec("command=sh&command=-c&command=pwd%3B%20echo%20%24POD_NAME%20%24POD_NAMESPACE%20%24CONTAINER%3B%20echo%20oops%20%3E%262"
                "&container=sidecar&stdout=true&stderr=true");
  EXPECT_EQ(r.protocol, "v5.channel.k8s.io");
  EXPECT_EQ(r.channels[1], fs::canonical(data_dir_ / "kubelet/pods" / uid).string() + "\nweb default sidecar\n");
  EXPECT_EQ(r.channels[2], "oops\n");
  EXPECT_EQ(r.channels[3], R"({"metadata":{},"status":"Success"})");
  EXPECT_TRUE(r.closed_normally);
}

TEST_F(ExecServiceTest, ExecReportsNonZeroExit) {
  CreatePod("web");
  auto r = Exec("command=sh&command=-c&command=exit%203&stdout=true&stderr=true", "", "v4.channel.k8s.io");
  EXPECT_EQ(r.protocol, "v4.channel.k8s.io");
  json::value st = json::parse(r.channels[3]);
  EXPECT_EQ(st.at("status"), "Failure");
  EXPECT_EQ(st.at("reason"), "NonZeroExitCode");
  EXPECT_EQ(st.at("message"),
            "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3");
  EXPECT_EQ(st.at("details").at("causes").at(0).at("message"), "3");
}

TEST_F(ExecServiceTest, ExecPassesStdin) {
  CreatePod("web");
  auto r = Exec("command=cat&stdin=true&stdout=true&stderr=true", "hello stdin\n");
  EXPECT_EQ(r.channels[1], "hello stdin\n");
  EXPECT_EQ(r.channels[3], R"({"metadata":{},"status":"Success"})");
}

TEST_F(ExecServiceTest, ExecOfMissingCommand) {
  CreatePod("web");
  auto r = Exec("command=no-such-command-kubesim&stdout=true&stderr=true");
  EXPECT_NE(r.channels[2].find("exec: \"no-such-command-kubesim\": executable file not found in $PATH"),
            std::string::npos);
  json::value st = json::parse(r.channels[3]);
  EXPECT_EQ(st.at("details").at("causes").at(0).at("message"), "127");
}

TEST_F(ExecServiceTest, ClientDisconnectKillsCommand) {
  std::string uid = CreatePod("web");
  fs::path marker = data_dir_ / "kubelet/pods" / uid / "pid";
  {
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    beast::websocket::stream<asio::ip::tcp::socket&> ws(sock);
    ws.set_option(beast::websocket::stream_base::decorator([&](beast::websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, "v5.channel.k8s.io");
    }));
    ws.handshake("127.0.0.1",
                 "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo%20%24%24%20%3E%20pid%3B%20echo%20go%3B%20exec%20sleep%20100&stdout=true");
    beast::flat_buffer buf;
    ws.read(buf);  // "go"
    EXPECT_EQ(beast::buffers_to_string(buf.data()), std::string("\x01go\n"));
    sock.close();
  }
  std::string pid_text;
  std::ifstream(marker) >> pid_text;
  ASSERT_FALSE(pid_text.empty());
  pid_t pid = std::stoi(pid_text);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(::kill(pid, 0), 0) << "the command survived its client";
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server_->open_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server_->open_connections(), 0u);
}

}  // namespace
}  // namespace kubesim
