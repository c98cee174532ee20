#include "src/storage/drivers/azure/azure_auth.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <regex>

#include "absl/strings/escaping.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/json.h"
#include "src/storage/drivers/azure/azure_strings.h"

namespace lifeboat::storage::azure {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string TrimLeft(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return std::string(s.substr(i));
}

std::string FormatTime(std::chrono::system_clock::time_point t, const char* format) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

StatusOr<std::string> DecodeKey(std::string_view base64_key, std::string_view what) {
  std::string key;
  if (base64_key.empty() || !absl::Base64Unescape(AbslView(base64_key), &key)) {
    return absl::InvalidArgumentError(StrCat(what, " is not valid base64"));
  }
  return key;
}

std::string SignBase64(std::string_view key, std::string_view data) {
  return absl::Base64Escape(HmacSha256(key, data));
}

std::string CanonicalBlobName(const BlobSasRequest& r) {
  if (r.resource == "c") return StrCat("/blob/", r.account, "/", r.container);
  return StrCat("/blob/", r.account, "/", r.container, "/", r.blob);
}

std::string SasQuery(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    StrAppend(&out, out.empty() ? "" : "&", k, "=", UrlEncode(v));
  }
  return out;
}

}  // namespace

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string UrlEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FormatRfc1123(std::chrono::system_clock::time_point t) {
  return FormatTime(t, "%a, %d %b %Y %H:%M:%S GMT");
}

std::string FormatIso8601(std::chrono::system_clock::time_point t) {
  return FormatTime(t, "%Y-%m-%dT%H:%M:%SZ");
}

std::string SharedKeyStringToSign(std::string_view account, const SignableRequest& request) {
  auto header = [&](std::string_view name) -> std::string {
    for (const auto& [k, v] : request.headers) {
      if (Lower(k) == name) return v;
    }
    return "";
  };
  std::string length =
      request.content_length > 0 ? std::to_string(request.content_length) : std::string();
  std::string out = StrCat(
      request.method, "\n", header("content-encoding"), "\n", header("content-language"), "\n",
      length, "\n", header("content-md5"), "\n", header("content-type"), "\n", header("date"), "\n",
      header("if-modified-since"), "\n", header("if-match"), "\n", header("if-none-match"), "\n",
      header("if-unmodified-since"), "\n", header("range"), "\n");
  std::vector<std::pair<std::string, std::string>> ms;
  for (const auto& [k, v] : request.headers) {
    std::string name = Lower(k);
    if (name.rfind("x-ms-", 0) == 0) ms.emplace_back(name, TrimLeft(v));
  }
  std::sort(ms.begin(), ms.end());
  for (const auto& [k, v] : ms) StrAppend(&out, k, ":", v, "\n");
  StrAppend(&out, "/", account, request.encoded_path.empty() ? "/" : request.encoded_path);
  // Query parameters: lower-cased names, sorted; repeated names join their sorted values.
  std::map<std::string, std::vector<std::string>> query;
  for (const auto& [k, v] : request.query) query[Lower(k)].push_back(v);
  for (auto& [k, values] : query) {
    std::sort(values.begin(), values.end());
    StrAppend(&out, "\n", k, ":");
    for (size_t i = 0; i < values.size(); ++i) StrAppend(&out, i ? "," : "", values[i]);
  }
  return out;
}

StatusOr<std::string> SharedKeyAuthorization(std::string_view account, std::string_view base64_key,
                                             const SignableRequest& request) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string key, DecodeKey(base64_key, "the storage account key"));
  return StrCat("SharedKey ", account, ":",
                SignBase64(key, SharedKeyStringToSign(account, request)));
}

std::string ServiceSasStringToSign(const BlobSasRequest& r) {
  // sp, st, se, canonicalizedResource, si, sip, spr, sv, sr, snapshot time, ses, rscc, rscd,
  // rsce, rscl, rsct.
  return StrCat(r.permissions, "\n", FormatIso8601(r.start), "\n", FormatIso8601(r.expiry), "\n",
                CanonicalBlobName(r), "\n", "\n", "\n", r.protocol, "\n", kApiVersion, "\n",
                r.resource, "\n\n\n\n\n\n\n");
}

StatusOr<std::string> ServiceSas(const BlobSasRequest& r, std::string_view base64_key) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string key, DecodeKey(base64_key, "the storage account key"));
  std::string sig = SignBase64(key, ServiceSasStringToSign(r));
  return SasQuery({{"sv", std::string(kApiVersion)},
                   {"spr", r.protocol},
                   {"st", FormatIso8601(r.start)},
                   {"se", FormatIso8601(r.expiry)},
                   {"sr", r.resource},
                   {"sp", r.permissions},
                   {"sig", sig}});
}

std::string UserDelegationSasStringToSign(const BlobSasRequest& r, const UserDelegationKey& k) {
  // sp, st, se, canonicalizedResource, skoid, sktid, skt, ske, sks, skv, saoid, suoid, scid,
  // sip, spr, sv, sr, snapshot time, ses, rscc, rscd, rsce, rscl, rsct.
  return StrCat(r.permissions, "\n", FormatIso8601(r.start), "\n", FormatIso8601(r.expiry), "\n",
                CanonicalBlobName(r), "\n", k.object_id, "\n", k.tenant_id, "\n", k.start, "\n",
                k.expiry, "\n", k.service, "\n", k.version, "\n\n\n\n\n", r.protocol, "\n",
                kApiVersion, "\n", r.resource, "\n\n\n\n\n\n\n");
}

StatusOr<std::string> UserDelegationSas(const BlobSasRequest& r, const UserDelegationKey& k) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string key, DecodeKey(k.value, "the user delegation key"));
  std::string sig = SignBase64(key, UserDelegationSasStringToSign(r, k));
  return SasQuery({{"sv", std::string(kApiVersion)},
                   {"spr", r.protocol},
                   {"st", FormatIso8601(r.start)},
                   {"se", FormatIso8601(r.expiry)},
                   {"skoid", k.object_id},
                   {"sktid", k.tenant_id},
                   {"skt", k.start},
                   {"ske", k.expiry},
                   {"sks", k.service},
                   {"skv", k.version},
                   {"sr", r.resource},
                   {"sp", r.permissions},
                   {"sig", sig}});
}

std::string RedactSignatures(std::string_view text) {
  static const std::regex kSig("(sig=)[^&\\s'\"]*", std::regex::icase);
  return std::regex_replace(std::string(text), kSig, "$1REDACTED");
}

}  // namespace lifeboat::storage::azure
