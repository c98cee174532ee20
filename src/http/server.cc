#include "lifeboat/http/server.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "lifeboat/common/log.h"
#include "src/http/tls_identity.h"

namespace lifeboat::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using BeastRequest = bhttp::request<bhttp::string_body>;

Status FromError(const beast::error_code& ec, std::string_view what) {
  return absl::UnavailableError(std::string(what) + ": " + ec.message());
}

// State shared by the server object and its connection threads.
struct ServerState {
  ServerOptions options;
  Handler handler;
  std::optional<asio::ssl::context> ssl;
  asio::io_context io;  // HTTP I/O is synchronous; WebSockets run their async operations on it
  // WebSocket callers run `io` until their operation completes; it must never run out of work
  // (a stopped io_context would make them spin).
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::optional<tcp::acceptor> acceptor;

  std::mutex mu;
  std::condition_variable idle_cv;
  std::set<int> open_fds;  // for Stop() to wake blocked reads
  bool stopping = false;
};

template <typename Stream>
tcp::socket& LowestSocket(Stream& s) {
  return beast::get_lowest_layer(s);
}

bool FdPeerClosed(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  char c;
  return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

// A WebSocket over the connection's stream. Beast's synchronous operations cannot overlap, and
// exec needs a Read blocked in one thread while another thread writes or closes (and Beast
// answers pings from inside a read). So every operation here is asynchronous, started on one
// strand, and the calling thread runs the server's io_context until its own operation
// completes: one read and one write (or close) may be pending at the same time, as Beast allows.
template <typename Stream>
class WebSocketImpl : public WebSocket {
 public:
  WebSocketImpl(Stream& s, asio::io_context& io) : ws_(s), io_(io), strand_(asio::make_strand(io)) {
    ws_.binary(true);
  }
  websocket::stream<Stream&>& ws() { return ws_; }

  Status Write(std::string_view data) override {
    std::lock_guard lock(write_mu_);
    if (closed_) return absl::FailedPreconditionError("websocket write: the socket was closed");
    beast::error_code ec = Wait([&](auto done) {
      ws_.async_write(asio::buffer(data.data(), data.size()),
                      asio::bind_executor(strand_, [done](beast::error_code e, size_t) { done(e); }));
    });
    return ec ? FromError(ec, "websocket write") : absl::OkStatus();
  }
  StatusOr<std::string> Read() override {
    std::lock_guard lock(read_mu_);
    beast::flat_buffer buf;
    beast::error_code ec = Wait([&](auto done) {
      ws_.async_read(buf, asio::bind_executor(strand_, [done](beast::error_code e, size_t) { done(e); }));
    });
    if (ec == websocket::error::closed || ec == asio::error::eof) {
      return absl::NotFoundError("websocket closed");
    }
    if (ec) return FromError(ec, "websocket read");
    return beast::buffers_to_string(buf.data());
  }
  Status Close() override {
    std::lock_guard lock(write_mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
    beast::error_code ec = Wait([&](auto done) {
      ws_.async_close(websocket::close_code::normal,
                      asio::bind_executor(strand_, [done](beast::error_code e) { done(e); }));
    });
    return ec ? FromError(ec, "websocket close") : absl::OkStatus();
  }

 private:
  struct Pending {
    std::atomic<bool> done{false};
    beast::error_code ec;
  };

  // Starts `start(done)` on the strand and runs the io_context until `done` was called.
  template <typename Start>
  beast::error_code Wait(Start start) {
    auto pending = std::make_shared<Pending>();
    auto done = [pending](beast::error_code ec) {
      pending->ec = ec;
      pending->done.store(true, std::memory_order_release);
    };
    asio::post(strand_, [&start, done] { start(done); });
    while (!pending->done.load(std::memory_order_acquire)) {
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    return pending->ec;
  }

  websocket::stream<Stream&> ws_;
  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  std::mutex read_mu_;
  std::mutex write_mu_;  // writes and the close frame
  bool closed_ = false;
};

// The byte stream of an upgraded connection. Same technique as WebSocketImpl: every operation
// is asynchronous on one strand, the calling thread runs the io_context until its operation
// completes, so a Read pending in one thread and a Write from another never touch the (TLS)
// stream concurrently.
template <typename Stream>
class UpgradedConnectionImpl : public UpgradedConnection {
 public:
  UpgradedConnectionImpl(Stream& s, asio::io_context& io, std::string pending)
      : stream_(s), io_(io), strand_(asio::make_strand(io)), pending_(std::move(pending)) {}

  StatusOr<size_t> Read(std::span<char> buf) override {
    std::lock_guard lock(read_mu_);
    if (buf.empty()) return size_t{0};
    if (!pending_.empty()) {
      size_t n = std::min(buf.size(), pending_.size());
      std::copy_n(pending_.data(), n, buf.data());
      pending_.erase(0, n);
      return n;
    }
    if (shut_.load()) return absl::NotFoundError("connection closed");
    size_t got = 0;
    beast::error_code ec = Wait([&](auto done) {
      stream_.async_read_some(asio::buffer(buf.data(), buf.size()),
                              asio::bind_executor(strand_, [done, &got](beast::error_code e, size_t n) {
                                got = n;
                                done(e);
                              }));
    });
    if (got > 0) return got;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted || shut_.load()) {
      return absl::NotFoundError("connection closed");
    }
    if (ec) return FromError(ec, "upgraded connection read");
    return absl::NotFoundError("connection closed");
  }

  Status Write(std::string_view data) override {
    std::lock_guard lock(write_mu_);
    if (shut_.load()) return absl::FailedPreconditionError("upgraded connection write: the connection was shut down");
    if (data.empty()) return absl::OkStatus();
    beast::error_code ec = Wait([&](auto done) {
      asio::async_write(stream_, asio::buffer(data.data(), data.size()),
                        asio::bind_executor(strand_, [done](beast::error_code e, size_t) { done(e); }));
    });
    return ec ? FromError(ec, "upgraded connection write") : absl::OkStatus();
  }

  void Shutdown() override {
    if (shut_.exchange(true)) return;
    // A plain shutdown(2) on the descriptor (not a close: the connection thread owns it) makes
    // pending operations complete with an error.
    ::shutdown(LowestSocket(stream_).native_handle(), SHUT_RDWR);
  }

 private:
  struct Pending {
    std::atomic<bool> done{false};
    beast::error_code ec;
  };

  template <typename Start>
  beast::error_code Wait(Start start) {
    auto pending = std::make_shared<Pending>();
    auto done = [pending](beast::error_code ec) {
      pending->ec = ec;
      pending->done.store(true, std::memory_order_release);
    };
    asio::post(strand_, [&start, done] { start(done); });
    while (!pending->done.load(std::memory_order_acquire)) {
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    return pending->ec;
  }

  Stream& stream_;
  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  std::string pending_;  // bytes the HTTP parser read past the request; guarded by read_mu_
  std::mutex read_mu_;
  std::mutex write_mu_;
  std::atomic<bool> shut_{false};
};

template <typename Stream>
class Writer : public ResponseWriter {
 public:
  Writer(Stream& stream, asio::io_context& io, const BeastRequest& req, bool keep_alive,
         beast::flat_buffer& buffer)
      : stream_(stream), io_(io), req_(req), keep_alive_(keep_alive), buffer_(buffer) {}

  bool answered() const { return answered_; }
  bool keep_alive() const { return keep_alive_ && !upgraded_ && !failed_; }

  Status Send(int status, const Headers& headers, std::string_view body) override {
    answered_ = true;
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    for (const auto& [k, v] : headers) res.set(k, v);
    res.keep_alive(keep_alive_);
    res.body() = std::string(body);
    res.prepare_payload();
    beast::error_code ec;
    bhttp::write(stream_, res, ec);
    return Check(ec, "writing response");
  }

  Status BeginStream(int status, const Headers& headers) override {
    answered_ = true;
    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(status), 11};
    for (const auto& [k, v] : headers) res.set(k, v);
    res.keep_alive(keep_alive_);
    res.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    beast::error_code ec;
    bhttp::write_header(stream_, sr, ec);
    return Check(ec, "writing stream header");
  }

  Status WriteChunk(std::string_view data) override {
    if (data.empty()) return absl::OkStatus();
    beast::error_code ec;
    asio::write(stream_, bhttp::make_chunk(asio::buffer(data.data(), data.size())), ec);
    return Check(ec, "writing chunk");
  }

  Status EndStream() override {
    beast::error_code ec;
    asio::write(stream_, bhttp::make_chunk_last(), ec);
    return Check(ec, "ending stream");
  }

  bool PeerClosed() override { return failed_ || FdPeerClosed(LowestSocket(stream_).native_handle()); }

  StatusOr<std::unique_ptr<WebSocket>> AcceptWebSocket(std::string_view subprotocol) override {
    answered_ = true;
    upgraded_ = true;
    auto ws = std::make_unique<WebSocketImpl<Stream>>(stream_, io_);
    std::string proto(subprotocol);
    ws->ws().set_option(websocket::stream_base::decorator([proto](websocket::response_type& res) {
      if (!proto.empty()) res.set(bhttp::field::sec_websocket_protocol, proto);
    }));
    beast::error_code ec;
    ws->ws().accept(req_, ec);
    if (ec) return FromError(ec, "websocket handshake");
    return std::unique_ptr<WebSocket>(std::move(ws));
  }

  StatusOr<std::unique_ptr<UpgradedConnection>> AcceptUpgrade(const Headers& headers) override {
    answered_ = true;
    upgraded_ = true;
    bhttp::response<bhttp::empty_body> res{bhttp::status::switching_protocols, 11};
    for (const auto& [k, v] : headers) res.set(k, v);
    beast::error_code ec;
    bhttp::write(stream_, res, ec);
    if (ec) {
      failed_ = true;
      return FromError(ec, "writing 101 Switching Protocols");
    }
    std::string pending = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return std::unique_ptr<UpgradedConnection>(
        std::make_unique<UpgradedConnectionImpl<Stream>>(stream_, io_, std::move(pending)));
  }

 private:
  Status Check(const beast::error_code& ec, std::string_view what) {
    if (!ec) return absl::OkStatus();
    failed_ = true;
    return FromError(ec, what);
  }

  Stream& stream_;
  asio::io_context& io_;
  const BeastRequest& req_;
  bool keep_alive_;
  beast::flat_buffer& buffer_;  // the connection's read buffer (bytes past the request)
  bool answered_ = false;
  bool upgraded_ = false;
  bool failed_ = false;
};

void ParseQuery(std::string_view q, std::multimap<std::string, std::string>& out) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto key = PercentDecode(part.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
    if (key.ok() && value.ok()) out.emplace(*key, *value);
  }
}

Status FillRequest(const BeastRequest& in, Request& out) {
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  std::string_view target = out.target;
  size_t qpos = target.find('?');
  LIFEBOAT_ASSIGN_OR_RETURN(out.path, PercentDecode(target.substr(0, qpos)));
  if (qpos != std::string_view::npos) ParseQuery(target.substr(qpos + 1), out.query);
  for (const auto& field : in) {
    std::string name(field.name_string());
    auto [it, inserted] = out.headers.emplace(name, std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());
  }
  out.body = in.body();
  return absl::OkStatus();
}

template <typename Stream>
void SendServerError(ServerState& st, Stream& stream, int status, const std::string& message) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
  if (st.options.error_body) {
    auto [type, body] = st.options.error_body(status, message);
    res.set(bhttp::field::content_type, type);
    res.body() = body;
  } else {
    res.set(bhttp::field::content_type, "text/plain");
    res.body() = message + "\n";
  }
  res.keep_alive(false);
  res.prepare_payload();
  beast::error_code ec;
  bhttp::write(stream, res, ec);
}

