#include "src/storage/drivers/s3/s3_settings.h"

#include <boost/url.hpp>
#include <charconv>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lifeboat/common/byte_stream.h"
#include "src/storage/drivers/s3/credentials.h"

namespace lifeboat::storage::s3 {
namespace {

// velero-plugin-for-aws's object-store keys (plus the ones Velero injects), and ours.
const std::set<std::string, std::less<>> kAwsKeys = {
    "region", "s3Url", "publicUrl", "s3ForcePathStyle", "insecureSkipTLSVerify", "caCert",
    "profile", "serverSideEncryption", "kmsKeyId", "customerKeyEncryptionFile",
    "customerKeyEncryptionSecret", "signatureVersion", "enableSharedConfig", "tagging",
    "checksumAlgorithm", "bucket", "prefix", "credentialsFile",
    // Lifeboat's own (documented in docs/storage.md).
    "partSizeInBytes", "uploadConcurrency"};

const std::set<std::string, std::less<>> kGcsKeys = {
    "bucket",          "prefix",           "credentialsFile",
    "storeEndpoint",   "kmsKeyName",       "serviceAccount",
    "universeDomain",  "caCert",           "insecureSkipTLSVerify",
    "partSizeInBytes", "uploadConcurrency"};

std::string Get(const Config& config, std::string_view key) {
  auto it = config.find(key);
  return it == config.end() ? "" : it->second;
}

Status CheckKeys(const Config& config, const std::set<std::string, std::less<>>& known,
                 std::string_view provider) {
  std::vector<std::string> unknown;
  for (const auto& [k, v] : config) {
    if (!known.contains(k)) unknown.push_back(k);
  }
  if (unknown.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError("unknown config key(s) for provider " + std::string(provider) +
                                    ": " + absl::StrJoin(unknown, ", ") +
                                    " (known: " + absl::StrJoin(known, ", ") + ")");
}

StatusOr<bool> ParseBool(const Config& config, std::string_view key) {
  std::string v = absl::AsciiStrToLower(Get(config, key));
  if (v.empty() || v == "false" || v == "0") return false;
  if (v == "true" || v == "1") return true;
  return absl::InvalidArgumentError("config key " + std::string(key) +
                                    " must be true or false, got \"" + Get(config, key) + "\"");
}

StatusOr<int64_t> ParseInt(const Config& config, std::string_view key, int64_t fallback,
                           int64_t min, int64_t max) {
  std::string v = Get(config, key);
  if (v.empty()) return fallback;
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size() || out < min || out > max) {
    return absl::InvalidArgumentError("config key " + std::string(key) +
                                      " must be an integer from " + std::to_string(min) + " to " +
                                      std::to_string(max) + ", got \"" + v + "\"");
  }
  return out;
}

// Validates "K1=V1&K2=V2" (URL query form, as Velero's `tagging`, parsed like Go's
// url.ParseQuery) and re-encodes it canonically.
StatusOr<std::string> ParseTagging(std::string_view tagging) {
  if (tagging.empty()) return std::string();
  auto bad = [&] {
    return absl::InvalidArgumentError(
        "config key tagging must be in query form K1=V1&K2=V2 with non-empty keys, got \"" +
        std::string(tagging) + "\"");
  };
  Pairs pairs;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(tagging.data(), tagging.size()), '&')) {
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos || eq == 0) return bad();
    auto k = http::PercentDecode(std::string_view(part.data(), eq), true);
    auto v =
        http::PercentDecode(std::string_view(part.data() + eq + 1, part.size() - eq - 1), true);
    if (!k.ok() || !v.ok()) return bad();
    pairs.emplace_back(*k, *v);
  }
  return CanonicalQuery(pairs);
}

StatusOr<ChecksumAlgorithm> ParseChecksum(const Config& config) {
  auto it = config.find("checksumAlgorithm");
  if (it == config.end()) return ChecksumAlgorithm::kCrc32;
  std::string v = absl::AsciiStrToUpper(it->second);
  if (v.empty()) return ChecksumAlgorithm::kNone;
  if (v == "CRC32") return ChecksumAlgorithm::kCrc32;
  if (v == "CRC32C") return ChecksumAlgorithm::kCrc32c;
  if (v == "SHA1") return ChecksumAlgorithm::kSha1;
  if (v == "SHA256") return ChecksumAlgorithm::kSha256;
  return absl::InvalidArgumentError(
      "config key checksumAlgorithm must be one of CRC32, CRC32C, "
      "SHA1, SHA256 or \"\", got \"" +
      it->second + "\"");
}

