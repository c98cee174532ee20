#pragma once

// An HTTP/1.1 and HTTP/2 client on libcurl. It carries every request of the Kubernetes client
// (`kube`) and of the object-storage drivers (S3, Azure Blob, GCS).
//
// HTTP error statuses (4xx/5xx) are NOT errors here: Send returns them in ClientResponse and the
// caller maps them (STYLE.md has the one mapping). Only transport failures are Status errors.
//
// Redirects are not followed. No header value and no URL query string (presigned URLs and SAS
// tokens carry signatures there) ever appears in an error message.
//
// Thread safety: a Client may be used from any number of threads at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/status.h"
#include "lifeboat/http/server.h"  // HeaderLess

namespace lifeboat::http {

// A PEM value given either inline or as a file path (at most one of the two).
struct PemSource {
  std::string data;  // PEM text
  std::string file;  // path to a PEM file, read by libcurl at connection time
  bool empty() const { return data.empty() && file.empty(); }
};

struct ClientOptions {
  // TLS. With no CA, the system trust store is used.
  PemSource ca;
  PemSource client_cert;  // with client_key: presented when the server asks
  PemSource client_key;
  bool insecure_skip_verify = false;  // no certificate or host name check: tests and opt-in only
  // Name used for SNI and certificate verification instead of the URL's host (kubeconfig
  // `tls-server-name`). The URL's host is still the address connected to (and the Host header).
  std::string tls_server_name;

  // "http://proxy:3128", "https://...", "socks5://..." / "socks5h://...". Empty: libcurl's own
  // environment handling applies (http_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY; note that
  // libcurl reads only the lower-case `http_proxy`). NO_PROXY is honoured either way.
  std::string proxy_url;

  std::chrono::milliseconds connect_timeout{10'000};
  // Whole-request limit unless ClientRequest::timeout overrides it; zero means none.
  std::chrono::milliseconds request_timeout{60'000};
  // Requests to one scheme://host:port in flight at once; further ones wait (cancellably).
  // Zero means no limit. Idle kept-alive connections are not counted.
  int max_connections_per_host = 16;
  std::string user_agent = "lifeboat";
  // HTTP/2 when the server offers it over TLS (ALPN); HTTP/1.1 otherwise.
  bool enable_http2 = true;
  // Sends `Accept-Encoding: gzip` and decodes gzip answers transparently (the Kubernetes
  // client's default, as client-go's). Off by default: object-storage drivers must receive
  // stored bytes exactly as stored, whatever Content-Encoding an object carries.
  bool accept_gzip = false;
  // TCP keepalive probes after this much idleness; zero disables them.
  std::chrono::seconds tcp_keepalive{30};
};

// Response header names compare case-insensitively; repeated headers (Warning, Set-Cookie)
// keep every value, in arrival order.
using ResponseHeaders = std::multimap<std::string, std::string, HeaderLess>;

struct ClientResponse {
  int status = 0;
  ResponseHeaders headers;
  std::string body;  // empty when the body went to ClientRequest::on_body

  // The first value of header `name`, or "".
  std::string Header(const std::string& name) const;
  // Every value of header `name`, in order.
  std::vector<std::string> HeaderValues(const std::string& name) const;
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http:// or https:// only
  // Sent in order; a repeated name sends several lines. An empty value sends an empty header.
  std::vector<std::pair<std::string, std::string>> headers;

  // Body: either `body` or `body_source`. POST, PUT and PATCH always send a body (possibly
  // empty); other methods only when one is given. A source with Size() < 0 is sent chunked
  // (HTTP/1.1). `body_source` is borrowed: it must outlive Send. It is rewound (Rewind) if
  // libcurl must resend the body on a fresh connection.
  std::string body;
  ByteSource* body_source = nullptr;

  // Overrides ClientOptions::request_timeout; zero means none (watches).
  std::optional<std::chrono::milliseconds> timeout;
  // Cancelling aborts the transfer promptly (also while waiting for a connection slot).
  CancellationToken cancel;

  // Streaming: when set, the body is delivered here in chunks as they arrive instead of being
  // buffered; `head` carries the status and headers (its body is empty). Returning false
  // stops the transfer, and Send then returns the response received so far (OK). Runs on the
  // thread calling Send.
  std::function<bool(const ClientResponse& head, std::string_view chunk)> on_body;
  // Limit for a buffered body; larger responses fail with ResourceExhausted.
  size_t max_response_bytes = 256 * 1024 * 1024;
};

class Client {
 public:
  // InvalidArgument for unusable options (malformed PEM data, unreadable proxy URL).
  static StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);
  virtual ~Client() = default;

  // Performs one request, reusing a kept-alive connection when one is idle.
  // OK with any HTTP status. Errors: InvalidArgument (malformed URL, unsupported scheme, bad
  // header or method, unusable client certificate), Unavailable (DNS, refused/reset connections, connect timeouts, TLS handshake
  // failures), FailedPrecondition (TLS certificate verification failed: names host and reason),
  // DeadlineExceeded (request timeout), Cancelled (request.cancel), ResourceExhausted
  // (buffered body over max_response_bytes), or the body source's own error. Messages carry
  // the method and the URL without user info and query.
  virtual StatusOr<ClientResponse> Send(const ClientRequest& request) = 0;

  const ClientOptions& options() const { return options_; }

 protected:
  explicit Client(ClientOptions options) : options_(std::move(options)) {}
  ClientOptions options_;
};

}  // namespace lifeboat::http
