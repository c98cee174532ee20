#include "lifeboat/kube/pod_exec.h"
#include "src/kube/impersonation.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdlib>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <cctype>
#include <charconv>
#include <exception>
#include <mutex>
#include <string_view>
#include <utility>

namespace lifeboat::kube {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kV5 = "v5.channel.k8s.io";
constexpr std::string_view kV4 = "v4.channel.k8s.io";
constexpr std::chrono::seconds kConnectTimeout{30};  // connect, proxy, TLS and upgrade
constexpr size_t kStdinChunk = 32 * 1024;
constexpr size_t kMaxMessage = 64 << 20;

// Where to connect: the API server or an HTTP proxy.
struct Endpoint {
  bool tls = false;
  std::string host;  // for resolving: IPv6 without brackets
  std::string port;
  std::string authority;    // host:port, IPv6 in brackets (Host header, CONNECT target)
  std::string path_prefix;  // "" or "/prefix" without a trailing slash
  std::string userinfo;     // proxies only: "user:password" (percent-decoded)
};

StatusOr<Endpoint> ParseEndpoint(const std::string& url, std::string_view what) {
  auto r = boost::urls::parse_uri(url);
  if (!r) return absl::InvalidArgumentError(std::string(what) + " URL is not valid");
  Endpoint ep;
  const std::string scheme = std::string(r->scheme());
  if (scheme == "https") {
    ep.tls = true;
  } else if (scheme != "http") {
    return absl::InvalidArgumentError(std::string(what) + " URL has unsupported scheme \"" +
                                      scheme + "\" (http and https only)");
  }
  std::string host = std::string(r->encoded_host());
  if (host.empty()) return absl::InvalidArgumentError(std::string(what) + " URL has no host");
  ep.host = host;
  if (host.front() == '[' && host.back() == ']') ep.host = host.substr(1, host.size() - 2);
  ep.port = r->has_port() && !r->port().empty() ? std::string(r->port()) : (ep.tls ? "443" : "80");
  ep.authority = host + ":" + ep.port;
  ep.path_prefix = std::string(r->encoded_path());
  while (!ep.path_prefix.empty() && ep.path_prefix.back() == '/') ep.path_prefix.pop_back();
  if (r->has_userinfo()) ep.userinfo = std::string(r->userinfo());
  return ep;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

absl::StatusCode CodeForHttp(int http) {
  switch (http) {
    case 400:
    case 413:
    case 415:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 405:
      return absl::StatusCode::kUnimplemented;
    case 409:
      return absl::StatusCode::kAborted;
    case 410:
      return absl::StatusCode::kOutOfRange;
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return absl::StatusCode::kUnavailable;
    default:
      return http >= 500 ? absl::StatusCode::kInternal : absl::StatusCode::kUnknown;
  }
}

std::string StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The error for an HTTP answer other than 101 to the upgrade: the Kubernetes Status's message.
Status UpgradeError(int http, const std::string& body) {
  error_code ec;
  json::value v = json::parse(body, ec);
  std::string message;
  if (!ec && v.is_object()) message = StringAt(v.get_object(), "message");
  if (message.empty()) {
    message = body.substr(0, 256);
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back())))
      message.pop_back();
  }
  if (message.empty()) message = "the server refused the upgrade";
  return Status(CodeForHttp(http), "HTTP " + std::to_string(http) + ": " + message);
}