// Serves requests on one connection until it closes. Returns when the peer goes away, an error
// occurs, the server stops, or a handler upgrades the connection and is done with it.
template <typename Stream>
void ServeConnection(ServerState& st, Stream& stream, const std::optional<PeerCertificate>& peer,
                     const std::string& remote) {
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(st.options.max_header_bytes));
    parser.body_limit(st.options.max_body_bytes);
    beast::error_code ec;
    bhttp::read(stream, buffer, parser, ec);
    if (ec == bhttp::error::body_limit) {
      // Read and discard the rest of a (bounded) body first: a client still sending would
      // otherwise see the connection reset instead of the 413.
      // (A Content-Length over the limit fails while the header is parsed, before
      // content_length() may be asked: read the field itself.)
      uint64_t length = 0;
      std::string_view field = parser.get()[bhttp::field::content_length];
      auto [end, perr] = std::from_chars(field.data(), field.data() + field.size(), length);
      if (perr == std::errc() && end == field.data() + field.size() && !field.empty() &&
          length <= 64u * 1024 * 1024) {
        uint64_t have = (parser.is_header_done() ? parser.get().body().size() : 0) + buffer.size();
        uint64_t left = length > have ? length - have : 0;
        buffer.consume(buffer.size());
        char sink[16384];
        while (left > 0) {
          beast::error_code rec;
          size_t n = stream.read_some(asio::buffer(sink, std::min<uint64_t>(sizeof(sink), left)), rec);
          if (rec || n == 0) break;
          left -= n;
        }
      }
      SendServerError(st, stream, 413,
                      "request entity too large: limit is " +
                          std::to_string(st.options.max_body_bytes) + " bytes");
      return;
    }
    if (ec == bhttp::error::header_limit) {
      SendServerError(st, stream, 431, "request header fields too large");
      return;
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::ssl::error::stream_truncated) {
      return;
    }
    if (ec) {
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
        SendServerError(st, stream, 400, "malformed HTTP request: " + ec.message());
      }
      return;
    }
    BeastRequest breq = parser.release();
    Request req;
    req.peer = peer;
    req.remote_address = remote;
    if (Status s = FillRequest(breq, req); !s.ok()) {
      SendServerError(st, stream, 400, std::string(s.message()));
      return;
    }
    Writer<Stream> writer(stream, st.io, breq, breq.keep_alive(), buffer);
    st.handler(req, writer);
    if (!writer.answered()) {
      LB_LOG_ERROR("http: handler left {} {} unanswered", req.method, req.path);
      SendServerError(st, stream, 500, "internal error: no response");
      return;
    }
    if (!writer.keep_alive()) return;
  }
}

