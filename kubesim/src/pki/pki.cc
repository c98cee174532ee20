#include "kubesim/src/pki/pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace kubesim {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// RAII for OpenSSL objects.

template <auto Fn>
struct OsslDeleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OsslDeleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, OsslDeleter<BIO_free_all>>;
using StorePtr = std::unique_ptr<X509_STORE, OsslDeleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OsslDeleter<X509_STORE_CTX_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, OsslDeleter<X509_EXTENSION_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslDeleter<BN_free>>;
using Asn1IntPtr = std::unique_ptr<ASN1_INTEGER, OsslDeleter<ASN1_INTEGER_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OsslDeleter<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OsslDeleter<GENERAL_NAME_free>>;
using OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, OsslDeleter<ASN1_OCTET_STRING_free>>;
using Ia5StringPtr = std::unique_ptr<ASN1_IA5STRING, OsslDeleter<ASN1_IA5STRING_free>>;
using EkuPtr = std::unique_ptr<EXTENDED_KEY_USAGE, OsslDeleter<EXTENDED_KEY_USAGE_free>>;

struct OpensslStringFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
using OsslBytesPtr = std::unique_ptr<unsigned char, OpensslStringFree>;

constexpr char kCaCertFile[] = "ca.crt";
constexpr char kCaKeyFile[] = "ca.key";
constexpr char kServerCertFile[] = "apiserver.crt";
constexpr char kServerKeyFile[] = "apiserver.key";
constexpr long kCaValidityDays = 3650;
constexpr long kServerValidityDays = 365;
constexpr long kRenewBeforeSeconds = 30L * 24 * 3600;
constexpr long kBackdateSeconds = 5 * 60;  // tolerate small clock skew between peers

// Drains OpenSSL's error queue into a short description.
std::string OpensslErrors() {
  std::string out;
  unsigned long err;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

absl::Status OpensslError(std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", OpensslErrors()));
}

// ---------------------------------------------------------------------------------------------
// Files.

std::string ErrnoMessage(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// nullopt when the file does not exist.
absl::StatusOr<std::optional<std::string>> ReadFileIfExists(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return absl::InternalError(absl::StrCat("opening ", path.string(), ": ", ErrnoMessage(errno)));
  }
  std::string data;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("reading ", path.string(), ": ", ErrnoMessage(err)));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(data));
}

// Writes `data` to a temporary file beside `path`, fsyncs it and renames it into place, so a
// crash leaves either the old or the new content.
absl::Status WriteFileAtomic(const fs::path& path, std::string_view data, mode_t mode) {
  std::string tmpl =
      (path.parent_path() / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("creating temporary file for ", path.string(), ": ", ErrnoMessage(errno)));
  }
  const std::string tmp(name.data());
  auto fail = [&](std::string_view what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return absl::InternalError(
        absl::StrCat(std::string(what), " ", path.string(), ": ", ErrnoMessage(err)));
  };
  if (::fchmod(fd, mode) != 0) return fail("setting mode of");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("writing");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("syncing");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("closing ", path.string(), ": ", ErrnoMessage(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("renaming into ", path.string(), ": ", ErrnoMessage(err)));
  }
  // Make the rename itself durable.
  int dfd = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::Status EnsureDir(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return absl::OkStatus();
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("creating ", dir.string(), ": ", ec.message()));
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("setting mode of ", dir.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// PEM.

X509Ptr ParseCertPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

PkeyPtr ParseKeyPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  // An empty passphrase callback result: encrypted keys fail instead of prompting.
  static constexpr auto kNoPassword = [](char*, int, int, void*) -> int { return 0; };
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, kNoPassword, nullptr));
  ERR_clear_error();
  return key;
}

absl::StatusOr<std::string> BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len < 0 || (len > 0 && data == nullptr)) return OpensslError("reading PEM buffer");
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpensslError("encoding certificate");
  return BioToString(bio.get());
}

absl::StatusOr<std::string> KeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpensslError("encoding private key");
  }
  return BioToString(bio.get());
}

// ---------------------------------------------------------------------------------------------
// Certificate building.

absl::StatusOr<PkeyPtr> GenerateKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpensslError("generating P-256 key");
  return key;
}

