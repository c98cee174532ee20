#include "src/storage/drivers/s3/s3_request.h"

#include <algorithm>
#include <cctype>
#include <pugixml.hpp>

namespace lifeboat::storage::s3 {
namespace {

bool IsIpLiteral(std::string_view host) {
  if (!host.empty() && host.front() == '[') return true;
  std::string_view h = host.substr(0, host.rfind(':'));
  if (host.find(':') == std::string_view::npos) h = host;
  return !h.empty() && h.find_first_not_of("0123456789.") == std::string_view::npos;
}

// Buckets that can be a DNS label of the endpoint (and, over TLS, without dots: the wildcard
// certificate covers one label only).
bool VirtualHostable(std::string_view bucket, bool tls) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' || (c == '.' && !tls))) {
      return false;
    }
  }
  return bucket.front() != '-' && bucket.back() != '-';
}

std::string AwsHost(std::string_view region) {
  std::string suffix = region.rfind("cn-", 0) == 0 ? ".amazonaws.com.cn" : ".amazonaws.com";
  return "s3." + std::string(region) + suffix;
}

std::string Truncate(std::string s, size_t max) {
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

absl::StatusCode CodeForS3Error(std::string_view code, int status) {
  using C = absl::StatusCode;
  if (code == "NoSuchKey" || code == "NoSuchVersion") return C::kNotFound;
  if (code == "NoSuchBucket" || code == "NoSuchUpload" || code == "RequestTimeTooSkewed" ||
      code == "PreconditionFailed" || code == "PermanentRedirect" ||
      code == "AuthorizationHeaderMalformed") {
    return C::kFailedPrecondition;
  }
  if (code == "AccessDenied" || code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" ||
      code == "AllAccessDisabled" || code == "AccountProblem" || code == "InvalidSecurity") {
    return C::kPermissionDenied;
  }
  if (code == "ExpiredToken" || code == "TokenRefreshRequired" || code == "InvalidToken") {
    return C::kUnauthenticated;
  }
  if (code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" ||
      code == "RequestTimeout" || code == "OperationAborted" || code == "Throttling") {
    return C::kUnavailable;
  }
  if (code == "BadDigest" || code == "InvalidDigest" || code == "XAmzContentSHA256Mismatch" ||
      code == "IncompleteBody") {
    return C::kDataLoss;
  }
  if (code == "InvalidRange") return C::kOutOfRange;
  if (status == 401) return C::kUnauthenticated;
  if (status == 403) return C::kPermissionDenied;
  if (status == 404) return C::kNotFound;
  if (status == 301 || status == 307 || status == 412) return C::kFailedPrecondition;
  if (status == 416) return C::kOutOfRange;
  if (status == 429 || status >= 500) return C::kUnavailable;
  if (status == 409) return C::kAborted;
  return C::kInvalidArgument;
}

}  // namespace

std::string Describe(std::string_view bucket, std::string_view key) {
  return key.empty() ? std::string(bucket) : std::string(bucket) + "/" + std::string(key);
}

Status S3Error(int status, std::string_view body, std::string_view method, std::string_view bucket,
               std::string_view key, const http::ResponseHeaders* headers) {
  std::string code, message;
  pugi::xml_document doc;
  if (!body.empty() && doc.load_buffer(body.data(), body.size())) {
    pugi::xml_node err = doc.child("Error");
    code = err.child_value("Code");
    message = err.child_value("Message");
  }
  std::string text =
      std::string(method) + " " + Describe(bucket, key) + ": HTTP " + std::to_string(status);
  if (!code.empty()) text += ", S3 error " + Truncate(code, 64);
  if (!message.empty()) text += ": " + Truncate(message, 300);
  absl::StatusCode c = CodeForS3Error(code, status);
  if (code == "NoSuchBucket")
    text = "bucket " + std::string(bucket) + " does not exist (" + text + ")";
  if ((status == 301 || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") &&
      headers != nullptr) {
    auto it = headers->find("x-amz-bucket-region");
    if (it != headers->end()) text += " (the bucket is in region " + Truncate(it->second, 32) + ")";
  }
  return Status(c, text);
}

S3Requester::S3Requester(S3Settings settings, std::unique_ptr<http::Client> client, Clock* clock)
    : settings_(std::move(settings)), client_(std::move(client)), clock_(clock) {}

StatusOr<std::string> S3Requester::RegionFor(std::string_view bucket) {
  if (!settings_.region.empty()) return settings_.region;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = bucket_regions_.find(bucket);
    if (it != bucket_regions_.end()) return it->second;
  }
  // Velero's plugin asks GetBucketRegion when neither region nor s3Url is set: S3 names the
  // bucket's region in x-amz-bucket-region on any answer to HEAD bucket.
  http::ClientRequest req;
  req.method = "HEAD";
  req.url = "https://s3.amazonaws.com/" + UriEncode(bucket, true);
  req.timeout = settings_.request_timeout;
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, client_->Send(req));
  std::string region = resp.Header("x-amz-bucket-region");
  if (region.empty()) {
    return absl::FailedPreconditionError("cannot find the region of bucket " + std::string(bucket) +
                                         " (HTTP " + std::to_string(resp.status) +
                                         "); set config key region");
  }
  std::lock_guard<std::mutex> lock(mu_);
  bucket_regions_[std::string(bucket)] = region;
  return region;
}