// The command's exit code from the Status on the error channel (3), or the failure it reports.
StatusOr<int> ExitCodeFromStatus(std::string_view payload) {
  error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) {
    return absl::InternalError("unparseable status on the error channel: " +
                               std::string(payload.substr(0, 256)));
  }
  const json::object& o = v.get_object();
  if (StringAt(o, "status") == "Success") return 0;
  const std::string message = StringAt(o, "message");
  if (StringAt(o, "reason") == "NonZeroExitCode") {
    const json::value* causes = nullptr;
    if (const json::value* d = o.if_contains("details"); d && d->is_object()) {
      causes = d->get_object().if_contains("causes");
    }
    if (causes && causes->is_array()) {
      for (const json::value& c : causes->get_array()) {
        if (!c.is_object() || StringAt(c.get_object(), "reason") != "ExitCode") continue;
        std::string m = StringAt(c.get_object(), "message");
        int code = 0;
        auto [ptr, err] = std::from_chars(m.data(), m.data() + m.size(), code);
        if (err == std::errc() && ptr == m.data() + m.size()) return code;
      }
    }
    return absl::InternalError("non-zero exit without an exit code: " + message);
  }
  int http = 500;
  if (const json::value* c = o.if_contains("code"); c && c->is_int64()) {
    http = static_cast<int>(c->get_int64());
  }
  return Status(CodeForHttp(http) == absl::StatusCode::kUnknown ? absl::StatusCode::kInternal
                                                                : CodeForHttp(http),
                message.empty() ? "the server reported a failure" : message);
}

// What one attempt needs: where to go and what to send.
struct Request {
  Endpoint server;
  std::optional<Endpoint> proxy;
  std::string tls_name;  // SNI and the verified name
  bool insecure = false;
  std::string target;  // path and query
  std::string authorization;
  std::vector<std::pair<std::string, std::string>> impersonation;  // Impersonate-* headers
  const ExecOptions* options = nullptr;
};

struct Outcome {
  Status status;
  ExecResult result;
  int http_status = 0;  // of a refused upgrade
};

// One WebSocket exec session on its own io_context (run by the calling thread). `Ws` is
// websocket::stream over beast::tcp_stream or over beast::ssl_stream<beast::tcp_stream>.
template <class Ws>
class Attempt {
 public:
  template <class... Args>
  Attempt(const Request& req, asio::io_context& io, Args&&... stream_args)
      : req_(req), resolver_(io), timer_(io), ws_(std::forward<Args>(stream_args)...) {}

  static constexpr bool kTls = !std::is_same_v<typename Ws::next_layer_type, beast::tcp_stream>;

  asio::steady_timer& timer() { return timer_; }

  asio::awaitable<void> Run() {
    co_await Body();
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    beast::get_lowest_layer(ws_).close();
  }

  // Ends the session now (timeout, cancellation): on the io_context's thread only. Closing
  // the socket makes the server kill the command.
  void Abort(Status why) {
    if (finished_ || abort_) return;
    abort_ = std::move(why);
    resolver_.cancel();
    beast::get_lowest_layer(ws_).close();
  }

  Outcome Take() {
    Outcome out;
    out.status = abort_ ? *abort_ : status_;
    out.http_status = http_status_;
    out.result = std::move(result_);
    return out;
  }

 private:
  void Fail(Status s) {
    if (status_.ok()) status_ = std::move(s);
  }
  bool Stopped() const { return abort_.has_value() || !status_.ok(); }

  asio::awaitable<void> Body() {
    const Endpoint& dial = req_.proxy ? *req_.proxy : req_.server;
    auto [rec, results] = co_await resolver_.async_resolve(dial.host, dial.port, kUseTuple);
    if (Stopped()) co_return;
    if (rec)
      co_return Fail(absl::UnavailableError("resolving " + dial.host + ": " + rec.message()));
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(kConnectTimeout);
    auto [cec, ep] = co_await tcp_layer.async_connect(results, kUseTuple);
    if (Stopped()) co_return;
    if (cec) {
      co_return Fail(
          absl::UnavailableError("connecting to " + dial.authority + ": " + cec.message()));
    }
    if (req_.proxy) {
      co_await ProxyConnect();
      if (Stopped()) co_return;
    }
    if constexpr (kTls) {
      co_await TlsHandshake();
      if (Stopped()) co_return;
    }
    co_await Upgrade();
    if (Stopped()) co_return;
    tcp_layer.expires_never();
    if (req_.options->stdin_data) asio::co_spawn(ws_.get_executor(), WriteStdin(), asio::detached);
    co_await ReadAll();
  }

