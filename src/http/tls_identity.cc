#include "src/http/tls_identity.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace lifeboat::http {
namespace {

namespace ssl = boost::asio::ssl;

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

// Adds each certificate of `pem` to the trust store and to the list of CAs sent in the
// CertificateRequest (Go clients only present a certificate issued by a listed CA).
Status AddClientCas(SSL_CTX* ctx, const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                &BIO_free);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    std::unique_ptr<X509, decltype(&X509_free)> cert(raw, &X509_free);
    if (X509_STORE_add_cert(store, cert.get()) != 1 || SSL_CTX_add_client_CA(ctx, cert.get()) != 1) {
      return absl::InvalidArgumentError("client CA: " + OpenSslError());
    }
    ++count;
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (count == 0) return absl::InvalidArgumentError("client CA: no certificate in PEM");
  return absl::OkStatus();
}

std::vector<std::string> NameEntries(X509_NAME* name, int nid) {
  std::vector<std::string> out;
  int idx = -1;
  while ((idx = X509_NAME_get_index_by_NID(name, nid, idx)) >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len >= 0) out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
  }
  return out;
}

}  // namespace

StatusOr<ssl::context> MakeServerTlsContext(const TlsConfig& tls) {
  ssl::context ctx(ssl::context::tls_server);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  ctx.use_certificate_chain(boost::asio::buffer(tls.cert_pem), ec);
  if (ec) return absl::InvalidArgumentError("serving certificate: " + ec.message());
  ctx.use_private_key(boost::asio::buffer(tls.key_pem), ssl::context::pem, ec);
  if (ec) return absl::InvalidArgumentError("serving key: " + ec.message());
  // Clients resume TLS sessions on new connections (libcurl does); with client certificates
  // requested, OpenSSL refuses resumption (a handshake failure) unless sessions carry a
  // context id. Resumed sessions keep their peer certificate and verify result.
  static constexpr unsigned char kSessionContext[] = "lifeboat-http";
  SSL_CTX_set_session_id_context(ctx.native_handle(), kSessionContext, sizeof(kSessionContext) - 1);
  if (!tls.client_ca_pem.empty()) {
    LIFEBOAT_RETURN_IF_ERROR(AddClientCas(ctx.native_handle(), tls.client_ca_pem));
    // Ask for a certificate but accept clients without one (they may send a bearer token);
    // whether it verified is read from SSL_get_verify_result after the handshake.
    SSL_CTX_set_verify(ctx.native_handle(), SSL_VERIFY_PEER,
                       [](int, X509_STORE_CTX*) -> int { return 1; });
  }
  return ctx;
}

std::optional<PeerCertificate> VerifiedPeer(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  X509_NAME* subject = X509_get_subject_name(cert);
  PeerCertificate peer;
  auto cns = NameEntries(subject, NID_commonName);
  if (cns.empty()) return std::nullopt;
  peer.common_name = cns.front();
  peer.organizations = NameEntries(subject, NID_organizationName);
  return peer;
}

}  // namespace lifeboat::http