absl::Status SetRandomSerial(X509* cert) {
  BignumPtr bn(BN_new());
  if (!bn || BN_rand(bn.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ODD) != 1) {
    return OpensslError("generating serial number");
  }
  Asn1IntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) {
    return OpensslError("setting serial number");
  }
  return absl::OkStatus();
}

absl::Status AddNameEntry(X509_NAME* name, const char* field, std::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("empty ", field, " in name"));
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return OpensslError(absl::StrCat("adding ", field, " to name"));
  }
  return absl::OkStatus();
}

// Adds an extension given in openssl.cnf syntax (`value` like "critical,CA:TRUE").
absl::Status AddConfExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpensslError(absl::StrCat("adding extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

// A certificate with version, serial, subject, issuer, validity and public key set; the caller
// adds extensions and signs.
absl::StatusOr<X509Ptr> NewCert(X509_NAME* subject, X509_NAME* issuer, EVP_PKEY* pubkey,
                                long validity_seconds) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpensslError("creating certificate");
  }
  LIFEBOAT_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  if (X509_set_subject_name(cert.get(), subject) != 1 ||
      X509_set_issuer_name(cert.get(), issuer ? issuer : subject) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, validity_seconds, nullptr) == nullptr ||
      X509_set_pubkey(cert.get(), pubkey) != 1) {
    return OpensslError("filling certificate");
  }
  return cert;
}

absl::Status Sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) return OpensslError("signing certificate");
  return absl::OkStatus();
}

struct KeyAndCert {
  PkeyPtr key;
  X509Ptr cert;
};

absl::StatusOr<KeyAndCert> CreateCa() {
  LIFEBOAT_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
  std::unique_ptr<X509_NAME, OsslDeleter<X509_NAME_free>> name(X509_NAME_new());
  if (!name) return OpensslError("creating name");
  LIFEBOAT_RETURN_IF_ERROR(AddNameEntry(name.get(), "CN", "kubesim-ca"));
  LIFEBOAT_ASSIGN_OR_RETURN(X509Ptr cert,
                            NewCert(name.get(), nullptr, key.get(), kCaValidityDays * 86400));
  LIFEBOAT_RETURN_IF_ERROR(
      AddConfExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  LIFEBOAT_RETURN_IF_ERROR(AddConfExtension(cert.get(), cert.get(), NID_key_usage,
                                            "critical,digitalSignature,keyCertSign,cRLSign"));
  LIFEBOAT_RETURN_IF_ERROR(
      AddConfExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  LIFEBOAT_RETURN_IF_ERROR(Sign(cert.get(), key.get()));
  return KeyAndCert{std::move(key), std::move(cert)};
}

// A server name as it appears in a SAN: the raw address bytes of an IP, else a lower-case DNS
// name.
struct SanName {
  bool is_ip = false;
  std::string value;
  bool operator<(const SanName& o) const {
    return std::tie(is_ip, value) < std::tie(o.is_ip, o.value);
  }
};

SanName ToSanName(const std::string& name) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, name.c_str(), buf) == 1) {
    return {true, std::string(reinterpret_cast<char*>(buf), 4)};
  }
  if (inet_pton(AF_INET6, name.c_str(), buf) == 1) {
    return {true, std::string(reinterpret_cast<char*>(buf), 16)};
  }
  return {false, absl::AsciiStrToLower(name)};
}

