#pragma once

// TLS plumbing for the HTTP server: the server context, and the identity of a client that
// presented a certificate signed by the configured client CA.

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <optional>

#include "lifeboat/common/status.h"
#include "lifeboat/http/server.h"

namespace lifeboat::http {

// InvalidArgument when the certificate, key or CA PEM does not load (names which one).
StatusOr<boost::asio::ssl::context> MakeServerTlsContext(const TlsConfig& tls);

// The CN and O values of the peer's certificate, if it sent one that verified.
std::optional<PeerCertificate> VerifiedPeer(SSL* ssl);

}  // namespace lifeboat::http
