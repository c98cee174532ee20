#pragma once

// One signed S3 REST call over lifeboat::http::Client: addressing (virtual-host or path-style),
// per-bucket region discovery for AWS endpoints, SigV4 signing, and the mapping of S3 error
// responses to Status codes (object_store.h).
//
// Thread safety: every method may be called from any number of threads at once.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"
#include "lifeboat/http/client.h"
#include "src/storage/drivers/s3/s3_settings.h"

namespace lifeboat::storage::s3 {

struct S3Call {
  std::string method = "GET";
  std::string bucket;
  std::string key;  // empty: a bucket-level call
  Pairs query;      // decoded
  Pairs headers;    // signed and sent (besides host, x-amz-date, x-amz-content-sha256)
  // Body: in memory (borrowed, must outlive Send; payload hashed over plain http, never
  // copied) or streamed (UNSIGNED-PAYLOAD).
  std::string_view body;
  ByteSource* body_source = nullptr;
  std::optional<std::chrono::milliseconds> timeout;  // default: S3Settings::request_timeout
  CancellationToken cancel;
  // Streaming response: see http::ClientRequest::on_body.
  std::function<bool(const http::ClientResponse& head, std::string_view chunk)> on_body;
};

// "bucket/key" or "bucket" for messages.
std::string Describe(std::string_view bucket, std::string_view key);

// Maps an S3 error response to a Status: its XML <Code> first (NoSuchKey → NotFound, NoSuchBucket
// → FailedPrecondition, AccessDenied/SignatureDoesNotMatch/InvalidAccessKeyId → PermissionDenied,
// ExpiredToken → Unauthenticated, SlowDown/InternalError/ServiceUnavailable → Unavailable, ...),
// else the HTTP status. The message has the method, bucket/key, HTTP status and S3's Code and
// Message, never a header or query value.
Status S3Error(int status, std::string_view body, std::string_view method, std::string_view bucket,
               std::string_view key, const http::ResponseHeaders* headers = nullptr);

class S3Requester {
 public:
  S3Requester(S3Settings settings, std::unique_ptr<http::Client> client, Clock* clock);

  // Sends one call. OK with any HTTP status (map it with S3Error); transport failures as in
  // http::Client::Send, annotated with the method and bucket/key.
  StatusOr<http::ClientResponse> Send(const S3Call& call);

  // A presigned GET URL (public endpoint when configured). InvalidArgument for a TTL outside
  // 1 s .. 7 days.
  StatusOr<std::string> PresignGet(std::string_view bucket, std::string_view key,
                                   std::chrono::seconds ttl);

  const S3Settings& settings() const { return settings_; }

 private:
  struct Target {
    std::string scheme, host, path;  // path decoded
    std::string region;
  };
  StatusOr<Target> Resolve(const Endpoint& endpoint, std::string_view bucket, std::string_view key);
  StatusOr<std::string> RegionFor(std::string_view bucket);

  const S3Settings settings_;
  std::unique_ptr<http::Client> client_;
  Clock* clock_;
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> bucket_regions_;  // guarded by mu_
};

}  // namespace lifeboat::storage::s3