absl::Status AddSubjectAltNames(X509* cert, const std::vector<std::string>& server_names) {
  std::set<SanName> seen;
  GeneralNamesPtr gens(sk_GENERAL_NAME_new_null());
  if (!gens) return OpensslError("creating subjectAltName");
  for (const std::string& server_name : server_names) {
    if (server_name.empty()) return absl::InvalidArgumentError("empty server name");
    SanName san = ToSanName(server_name);
    if (!seen.insert(san).second) continue;
    GeneralNamePtr gen(GENERAL_NAME_new());
    if (!gen) return OpensslError("creating subjectAltName entry");
    if (san.is_ip) {
      OctetStringPtr ip(ASN1_OCTET_STRING_new());
      if (!ip ||
          ASN1_OCTET_STRING_set(ip.get(), reinterpret_cast<const unsigned char*>(san.value.data()),
                                static_cast<int>(san.value.size())) != 1) {
        return OpensslError("encoding IP address SAN");
      }
      GENERAL_NAME_set0_value(gen.get(), GEN_IPADD, ip.release());
    } else {
      Ia5StringPtr dns(ASN1_IA5STRING_new());
      if (!dns ||
          ASN1_STRING_set(dns.get(), san.value.data(), static_cast<int>(san.value.size())) != 1) {
        return OpensslError("encoding DNS SAN");
      }
      GENERAL_NAME_set0_value(gen.get(), GEN_DNS, dns.release());
    }
    if (sk_GENERAL_NAME_push(gens.get(), gen.get()) == 0) return OpensslError("adding SAN");
    gen.release();  // owned by gens
  }
  if (sk_GENERAL_NAME_num(gens.get()) == 0) return absl::OkStatus();
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpensslError("adding subjectAltName");
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyAndCert> CreateServingCert(X509* ca_cert, EVP_PKEY* ca_key,
                                             const std::vector<std::string>& server_names) {
  LIFEBOAT_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
  std::unique_ptr<X509_NAME, OsslDeleter<X509_NAME_free>> name(X509_NAME_new());
  if (!name) return OpensslError("creating name");
  LIFEBOAT_RETURN_IF_ERROR(AddNameEntry(name.get(), "CN", "kubesim-apiserver"));
  LIFEBOAT_ASSIGN_OR_RETURN(X509Ptr cert, NewCert(name.get(), X509_get_subject_name(ca_cert),
                                                  key.get(), kServerValidityDays * 86400));
  LIFEBOAT_RETURN_IF_ERROR(
      AddConfExtension(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE"));
  LIFEBOAT_RETURN_IF_ERROR(AddConfExtension(cert.get(), ca_cert, NID_key_usage,
                                            "critical,digitalSignature,keyEncipherment"));
  LIFEBOAT_RETURN_IF_ERROR(AddConfExtension(cert.get(), ca_cert, NID_ext_key_usage, "serverAuth"));
  LIFEBOAT_RETURN_IF_ERROR(
      AddConfExtension(cert.get(), ca_cert, NID_authority_key_identifier, "keyid:always"));
  LIFEBOAT_RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), server_names));
  LIFEBOAT_RETURN_IF_ERROR(Sign(cert.get(), ca_key));
  return KeyAndCert{std::move(key), std::move(cert)};
}

// ---------------------------------------------------------------------------------------------
// Checks on loaded certificates.

std::set<SanName> CertSans(X509* cert) {
  std::set<SanName> out;
  GeneralNamesPtr gens(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!gens) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(gens.get(), i);
    int type = 0;
    void* value = GENERAL_NAME_get0_value(gen, &type);
    if (type != GEN_DNS && type != GEN_IPADD) continue;
    const auto* str = static_cast<const ASN1_STRING*>(value);
    std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(str)),
                      static_cast<size_t>(ASN1_STRING_length(str)));
    if (type == GEN_DNS) {
      out.insert({false, absl::AsciiStrToLower(bytes)});
    } else {
      out.insert({true, std::move(bytes)});
    }
  }
  return out;
}

// True when the serving certificate can be kept: signed by the CA, matching its key, covering
// every server name and valid for more than 30 more days.
bool ServingCertUsable(X509* cert, EVP_PKEY* key, X509* ca_cert,
                       const std::vector<std::string>& server_names) {
  EVP_PKEY* ca_pub = X509_get0_pubkey(ca_cert);
  bool ok = ca_pub != nullptr && X509_verify(cert, ca_pub) == 1 &&
            X509_check_issued(ca_cert, cert) == X509_V_OK && X509_check_private_key(cert, key) == 1;
  if (ok) {
    time_t renew_at = std::time(nullptr) + kRenewBeforeSeconds;
    ok = X509_cmp_time(X509_get0_notAfter(cert), &renew_at) > 0;
  }
  if (ok) {
    std::set<SanName> sans = CertSans(cert);
    for (const std::string& name : server_names) {
      if (!sans.count(ToSanName(name))) {
        ok = false;
        break;
      }
    }
  }
  ERR_clear_error();
  return ok;
}

