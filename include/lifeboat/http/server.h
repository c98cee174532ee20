#pragma once

// An HTTP/1.1 server (HTTPS or plain) on Boost.Beast, shared by kubesim and, later, the Lifeboat
// server's metrics and webhook endpoints.
//
// Model: one thread per connection, synchronous I/O. Handlers may block (a watch stream waits
// for events, an exec session for a process) without starving other clients, and the code stays
// straight-line. Connections are keep-alive; a handler answers each request exactly once, with a
// whole response, a chunked stream, or a WebSocket upgrade.
//
// Thread safety: Handler::Handle is called concurrently from many connection threads.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/status.h"

namespace lifeboat::http {

struct TlsConfig {
  std::string cert_pem;  // serving certificate chain
  std::string key_pem;
  // When set, clients are asked for a certificate and one that verifies against this CA is
  // reported in Request::peer. A client without a certificate is still accepted (it may
  // authenticate another way); one with a certificate that fails verification is not verified.
  std::string client_ca_pem;
};

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  std::optional<TlsConfig> tls;        // unset: plain HTTP
  size_t max_body_bytes = 3 * 1024 * 1024;
  size_t max_header_bytes = 64 * 1024;
  // Builds the body of errors the server answers itself (413, 400 for unparsable requests),
  // so that they look like the application's own errors. Returns {content-type, body}.
  std::function<std::pair<std::string, std::string>(int status, const std::string& message)>
      error_body;
};

// Identity of a client that presented a certificate verified against TlsConfig::client_ca_pem.
struct PeerCertificate {
  std::string common_name;
  std::vector<std::string> organizations;
};

// Case-insensitive header names, as HTTP wants.
struct HeaderLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
using Headers = std::map<std::string, std::string, HeaderLess>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target: path and query
  std::string path;    // percent-decoded path
  std::multimap<std::string, std::string> query;  // decoded query parameters
  Headers headers;
  std::string body;
  std::optional<PeerCertificate> peer;  // set when a verified client certificate was presented
  std::string remote_address;

  // The first value of a query parameter, or `fallback`.
  std::string Query(const std::string& key, const std::string& fallback = "") const;
  bool HasQuery(const std::string& key) const { return query.count(key) > 0; }
  std::string Header(const std::string& name) const;
};

// A WebSocket accepted on a connection. Not thread-safe: one reader and one writer may use it
// from two threads (Read on one, Write on another), as Beast allows.
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  // Sends one binary message.
  virtual Status Write(std::string_view data) = 0;
  // Receives one message; NotFound (with "closed") when the peer closed the socket.
  virtual StatusOr<std::string> Read() = 0;
  // Sends a close frame with the normal code.
  virtual Status Close() = 0;
};

// The raw byte stream of a connection after a `101 Switching Protocols` answer (TLS or plain),
// for a handler speaking its own protocol on it (SPDY/3.1 for kubectl exec before 1.30).
// One thread may Read while another Writes (like WebSocket); Shutdown may be called from any
// thread and makes a pending Read or Write return.
class UpgradedConnection {
 public:
  virtual ~UpgradedConnection() = default;
  // Reads at least one byte (at most buf.size()) and returns how many; NotFound (with "closed")
  // when the peer closed the connection.
  virtual StatusOr<size_t> Read(std::span<char> buf) = 0;
  // Writes all of `data`.
  virtual Status Write(std::string_view data) = 0;
  // Closes the TCP connection in both directions at once (no TLS close_notify): for giving up
  // on a peer. A handler that is done can simply destroy the object instead (the server then
  // ends the TLS session and closes the connection as usual).
  virtual void Shutdown() = 0;
};

// How a handler answers. One of Send / BeginStream / AcceptWebSocket / AcceptUpgrade, once
// per request.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual Status Send(int status, const Headers& headers, std::string_view body) = 0;

  // Chunked response: headers now, then WriteChunk as data comes, then EndStream.
  virtual Status BeginStream(int status, const Headers& headers) = 0;
  virtual Status WriteChunk(std::string_view data) = 0;
  virtual Status EndStream() = 0;
  // True once the client has closed its end (checked without blocking). For handlers that
  // wait a long time between writes (watch), so that they stop when nobody listens.
  virtual bool PeerClosed() = 0;

  // Completes a WebSocket handshake for the request, choosing `subprotocol` (may be empty).
  // The connection is closed when the WebSocket is destroyed.
  virtual StatusOr<std::unique_ptr<WebSocket>> AcceptWebSocket(std::string_view subprotocol) = 0;

  // Answers `101 Switching Protocols` with `headers` (e.g. Connection: Upgrade, Upgrade:
  // SPDY/3.1) and hands over the connection's byte stream, including any bytes the client sent
  // after its request. The connection is closed when the returned object is destroyed (after
  // the handler returns). Unimplemented for writers that cannot upgrade.
  virtual StatusOr<std::unique_ptr<UpgradedConnection>> AcceptUpgrade(const Headers& headers) {
    (void)headers;
    return absl::UnimplementedError("this response writer cannot upgrade connections");
  }
};

using Handler = std::function<void(Request&, ResponseWriter&)>;

// True if the request asks to upgrade to a WebSocket.
bool IsWebSocketUpgrade(const Request& request);

class Server {
 public:
  // Binds and starts accepting. InvalidArgument for a bad listen address or TLS material,
  // Unavailable when the address cannot be bound.
  static StatusOr<std::unique_ptr<Server>> Start(ServerOptions options, Handler handler);
  virtual ~Server() = default;

  // "127.0.0.1:43123": the bound address.
  virtual std::string address() const = 0;
  virtual uint16_t port() const = 0;
  // Stops accepting, closes every connection and waits for their threads. Idempotent.
  virtual void Stop() = 0;
  virtual size_t open_connections() const = 0;
};

// Percent-decodes `s` ('+' is kept as is, as in URL paths). InvalidArgument on a bad escape.
StatusOr<std::string> PercentDecode(std::string_view s, bool plus_is_space = false);

// Standard reason phrase ("Not Found") for a status code.
std::string_view ReasonPhrase(int status);

}  // namespace lifeboat::http
