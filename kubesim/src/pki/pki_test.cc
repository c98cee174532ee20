#include "kubesim/src/pki/pki.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kubesim {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::path(::testing::TempDir()) / "kubesim_pki_XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    const char* made = ::mkdtemp(buf.data());
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

fs::perms Mode(const fs::path& p) { return fs::status(p).permissions() & fs::perms::mask; }

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr Parse(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

PkeyPtr ParseKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// A copy of `cert_pem` valid for only `days` more days, re-signed by the CA.
std::string ShortLivedCopy(const Pki& pki, const std::string& cert_pem, long days) {
  X509Ptr cert = Parse(cert_pem);
  PkeyPtr ca_key = ParseKey(pki.ca_key_pem);
  if (!cert || !ca_key) return "";
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), 0, nullptr);
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) <= 0) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(bio.get(), cert.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// The certificate's SANs rendered as "DNS:x" / "IP:1.2.3.4".
std::vector<std::string> Sans(const std::string& pem) {
  X509Ptr cert = Parse(pem);
  std::vector<std::string> out;
  if (!cert) return out;
  auto* gens = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (!gens) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
    GENERAL_NAME* gen = sk_GENERAL_NAME_value(gens, i);
    if (gen->type == GEN_DNS) {
      out.push_back(
          "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gen->d.dNSName)),
                               ASN1_STRING_length(gen->d.dNSName)));
    } else if (gen->type == GEN_IPADD) {
      const unsigned char* d = ASN1_STRING_get0_data(gen->d.iPAddress);
      int len = ASN1_STRING_length(gen->d.iPAddress);
      if (len == 4) {
        out.push_back("IP:" + std::to_string(d[0]) + "." + std::to_string(d[1]) + "." +
                      std::to_string(d[2]) + "." + std::to_string(d[3]));
      } else {
        out.push_back("IP6:" + std::to_string(len));
      }
    }
  }
  GENERAL_NAMES_free(gens);
  return out;
}

std::string SubjectCn(const std::string& pem) {
  X509Ptr cert = Parse(pem);
  if (!cert) return "";
  char buf[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, buf, sizeof(buf));
  return buf;
}