absl::StatusOr<std::string> ReadAttribute(const X509_NAME_ENTRY* entry) {
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
  if (len < 0) return OpensslError("decoding certificate name");
  OsslBytesPtr owned(utf8);
  return std::string(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
}

absl::StatusOr<std::vector<std::string>> NameEntries(X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::string value, ReadAttribute(X509_NAME_get_entry(name, i)));
    out.push_back(std::move(value));
  }
  return out;
}

absl::Status DataLoss(const fs::path& path, std::string_view what) {
  return absl::DataLossError(absl::StrCat(path.string(), ": ", std::string(what)));
}

}  // namespace

absl::StatusOr<Pki> LoadOrCreatePki(const std::filesystem::path& dir,
                                    const std::vector<std::string>& server_names) {
  for (const std::string& name : server_names) {
    if (name.empty()) return absl::InvalidArgumentError("empty server name");
  }
  LIFEBOAT_RETURN_IF_ERROR(EnsureDir(dir));
  const fs::path ca_cert_path = dir / kCaCertFile, ca_key_path = dir / kCaKeyFile;
  const fs::path srv_cert_path = dir / kServerCertFile, srv_key_path = dir / kServerKeyFile;

  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> ca_cert_pem, ReadFileIfExists(ca_cert_path));
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> ca_key_pem, ReadFileIfExists(ca_key_path));
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> srv_cert_pem,
                            ReadFileIfExists(srv_cert_path));
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> srv_key_pem, ReadFileIfExists(srv_key_path));

  // Parse everything present first, so a corrupt file is reported rather than overwritten.
  X509Ptr ca_cert, srv_cert;
  PkeyPtr ca_key, srv_key;
  if (ca_cert_pem && !(ca_cert = ParseCertPem(*ca_cert_pem))) {
    return DataLoss(ca_cert_path, "not a PEM certificate");
  }
  if (ca_key_pem && !(ca_key = ParseKeyPem(*ca_key_pem))) {
    return DataLoss(ca_key_path, "not a PEM private key");
  }
  if (srv_cert_pem && !(srv_cert = ParseCertPem(*srv_cert_pem))) {
    return DataLoss(srv_cert_path, "not a PEM certificate");
  }
  if (srv_key_pem && !(srv_key = ParseKeyPem(*srv_key_pem))) {
    return DataLoss(srv_key_path, "not a PEM private key");
  }

  Pki pki;
  if (ca_cert && ca_key) {
    if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
      ERR_clear_error();
      return DataLoss(ca_key_path, absl::StrCat("does not match ", kCaCertFile));
    }
    pki.ca_cert_pem = std::move(*ca_cert_pem);
    pki.ca_key_pem = std::move(*ca_key_pem);
  } else if (ca_cert || ca_key) {
    // Replacing only half of a CA would silently invalidate every issued certificate.
    const fs::path& missing = ca_cert ? ca_key_path : ca_cert_path;
    return absl::FailedPreconditionError(
        absl::StrCat(missing.string(), " is missing while its counterpart exists; remove ",
                     (ca_cert ? ca_cert_path : ca_key_path).string(), " to create a new CA"));
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(KeyAndCert ca, CreateCa());
    LIFEBOAT_ASSIGN_OR_RETURN(pki.ca_cert_pem, CertToPem(ca.cert.get()));
    LIFEBOAT_ASSIGN_OR_RETURN(pki.ca_key_pem, KeyToPem(ca.key.get()));
    // Key first: a crash in between leaves a key without certificate, which is reported.
    LIFEBOAT_RETURN_IF_ERROR(WriteFileAtomic(ca_key_path, pki.ca_key_pem, 0600));
    LIFEBOAT_RETURN_IF_ERROR(WriteFileAtomic(ca_cert_path, pki.ca_cert_pem, 0644));
    ca_cert = std::move(ca.cert);
    ca_key = std::move(ca.key);
    srv_cert.reset();  // signed by a CA that no longer exists
  }

  if (srv_cert && srv_key &&
      ServingCertUsable(srv_cert.get(), srv_key.get(), ca_cert.get(), server_names)) {
    pki.server_cert_pem = std::move(*srv_cert_pem);
    pki.server_key_pem = std::move(*srv_key_pem);
    return pki;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(KeyAndCert srv,
                            CreateServingCert(ca_cert.get(), ca_key.get(), server_names));
  LIFEBOAT_ASSIGN_OR_RETURN(pki.server_cert_pem, CertToPem(srv.cert.get()));
  LIFEBOAT_ASSIGN_OR_RETURN(pki.server_key_pem, KeyToPem(srv.key.get()));
  LIFEBOAT_RETURN_IF_ERROR(WriteFileAtomic(srv_key_path, pki.server_key_pem, 0600));
  LIFEBOAT_RETURN_IF_ERROR(WriteFileAtomic(srv_cert_path, pki.server_cert_pem, 0644));
  return pki;
}