  asio::awaitable<void> ProxyConnect() {
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    bhttp::request<bhttp::empty_body> r{bhttp::verb::connect, req_.server.authority, 11};
    r.set(bhttp::field::host, req_.server.authority);
    if (!req_.proxy->userinfo.empty()) {
      r.set(bhttp::field::proxy_authorization, "Basic " + Base64(req_.proxy->userinfo));
    }
    auto [wec, wn] = co_await bhttp::async_write(tcp_layer, r, kUseTuple);
    if (Stopped()) co_return;
    if (wec)
      co_return Fail(
          absl::UnavailableError("proxy " + req_.proxy->authority + ": " + wec.message()));
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::empty_body> parser;
    parser.skip(true);  // a CONNECT answer has no body
    auto [rec, rn] = co_await bhttp::async_read_header(tcp_layer, buf, parser, kUseTuple);
    if (Stopped()) co_return;
    if (rec)
      co_return Fail(
          absl::UnavailableError("proxy " + req_.proxy->authority + ": " + rec.message()));
    const unsigned status = parser.get().result_int();
    if (status / 100 != 2 || buf.size() != 0) {
      Fail(absl::UnavailableError("proxy " + req_.proxy->authority + " refused CONNECT to " +
                                  req_.server.authority + ": HTTP " + std::to_string(status)));
    }
  }

  asio::awaitable<void> TlsHandshake() {
    SSL* handle = ws_.next_layer().native_handle();
    const std::string& name = req_.tls_name;
    error_code aec;
    asio::ip::make_address(name, aec);
    const bool is_ip = !aec;
    if (!is_ip) SSL_set_tlsext_host_name(handle, name.c_str());  // no SNI for IP addresses
    if (!req_.insecure) {
      X509_VERIFY_PARAM* param = SSL_get0_param(handle);
      if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      }
    }
    auto [ec] = co_await ws_.next_layer().async_handshake(ssl::stream_base::client, kUseTuple);
    if (Stopped() || !ec) co_return;
    const long verify = SSL_get_verify_result(handle);
    if (!req_.insecure && verify != X509_V_OK) {
      co_return Fail(absl::FailedPreconditionError(
          "TLS verification of the API server " + name + " (" + req_.server.authority +
          ") failed: " + X509_verify_cert_error_string(verify)));
    }
    Fail(absl::UnavailableError("TLS handshake with " + name + " (" + req_.server.authority +
                                ") failed: " + ec.message()));
  }

  asio::awaitable<void> Upgrade() {
    ws_.set_option(websocket::stream_base::decorator([this](websocket::request_type& r) {
      r.set(bhttp::field::user_agent, "lifeboat");
      r.set(bhttp::field::sec_websocket_protocol, std::string(kV5) + ", " + std::string(kV4));
      if (!req_.authorization.empty()) r.set(bhttp::field::authorization, req_.authorization);
      for (const auto& [name, value] : req_.impersonation) r.insert(name, value);
    }));
    ws_.read_message_max(kMaxMessage);
    ws_.binary(true);
    websocket::response_type res;
    auto [ec] = co_await ws_.async_handshake(res, req_.server.authority, req_.target, kUseTuple);
    if (Stopped()) co_return;
    if (ec) {
      if (res.result_int() != 0 && res.result_int() != 101) {
        http_status_ = static_cast<int>(res.result_int());
        co_return Fail(UpgradeError(http_status_, res.body()));
      }
      co_return Fail(absl::UnavailableError("WebSocket upgrade at " + req_.server.authority + ": " +
                                            ec.message()));
    }
    std::string protocol(res[bhttp::field::sec_websocket_protocol]);
    if (protocol != kV5 && protocol != kV4) {
      co_return Fail(
          absl::UnavailableError("the server negotiated no supported exec subprotocol (got \"" +
                                 protocol + "\"; want v5.channel.k8s.io or v4.channel.k8s.io)"));
    }
    result_.protocol = protocol;
  }

  asio::awaitable<void> WriteStdin() {
    std::string_view data = *req_.options->stdin_data;
    std::string frame;
    while (!data.empty()) {
      const size_t n = std::min(kStdinChunk, data.size());
      frame.assign(1, '\0');
      frame.append(data.substr(0, n));
      auto [ec, written] = co_await ws_.async_write(asio::buffer(frame), kUseTuple);
      if (ec) co_return;  // the reader reports what went wrong
      data.remove_prefix(n);
    }
    if (result_.protocol == kV5) {
      // v5: channel 255 ("close") for stream 0 ends the command's stdin.
      static constexpr char kCloseStdin[2] = {static_cast<char>(0xff), 0};
      co_await ws_.async_write(asio::buffer(kCloseStdin, 2), kUseTuple);
    }
  }

  void Append(std::string& dst, std::string_view data) {
    const size_t max = req_.options->max_output_bytes;
    const size_t room = dst.size() < max ? max - dst.size() : 0;
    if (data.size() > room) result_.truncated = true;
    dst.append(data.substr(0, std::min(room, data.size())));
  }

  asio::awaitable<void> ReadAll() {
    beast::flat_buffer buf;
    std::optional<StatusOr<int>> exit;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(buf, kUseTuple);
      if (Stopped()) co_return;
      if (ec) {
        if (ec != websocket::error::closed && !exit) {
          co_return Fail(absl::UnavailableError("reading the exec stream: " + ec.message()));
        }
        break;  // a close frame, or a connection that dropped after the exit status
      }
      std::string_view msg(static_cast<const char*>(buf.cdata().data()), buf.size());
      if (!msg.empty()) {
        const unsigned char channel = static_cast<unsigned char>(msg[0]);
        msg.remove_prefix(1);
        if (channel == 1) {
          Append(result_.stdout_data, msg);
        } else if (channel == 2) {
          Append(result_.stderr_data, msg);
        } else if (channel == 3) {
          exit = ExitCodeFromStatus(msg);
        }
      }
      buf.consume(buf.size());
    }
    if (!exit) {
      co_return Fail(
          absl::UnavailableError("the exec stream ended before the command's exit status"));
    }
    if (!exit->ok()) co_return Fail(exit->status());
    result_.exit_code = **exit;
  }

  const Request& req_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  Ws ws_;
  bool finished_ = false;
  std::optional<Status> abort_;
  Status status_;
  int http_status_ = 0;
  ExecResult result_;
};