void CloseQuietly(tcp::socket& sock) {
  beast::error_code ec;
  sock.shutdown(tcp::socket::shutdown_both, ec);
  sock.close(ec);
}

void RunConnection(std::shared_ptr<ServerState> st, tcp::socket sock) {
  int fd = sock.native_handle();
  std::string remote;
  {
    beast::error_code ec;
    auto ep = sock.remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  sock.set_option(tcp::no_delay(true));
  if (st->ssl) {
    asio::ssl::stream<tcp::socket> stream(std::move(sock), *st->ssl);
    beast::error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) {
      std::optional<PeerCertificate> peer = VerifiedPeer(stream.native_handle());
      ServeConnection(*st, stream, peer, remote);
      stream.shutdown(ec);
    } else {
      LB_LOG_DEBUG("http: TLS handshake with {} failed: {}", remote, ec.message());
    }
    CloseQuietly(stream.next_layer());
  } else {
    ServeConnection(*st, sock, std::nullopt, remote);
    CloseQuietly(sock);
  }
  std::lock_guard<std::mutex> lock(st->mu);
  st->open_fds.erase(fd);
  st->idle_cv.notify_all();
}

class ServerImpl : public Server {
 public:
  explicit ServerImpl(std::shared_ptr<ServerState> st) : st_(std::move(st)) {
    auto ep = st_->acceptor->local_endpoint();
    port_ = ep.port();
    address_ = ep.address().to_string() + ":" + std::to_string(port_);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~ServerImpl() override { Stop(); }

  std::string address() const override { return address_; }
  uint16_t port() const override { return port_; }
  size_t open_connections() const override {
    std::lock_guard<std::mutex> lock(st_->mu);
    return st_->open_fds.size();
  }

  void Stop() override {
    {
      std::lock_guard<std::mutex> lock(st_->mu);
      if (st_->stopping) return;
      st_->stopping = true;
      ::shutdown(st_->acceptor->native_handle(), SHUT_RDWR);
      for (int fd : st_->open_fds) ::shutdown(fd, SHUT_RDWR);
    }
    accept_thread_.join();
    std::unique_lock<std::mutex> lock(st_->mu);
    st_->idle_cv.wait(lock, [this] { return st_->open_fds.empty(); });
    beast::error_code ec;
    st_->acceptor->close(ec);
  }

 private:
  void AcceptLoop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket sock(st_->io);
      st_->acceptor->accept(sock, ec);
      std::lock_guard<std::mutex> lock(st_->mu);
      if (st_->stopping) return;
      if (ec) {
        if (ec == asio::error::no_descriptors) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      st_->open_fds.insert(sock.native_handle());
      std::thread(RunConnection, st_, std::move(sock)).detach();
    }
  }