Status ParseEncryption(const Config& config, S3Settings* s) {
  s->server_side_encryption = Get(config, "serverSideEncryption");
  s->kms_key_id = Get(config, "kmsKeyId");
  std::string sse_c_file = Get(config, "customerKeyEncryptionFile");
  int modes = !s->server_side_encryption.empty() + !s->kms_key_id.empty() + !sse_c_file.empty();
  if (!s->kms_key_id.empty() && s->server_side_encryption == "aws:kms") --modes;
  if (modes > 1) {
    return absl::InvalidArgumentError(
        "config keys serverSideEncryption, kmsKeyId and "
        "customerKeyEncryptionFile are mutually exclusive");
  }
  if (!Get(config, "customerKeyEncryptionSecret").empty()) {
    return absl::InvalidArgumentError(
        "config key customerKeyEncryptionSecret is not supported; use customerKeyEncryptionFile");
  }
  if (!s->kms_key_id.empty()) s->server_side_encryption = "aws:kms";
  if (!sse_c_file.empty()) {
    auto key = ReadFile(sse_c_file, 1024);
    if (!key.ok()) {
      return absl::FailedPreconditionError("reading customerKeyEncryptionFile " + sse_c_file +
                                           ": " + std::string(key.status().message()));
    }
    if (key->size() != 32) {
      return absl::InvalidArgumentError("customerKeyEncryptionFile " + sse_c_file +
                                        " must hold exactly 32 bytes, it holds " +
                                        std::to_string(key->size()));
    }
    s->sse_customer_key = *key;
  }
  return absl::OkStatus();
}

Status ParseCommon(const Config& config, S3Settings* s) {
  LIFEBOAT_ASSIGN_OR_RETURN(s->http.insecure_skip_verify,
                            ParseBool(config, "insecureSkipTLSVerify"));
  std::string ca = Get(config, "caCert");
  if (!ca.empty()) {
    if (ca.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return absl::InvalidArgumentError("config key caCert must hold PEM certificates");
    }
    s->http.ca.data = ca;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(
      s->part_size, ParseInt(config, "partSizeInBytes", s->part_size, 5 << 20, int64_t{5} << 30));
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t conc,
                            ParseInt(config, "uploadConcurrency", s->concurrency, 1, 64));
  s->concurrency = static_cast<int>(conc);
  return absl::OkStatus();
}

}  // namespace

StatusOr<Endpoint> ParseEndpoint(std::string_view key, std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") ||
      parsed->host().empty() || parsed->has_query() || parsed->has_userinfo()) {
    return absl::InvalidArgumentError("config key " + std::string(key) +
                                      " must be an http:// or https:// URL without user info "
                                      "or query, got \"" +
                                      std::string(url) + "\"");
  }
  Endpoint e;
  e.scheme = parsed->scheme();
  e.host = parsed->encoded_host_and_port();
  e.base_path = parsed->path();
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  return e;
}

StatusOr<S3Settings> ParseAwsSettings(const DriverParams& params) {
  const Config& config = params.config;
  LIFEBOAT_RETURN_IF_ERROR(CheckKeys(config, kAwsKeys, "aws"));
  S3Settings s;
  s.region = Get(config, "region");
  if (!s.region.empty() &&
      s.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return absl::InvalidArgumentError("config key region is not a region name: \"" + s.region +
                                      "\"");
  }
  if (std::string url = Get(config, "s3Url"); !url.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(s.endpoint, ParseEndpoint("s3Url", url));
    if (s.region.empty()) s.region = "us-east-1";
  }
  if (std::string url = Get(config, "publicUrl"); !url.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(s.public_endpoint, ParseEndpoint("publicUrl", url));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(s.path_style, ParseBool(config, "s3ForcePathStyle"));
  LIFEBOAT_ASSIGN_OR_RETURN(bool shared_config, ParseBool(config, "enableSharedConfig"));
  (void)shared_config;  // the file is always read as both credentials and config
  if (std::string v = Get(config, "signatureVersion"); !v.empty() && v != "1" && v != "4") {
    return absl::InvalidArgumentError("config key signatureVersion must be 1 or 4, got \"" + v +
                                      "\"");
  }
  LIFEBOAT_RETURN_IF_ERROR(ParseEncryption(config, &s));
  LIFEBOAT_ASSIGN_OR_RETURN(s.tagging, ParseTagging(Get(config, "tagging")));
  LIFEBOAT_ASSIGN_OR_RETURN(s.checksum, ParseChecksum(config));
  LIFEBOAT_RETURN_IF_ERROR(ParseCommon(config, &s));
  LIFEBOAT_ASSIGN_OR_RETURN(s.credentials, LoadAwsCredentials(params));
  return s;
}

StatusOr<S3Settings> ParseGcsSettings(const DriverParams& params) {
  const Config& config = params.config;
  LIFEBOAT_RETURN_IF_ERROR(CheckKeys(config, kGcsKeys, "gcp"));
  S3Settings s;
  s.provider = "gcp";
  s.region = "auto";
  s.path_style = true;
  s.checksum = ChecksumAlgorithm::kNone;
  std::string url = Get(config, "storeEndpoint");
  if (url.empty()) {
    std::string domain = Get(config, "universeDomain");
    url = "https://storage." + (domain.empty() ? std::string("googleapis.com") : domain);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(s.endpoint, ParseEndpoint("storeEndpoint", url));
  s.gcs_kms_key_name = Get(config, "kmsKeyName");
  LIFEBOAT_RETURN_IF_ERROR(ParseCommon(config, &s));
  LIFEBOAT_ASSIGN_OR_RETURN(s.credentials, LoadGcsHmacCredentials(params));
  return s;
}

}  // namespace lifeboat::storage::s3