// Posts the cancellation into an io_context for as long as it is being run; afterwards the
// callback (which may run on any thread, at any time) does nothing.
struct CancelHook {
  std::mutex mu;
  asio::io_context* io = nullptr;
  std::function<void()> fn;
};

template <class Ws, class... Args>
Outcome Drive(const Request& req, std::optional<SteadyClock::time_point> deadline, Args&&... args) {
  const ExecOptions& options = *req.options;
  asio::io_context io(1);
  Attempt<Ws> attempt(req, io, io, std::forward<Args>(args)...);
  if (deadline) {
    attempt.timer().expires_at(*deadline);
    attempt.timer().async_wait([&attempt, &options](error_code ec) {
      if (!ec) {
        attempt.Abort(absl::DeadlineExceededError("timed out after " +
                                                  std::to_string(options.timeout.count()) + "ms"));
      }
    });
  }
  auto hook = std::make_shared<CancelHook>();
  hook->io = &io;
  hook->fn = [&attempt, &options] { attempt.Abort(options.cancel.status()); };
  const uint64_t id = options.cancel.OnCancel([hook] {
    std::lock_guard<std::mutex> lock(hook->mu);
    if (hook->io) asio::post(*hook->io, hook->fn);
  });
  asio::co_spawn(io, attempt.Run(), asio::detached);
  Outcome out;
  try {
    io.run();
    out = attempt.Take();
  } catch (const std::exception& e) {
    out.status = absl::InternalError(std::string("exec session failed: ") + e.what());
  }
  {
    std::lock_guard<std::mutex> lock(hook->mu);
    hook->io = nullptr;
  }
  options.cancel.Unregister(id);
  return out;
}

std::string CommandForMessage(const std::vector<std::string>& command) {
  std::string s;
  for (const std::string& c : command) s += (s.empty() ? "" : " ") + c;
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

}  // namespace

struct PodExecutor::Impl {
  RestConfig config;
  std::shared_ptr<CredentialProvider> credentials;
  Endpoint server;
  std::optional<Endpoint> proxy;