  std::shared_ptr<ServerState> st_;
  std::thread accept_thread_;
  std::string address_;
  uint16_t port_ = 0;
};

StatusOr<tcp::endpoint> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError("listen address \"" + listen + "\" is not host:port");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return absl::InvalidArgumentError("listen address \"" + listen + "\": bad host: " + ec.message());
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError("listen address \"" + listen + "\": bad port");
  }
  return tcp::endpoint(addr, static_cast<uint16_t>(port));
}

}  // namespace

StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options, Handler handler) {
  auto st = std::make_shared<ServerState>();
  LIFEBOAT_ASSIGN_OR_RETURN(tcp::endpoint ep, ParseListen(options.listen));
  if (options.tls) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto ctx, MakeServerTlsContext(*options.tls));
    st->ssl.emplace(std::move(ctx));
  }
  st->options = std::move(options);
  st->handler = std::move(handler);
  st->acceptor.emplace(st->io);
  beast::error_code ec;
  st->acceptor->open(ep.protocol(), ec);
  if (!ec) st->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) st->acceptor->bind(ep, ec);
  if (!ec) st->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError("cannot listen on " + st->options.listen + ": " + ec.message());
  }
  return std::unique_ptr<Server>(new ServerImpl(std::move(st)));
}

}  // namespace lifeboat::http