StatusOr<S3Requester::Target> S3Requester::Resolve(const Endpoint& endpoint,
                                                   std::string_view bucket, std::string_view key) {
  Target t;
  LIFEBOAT_ASSIGN_OR_RETURN(t.region, RegionFor(bucket));
  t.scheme = endpoint.scheme;
  t.host = endpoint.host.empty() ? AwsHost(t.region) : endpoint.host;
  bool path_style = settings_.path_style || IsIpLiteral(t.host) ||
                    !VirtualHostable(bucket, t.scheme == "https") ||
                    t.host.rfind("localhost", 0) == 0;
  t.path = endpoint.base_path;
  if (path_style) {
    t.path += "/" + std::string(bucket);
    if (!key.empty()) t.path += "/" + std::string(key);
  } else {
    t.host = std::string(bucket) + "." + t.host;
    t.path += "/" + std::string(key);
  }
  return t;
}

StatusOr<http::ClientResponse> S3Requester::Send(const S3Call& call) {
  LIFEBOAT_ASSIGN_OR_RETURN(Target t, Resolve(settings_.endpoint, call.bucket, call.key));
  SigningRequest sreq{call.method, t.path, call.query, call.headers, ""};
  if (call.body_source != nullptr || t.scheme == "https") {
    sreq.payload_hash = kUnsignedPayload;
  } else {
    sreq.payload_hash = HexSha256(call.body);
  }
  sreq.headers.emplace_back("host", t.host);
  sreq.headers.emplace_back("x-amz-content-sha256", sreq.payload_hash);
  SigningScope scope{t.region, settings_.service, clock_->Now()};
  std::string authorization = SignHeaders(settings_.credentials, scope, &sreq);

  http::ClientRequest req;
  req.method = call.method;
  req.url = t.scheme + "://" + t.host + UriEncode(t.path, false);
  if (!call.query.empty()) req.url += "?" + CanonicalQuery(call.query);
  req.headers = std::move(sreq.headers);
  req.headers.emplace_back("Authorization", std::move(authorization));
  ViewSource view(call.body);  // a part is sent without copying it
  req.body_source = call.body_source;
  if (req.body_source == nullptr &&
      (!call.body.empty() || call.method == "PUT" || call.method == "POST")) {
    req.body_source = &view;
  }
  req.timeout = call.timeout.value_or(settings_.request_timeout);
  req.cancel = call.cancel;
  req.on_body = call.on_body;
  auto resp = client_->Send(req);
  if (!resp.ok()) {
    return Annotate(resp.status(), call.method + " " + Describe(call.bucket, call.key));
  }
  return resp;
}

StatusOr<std::string> S3Requester::PresignGet(std::string_view bucket, std::string_view key,
                                              std::chrono::seconds ttl) {
  if (ttl.count() < 1 || ttl.count() > 7 * 24 * 3600) {
    return absl::InvalidArgumentError("signed URL lifetime must be from 1 second to 7 days, got " +
                                      std::to_string(ttl.count()) + " s");
  }
  const Endpoint& endpoint =
      settings_.public_endpoint.host.empty() ? settings_.endpoint : settings_.public_endpoint;
  LIFEBOAT_ASSIGN_OR_RETURN(Target t, Resolve(endpoint, bucket, key));
  SigningRequest sreq{"GET", t.path, {}, {{"host", t.host}}, std::string(kUnsignedPayload)};
  if (!settings_.sse_customer_key.empty()) {
    return absl::FailedPreconditionError(
        "signed URLs cannot be used with customer-provided encryption keys (SSE-C)");
  }
  SigningScope scope{t.region, settings_.service, clock_->Now()};
  return t.scheme + "://" + t.host + UriEncode(t.path, false) + "?" +
         PresignQuery(settings_.credentials, scope, sreq, ttl);
}

}  // namespace lifeboat::storage::s3