  std::mutex mu;  // guards the cached TLS context
  std::string ctx_cert, ctx_key;
  std::shared_ptr<ssl::context> ctx;

  // The TLS context for a credential's client certificate (rebuilt when it changes).
  StatusOr<std::shared_ptr<ssl::context>> ContextFor(const Credential& cred) {
    std::lock_guard<std::mutex> lock(mu);
    if (ctx && ctx_cert == cred.client_cert_pem && ctx_key == cred.client_key_pem) return ctx;
    auto c = std::make_shared<ssl::context>(ssl::context::tls_client);
    c->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    error_code ec;
    const TlsConfig& tls = config.tls;
    if (tls.insecure_skip_verify) {
      c->set_verify_mode(ssl::verify_none);
    } else {
      c->set_verify_mode(ssl::verify_peer);
      if (!tls.ca_pem.empty()) {
        c->add_certificate_authority(asio::buffer(tls.ca_pem), ec);
        if (ec)
          return absl::InvalidArgumentError("the cluster's CA certificate is not usable PEM: " +
                                            ec.message());
      } else {
        c->set_default_verify_paths(ec);
        if (ec)
          return absl::InvalidArgumentError("cannot load the system trust store: " + ec.message());
      }
    }
    if (!cred.client_cert_pem.empty() || !cred.client_key_pem.empty()) {
      c->use_certificate_chain(asio::buffer(cred.client_cert_pem), ec);
      if (ec)
        return absl::InvalidArgumentError("the client certificate is not usable PEM: " +
                                          ec.message());
      c->use_private_key(asio::buffer(cred.client_key_pem), ssl::context::pem, ec);
      if (ec)
        return absl::InvalidArgumentError("the client key is not usable PEM: " + ec.message());
    }
    ctx = std::move(c);
    ctx_cert = cred.client_cert_pem;
    ctx_key = cred.client_key_pem;
    return ctx;
  }

  std::string Target(const ExecOptions& o) const {
    std::string t = server.path_prefix + "/api/v1/namespaces/" + PercentEncode(o.ns) + "/pods/" +
                    PercentEncode(o.pod) + "/exec?";
    for (const std::string& c : o.command) t += "command=" + PercentEncode(c) + "&";
    if (!o.container.empty()) t += "container=" + PercentEncode(o.container) + "&";
    if (o.stdin_data) t += "stdin=true&";
    t += "stdout=true&stderr=true";
    return t;
  }
};

PodExecutor::PodExecutor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PodExecutor::~PodExecutor() = default;

namespace {

// The proxy from the environment when the kubeconfig names none, as the REST transport
// (libcurl) and Go's http.ProxyFromEnvironment choose it: HTTPS_PROXY for an https server,
// HTTP_PROXY for http (either case), unless NO_PROXY lists the host ("*", a name, ".suffix" or
// "suffix", an IP; ports ignored).
std::string ProxyFromEnvironment(const Endpoint& server) {
  auto env = [](const char* upper, const char* lower) {
    const char* v = std::getenv(upper);
    if (v == nullptr || *v == '\0') v = std::getenv(lower);
    return std::string(v == nullptr ? "" : v);
  };
  std::string proxy = server.tls ? env("HTTPS_PROXY", "https_proxy") : env("HTTP_PROXY", "http_proxy");
  if (proxy.empty()) return "";
  const std::string no_proxy = env("NO_PROXY", "no_proxy");
  for (absl::string_view raw : absl::StrSplit(no_proxy, ',', absl::SkipWhitespace())) {
    std::string entry(absl::StripAsciiWhitespace(raw));
    if (entry == "*") return "";
    if (size_t colon = entry.rfind(':'); colon != std::string::npos && entry.find(']') == std::string::npos &&
                                         entry.find(':') == colon) {
      entry.resize(colon);  // "host:port": the port is ignored
    }
    if (!entry.empty() && entry.front() == '.') entry.erase(0, 1);
    if (entry.empty()) continue;
    const std::string& host = server.host;
    if (host == entry) return "";
    if (host.size() > entry.size() && host.compare(host.size() - entry.size(), entry.size(), entry) == 0 &&
        host[host.size() - entry.size() - 1] == '.') {
      return "";
    }
  }
  if (proxy.find("://") == std::string::npos) proxy = "http://" + proxy;
  return proxy;
}

}  // namespace