TEST(PkiTest, CreatesFilesWithModes) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "pki";
  auto pki = LoadOrCreatePki(dir, {"localhost", "127.0.0.1", "::1"});
  ASSERT_TRUE(pki.ok()) << pki.status();
  EXPECT_EQ(Mode(dir), fs::perms::owner_all);
  EXPECT_EQ(Mode(dir / "ca.key"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(Mode(dir / "apiserver.key"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(ReadFile(dir / "ca.crt"), pki->ca_cert_pem);
  EXPECT_EQ(ReadFile(dir / "ca.key"), pki->ca_key_pem);
  EXPECT_EQ(ReadFile(dir / "apiserver.crt"), pki->server_cert_pem);
  EXPECT_EQ(ReadFile(dir / "apiserver.key"), pki->server_key_pem);
  EXPECT_EQ(SubjectCn(pki->ca_cert_pem), "kubesim-ca");
  EXPECT_EQ(SubjectCn(pki->server_cert_pem), "kubesim-apiserver");
  EXPECT_THAT(Sans(pki->server_cert_pem), ElementsAre("DNS:localhost", "IP:127.0.0.1", "IP6:16"));

  X509Ptr ca = Parse(pki->ca_cert_pem);
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  X509Ptr srv = Parse(pki->server_cert_pem);
  ASSERT_TRUE(srv);
  EXPECT_EQ(X509_check_issued(ca.get(), srv.get()), X509_V_OK);
  EXPECT_EQ(X509_check_purpose(srv.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_ca(srv.get()), 0);
}

TEST(PkiTest, ReloadGivesIdenticalPems) {
  TempDir tmp;
  auto first = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->ca_cert_pem, second->ca_cert_pem);
  EXPECT_EQ(first->ca_key_pem, second->ca_key_pem);
  EXPECT_EQ(first->server_cert_pem, second->server_cert_pem);
  EXPECT_EQ(first->server_key_pem, second->server_key_pem);
  // A subset of the covered names (case-insensitive DNS) needs no new certificate either.
  auto third = LoadOrCreatePki(tmp.path(), {"LOCALHOST"});
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(first->server_cert_pem, third->server_cert_pem);
}

TEST(PkiTest, NewServerNameReissuesServingCertOnly) {
  TempDir tmp;
  auto first = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = LoadOrCreatePki(tmp.path(), {"localhost", "10.0.0.7", "kubesim.example"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->ca_cert_pem, second->ca_cert_pem);
  EXPECT_EQ(first->ca_key_pem, second->ca_key_pem);
  EXPECT_NE(first->server_cert_pem, second->server_cert_pem);
  EXPECT_NE(first->server_key_pem, second->server_key_pem);
  EXPECT_THAT(Sans(second->server_cert_pem),
              ElementsAre("DNS:localhost", "IP:10.0.0.7", "DNS:kubesim.example"));
  EXPECT_EQ(ReadFile(tmp.path() / "apiserver.crt"), second->server_cert_pem);
}

TEST(PkiTest, CorruptFileIsDataLoss) {
  for (const char* file : {"ca.crt", "ca.key", "apiserver.crt", "apiserver.key"}) {
    TempDir tmp;
    ASSERT_TRUE(LoadOrCreatePki(tmp.path(), {"localhost"}).ok());
    WriteFile(tmp.path() / file, "garbage\n");
    auto pki = LoadOrCreatePki(tmp.path(), {"localhost"});
    EXPECT_EQ(pki.status().code(), absl::StatusCode::kDataLoss) << file;
    EXPECT_THAT(std::string(pki.status().message()), HasSubstr(file));
    EXPECT_EQ(ReadFile(tmp.path() / file), "garbage\n") << "must not overwrite " << file;
  }
}

TEST(PkiTest, MissingServingFilesAreRecreated) {
  TempDir tmp;
  auto first = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(first.ok());
  fs::remove(tmp.path() / "apiserver.key");
  auto second = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->ca_cert_pem, second->ca_cert_pem);
  EXPECT_NE(first->server_key_pem, second->server_key_pem);
}

TEST(PkiTest, ClientCertVerifiesAndCarriesIdentity) {
  TempDir tmp;
  auto pki = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(pki.ok()) << pki.status();
  auto client = IssueClientCert(*pki, "alice", {"dev", "system:masters"}, absl::Hours(1));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_THAT(client->key_pem, HasSubstr("PRIVATE KEY"));
  auto identity = VerifyClientCertificate(*pki, client->cert_pem);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->first, "alice");
  EXPECT_THAT(identity->second, ElementsAre("dev", "system:masters"));

  auto no_groups = IssueClientCert(*pki, "bob", {}, absl::Hours(1));
  ASSERT_TRUE(no_groups.ok());
  auto bob = VerifyClientCertificate(*pki, no_groups->cert_pem);
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(bob->first, "bob");
  EXPECT_TRUE(bob->second.empty());
}

TEST(PkiTest, CertFromAnotherCaIsRejected) {
  TempDir a, b;
  auto pki_a = LoadOrCreatePki(a.path(), {"localhost"});
  auto pki_b = LoadOrCreatePki(b.path(), {"localhost"});
  ASSERT_TRUE(pki_a.ok() && pki_b.ok());
  auto client = IssueClientCert(*pki_b, "mallory", {"system:masters"}, absl::Hours(1));
  ASSERT_TRUE(client.ok());
  auto identity = VerifyClientCertificate(*pki_a, client->cert_pem);
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(PkiTest, ServingCertAndGarbageAreNotClientCerts) {
  TempDir tmp;
  auto pki = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(pki.ok());
  EXPECT_EQ(VerifyClientCertificate(*pki, pki->server_cert_pem).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyClientCertificate(*pki, "not a cert").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(PkiTest, RejectsBadClientCertRequests) {
  TempDir tmp;
  auto pki = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(pki.ok());
  EXPECT_EQ(IssueClientCert(*pki, "", {}, absl::Hours(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IssueClientCert(*pki, "u", {}, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PkiTest, ServingCertNearExpiryIsReissued) {
  TempDir tmp;
  auto first = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(first.ok()) << first.status();
  // 40 days left: kept.
  const std::string forty = ShortLivedCopy(*first, first->server_cert_pem, 40);
  ASSERT_FALSE(forty.empty());
  WriteFile(tmp.path() / "apiserver.crt", forty);
  auto second = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->server_cert_pem, forty);
  // 10 days left: re-issued for a year.
  const std::string ten = ShortLivedCopy(*first, first->server_cert_pem, 10);
  WriteFile(tmp.path() / "apiserver.crt", ten);
  auto third = LoadOrCreatePki(tmp.path(), {"localhost"});
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_NE(third->server_cert_pem, ten);
  EXPECT_EQ(third->ca_cert_pem, first->ca_cert_pem);
  X509Ptr cert = Parse(third->server_cert_pem);
  ASSERT_TRUE(cert);
  time_t in_300_days = std::time(nullptr) + 300L * 86400;
  EXPECT_GT(X509_cmp_time(X509_get0_notAfter(cert.get()), &in_300_days), 0);
}

TEST(PkiTest, ServingCertFromAnotherCaIsReissued) {
  TempDir a, b;
  auto pki_a = LoadOrCreatePki(a.path(), {"localhost"});
  auto pki_b = LoadOrCreatePki(b.path(), {"localhost"});
  ASSERT_TRUE(pki_a.ok() && pki_b.ok());
  WriteFile(a.path() / "apiserver.crt", pki_b->server_cert_pem);
  WriteFile(a.path() / "apiserver.key", pki_b->server_key_pem);
  auto again = LoadOrCreatePki(a.path(), {"localhost"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->server_cert_pem, pki_b->server_cert_pem);
  X509Ptr ca = Parse(again->ca_cert_pem), srv = Parse(again->server_cert_pem);
  ASSERT_TRUE(ca && srv);
  EXPECT_EQ(X509_check_issued(ca.get(), srv.get()), X509_V_OK);
}

TEST(PkiTest, CaHasCaExtensions) {
  TempDir tmp;
  auto pki = LoadOrCreatePki(tmp.path(), {});
  ASSERT_TRUE(pki.ok()) << pki.status();
  X509Ptr ca = Parse(pki->ca_cert_pem);
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_get_version(ca.get()), X509_VERSION_3);
  EXPECT_NE(X509_get0_subject_key_id(ca.get()), nullptr);
  EXPECT_TRUE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN);
  EXPECT_TRUE(X509_get_key_usage(ca.get()) & KU_CRL_SIGN);
  EXPECT_TRUE(X509_get_key_usage(ca.get()) & KU_DIGITAL_SIGNATURE);
  int crit = -1;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(ca.get(), NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(crit, 1);
  EXPECT_TRUE(bc->ca);
  BASIC_CONSTRAINTS_free(bc);
  time_t in_9_years = std::time(nullptr) + 9L * 365 * 86400;
  EXPECT_GT(X509_cmp_time(X509_get0_notAfter(ca.get()), &in_9_years), 0);
}

}  // namespace
}  // namespace kubesim
