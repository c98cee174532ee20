#include "src/storage/drivers/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

namespace lifeboat::storage::s3 {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string Hex(const unsigned char* data, size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims and collapses runs of spaces (SigV4's "Trimall").
std::string TrimAll(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

struct CanonicalHeaders {
  std::string text;     // "host:example.com\nx-amz-date:...\n"
  std::string signed_;  // "host;x-amz-date"
};

CanonicalHeaders Canonicalize(const Pairs& headers) {
  // Repeated names are joined with ',' in the order given, as the test suite specifies.
  std::map<std::string, std::string> merged;
  for (const auto& [name, value] : headers) {
    std::string key = Lower(name);
    auto [it, inserted] = merged.try_emplace(key, TrimAll(value));
    if (!inserted) it->second += "," + TrimAll(value);
  }
  CanonicalHeaders out;
  for (const auto& [name, value] : merged) {
    out.text += name + ":" + value + "\n";
    if (!out.signed_.empty()) out.signed_ += ";";
    out.signed_ += name;
  }
  return out;
}

std::string Scope(const SigningScope& scope) {
  return AmzDay(scope.time) + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

std::string SigningKey(const Credentials& creds, const SigningScope& scope) {
  std::string k = Hmac("AWS4" + creds.secret_access_key, AmzDay(scope.time));
  k = Hmac(k, scope.region);
  k = Hmac(k, scope.service);
  return Hmac(k, "aws4_request");
}

std::string FormatTime(std::chrono::system_clock::time_point t, const char* format) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof(buf), format, &tm);
  return std::string(buf, n);
}

}  // namespace

std::string UriEncode(std::string_view s, bool encode_slash) {
  static constexpr char kUpperHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kUpperHex[c >> 4]);
      out.push_back(kUpperHex[c & 0xf]);
    }
  }
  return out;
}

std::string CanonicalQuery(const Pairs& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out += "&";
    out += k + "=" + v;
  }
  return out;
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  return FormatTime(t, "%Y%m%dT%H%M%SZ");
}

std::string AmzDay(std::chrono::system_clock::time_point t) { return FormatTime(t, "%Y%m%d"); }

std::string HexSha256(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return Hex(md, sizeof(md));
}

Signature ComputeSignature(const Credentials& creds, const SigningScope& scope,
                           const SigningRequest& request) {
  CanonicalHeaders headers = Canonicalize(request.headers);
  Signature sig;
  sig.signed_headers = headers.signed_;
  sig.canonical_request = request.method + "\n" + UriEncode(request.path, false) + "\n" +
                          CanonicalQuery(request.query) + "\n" + headers.text + "\n" +
                          headers.signed_ + "\n" + request.payload_hash;
  sig.string_to_sign = std::string(kAlgorithm) + "\n" + AmzDate(scope.time) + "\n" + Scope(scope) +
                       "\n" + HexSha256(sig.canonical_request);
  std::string mac = Hmac(SigningKey(creds, scope), sig.string_to_sign);
  sig.signature = Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
  return sig;
}

std::string SignHeaders(const Credentials& creds, const SigningScope& scope,
                        SigningRequest* request, Signature* debug) {
  auto& headers = request->headers;
  std::erase_if(headers, [](const auto& h) {
    std::string name = Lower(h.first);
    return name == "x-amz-date" || name == "x-amz-security-token" || name == "authorization";
  });
  headers.emplace_back("x-amz-date", AmzDate(scope.time));
  if (!creds.session_token.empty())
    headers.emplace_back("x-amz-security-token", creds.session_token);
  Signature sig = ComputeSignature(creds, scope, *request);
  std::string authorization = std::string(kAlgorithm) + " Credential=" + creds.access_key_id + "/" +
                              Scope(scope) + ", SignedHeaders=" + sig.signed_headers +
                              ", Signature=" + sig.signature;
  if (debug != nullptr) *debug = std::move(sig);
  return authorization;
}

std::string PresignQuery(const Credentials& creds, const SigningScope& scope,
                         const SigningRequest& request, std::chrono::seconds expires,
                         Signature* debug) {
  SigningRequest signing = request;
  CanonicalHeaders headers = Canonicalize(request.headers);
  signing.query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  signing.query.emplace_back("X-Amz-Credential", creds.access_key_id + "/" + Scope(scope));
  signing.query.emplace_back("X-Amz-Date", AmzDate(scope.time));
  signing.query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
  signing.query.emplace_back("X-Amz-SignedHeaders", headers.signed_);
  if (!creds.session_token.empty()) {
    signing.query.emplace_back("X-Amz-Security-Token", creds.session_token);
  }
  Signature sig = ComputeSignature(creds, scope, signing);
  std::string query = CanonicalQuery(signing.query) + "&X-Amz-Signature=" + sig.signature;
  if (debug != nullptr) *debug = std::move(sig);
  return query;
}

}  // namespace lifeboat::storage::s3