absl::StatusOr<ClientCert> IssueClientCert(const Pki& pki, std::string_view user,
                                           const std::vector<std::string>& groups,
                                           absl::Duration validity) {
  if (user.empty()) return absl::InvalidArgumentError("client certificate needs a user name");
  if (validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("client certificate validity must be positive");
  }
  X509Ptr ca_cert = ParseCertPem(pki.ca_cert_pem);
  PkeyPtr ca_key = ParseKeyPem(pki.ca_key_pem);
  if (!ca_cert || !ca_key)
    return absl::FailedPreconditionError("CA certificate or key does not parse");

  LIFEBOAT_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
  std::unique_ptr<X509_NAME, OsslDeleter<X509_NAME_free>> name(X509_NAME_new());
  if (!name) return OpensslError("creating name");
  for (const std::string& group : groups) {
    LIFEBOAT_RETURN_IF_ERROR(AddNameEntry(name.get(), "O", group));
  }
  LIFEBOAT_RETURN_IF_ERROR(AddNameEntry(name.get(), "CN", user));
  const long seconds = static_cast<long>(absl::ToInt64Seconds(validity));
  LIFEBOAT_ASSIGN_OR_RETURN(X509Ptr cert, NewCert(name.get(), X509_get_subject_name(ca_cert.get()),
                                                  key.get(), seconds > 0 ? seconds : 1));
  LIFEBOAT_RETURN_IF_ERROR(
      AddConfExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  LIFEBOAT_RETURN_IF_ERROR(
      AddConfExtension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature"));
  LIFEBOAT_RETURN_IF_ERROR(
      AddConfExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, "clientAuth"));
  LIFEBOAT_RETURN_IF_ERROR(
      AddConfExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always"));
  LIFEBOAT_RETURN_IF_ERROR(Sign(cert.get(), ca_key.get()));

  ClientCert out;
  LIFEBOAT_ASSIGN_OR_RETURN(out.cert_pem, CertToPem(cert.get()));
  LIFEBOAT_ASSIGN_OR_RETURN(out.key_pem, KeyToPem(key.get()));
  return out;
}

absl::StatusOr<std::pair<std::string, std::vector<std::string>>> VerifyClientCertificate(
    const Pki& pki, std::string_view cert_pem) {
  X509Ptr ca_cert = ParseCertPem(pki.ca_cert_pem);
  if (!ca_cert) return absl::FailedPreconditionError("CA certificate does not parse");
  X509Ptr cert = ParseCertPem(cert_pem);
  if (!cert) return absl::PermissionDeniedError("client certificate does not parse");

  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca_cert.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT) != 1) {
    return OpensslError("setting up certificate verification");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::PermissionDeniedError(
        absl::StrCat("client certificate does not verify: ", X509_verify_cert_error_string(err)));
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> cns, NameEntries(subject, NID_commonName));
  if (cns.empty() || cns.front().empty()) {
    return absl::PermissionDeniedError("client certificate has no common name");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> orgs,
                            NameEntries(subject, NID_organizationName));
  return std::make_pair(std::move(cns.front()), std::move(orgs));
}

}  // namespace kubesim