StatusOr<std::unique_ptr<PodExecutor>> PodExecutor::Create(
    const RestConfig& config, std::shared_ptr<CredentialProvider> credentials) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  LIFEBOAT_ASSIGN_OR_RETURN(impl->server, ParseEndpoint(config.server, "the API server"));
  const std::string proxy_url =
      config.proxy_url.empty() ? ProxyFromEnvironment(impl->server) : config.proxy_url;
  if (!proxy_url.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(Endpoint proxy, ParseEndpoint(proxy_url, "the proxy"));
    if (proxy.tls) {
      return absl::InvalidArgumentError("pod exec supports http:// proxies only, not " +
                                        proxy_url.substr(0, proxy_url.find(':')) + "://");
    }
    impl->proxy = std::move(proxy);
  }
  if (!credentials) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<CredentialProvider> made,
                              MakeCredentialProvider(config));
    credentials = std::move(made);
  }
  impl->credentials = std::move(credentials);
  if (impl->server.tls) {
    // Checks the CA (and a static client certificate) now rather than at the first Exec.
    Credential static_cred;
    static_cred.client_cert_pem = config.tls.client_cert_pem;
    static_cred.client_key_pem = config.tls.client_key_pem;
    LIFEBOAT_RETURN_IF_ERROR(impl->ContextFor(static_cred).status());
  }
  return std::unique_ptr<PodExecutor>(new PodExecutor(std::move(impl)));
}

StatusOr<ExecResult> PodExecutor::Exec(const ExecOptions& options) {
  const std::string what =
      "exec [" + CommandForMessage(options.command) + "] in pod " + options.ns + "/" + options.pod;
  if (options.ns.empty() || options.pod.empty()) {
    return absl::InvalidArgumentError(what + ": namespace and pod name are required");
  }
  if (options.command.empty()) return absl::InvalidArgumentError(what + ": no command");
  if (options.cancel.IsCancelled()) return Annotate(options.cancel.status(), what);
  std::optional<SteadyClock::time_point> deadline;
  if (options.timeout.count() > 0) deadline = SteadyClock::now() + options.timeout;

  Request req;
  req.server = impl_->server;
  req.proxy = impl_->proxy;
  req.tls_name =
      impl_->config.tls.server_name.empty() ? impl_->server.host : impl_->config.tls.server_name;
  req.insecure = impl_->config.tls.insecure_skip_verify;
  req.target = impl_->Target(options);
  req.options = &options;
  req.impersonation = ImpersonationHeaders(impl_->config.impersonate);
  for (int attempt = 0;; ++attempt) {
    auto cred = impl_->credentials->Get();
    if (!cred.ok()) return Annotate(cred.status(), what + ": getting credentials");
    if (!cred->bearer_token.empty()) {
      req.authorization = "Bearer " + cred->bearer_token;
    } else if (!cred->username.empty() || !cred->password.empty()) {
      req.authorization = "Basic " + Base64(cred->username + ":" + cred->password);
    } else {
      req.authorization.clear();
    }
    Outcome out;
    if (req.server.tls) {
      auto ctx = impl_->ContextFor(*cred);
      if (!ctx.ok()) return Annotate(ctx.status(), what);
      out = Drive<websocket::stream<beast::ssl_stream<beast::tcp_stream>>>(req, deadline, **ctx);
    } else {
      out = Drive<websocket::stream<beast::tcp_stream>>(req, deadline);
    }
    if (out.http_status == 401 && attempt == 0) {
      impl_->credentials->InvalidateRejected(*cred);  // re-fetch once (rotated token, exec plugin)
      continue;
    }
    if (!out.status.ok()) return Annotate(out.status, what);
    return std::move(out.result);
  }
}

}  // namespace lifeboat::kube
