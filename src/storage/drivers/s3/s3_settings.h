#pragma once

// The S3 driver's settings, parsed and validated from a BackupStorageLocation's config
// (Velero's velero-plugin-for-aws keys for `aws`, the GCS XML-API subset for `gcp`).

#include <chrono>
#include <cstdint>
#include <string>

#include "lifeboat/common/status.h"
#include "lifeboat/http/client.h"
#include "lifeboat/storage/registry.h"
#include "src/storage/drivers/s3/sigv4.h"

namespace lifeboat::storage::s3 {

enum class ChecksumAlgorithm { kNone, kCrc32, kCrc32c, kSha1, kSha256 };

// "scheme://host[:port]/base" split up; host keeps the port as sent in the Host header.
struct Endpoint {
  std::string scheme = "https";
  std::string host;
  std::string base_path;  // "" or "/prefix" (no trailing slash)
};

struct S3Settings {
  std::string provider = "aws";  // for messages
  std::string service = "s3";    // SigV4 service name
  std::string region;            // empty: discovered per bucket (AWS endpoints only)
  // Empty host: the AWS endpoint for the region ("s3.<region>.amazonaws.com").
  Endpoint endpoint;
  Endpoint public_endpoint;  // for signed URLs only; empty host: same as endpoint
  bool path_style = false;
  http::ClientOptions http;
  Credentials credentials;

  // Per-object headers.
  std::string server_side_encryption;  // x-amz-server-side-encryption
  std::string kms_key_id;
  std::string sse_customer_key;  // raw 32 bytes (SSE-C)
  std::string gcs_kms_key_name;  // x-goog-encryption-kms-key-name
  std::string tagging;           // canonical "k=v&k2=v2"
  ChecksumAlgorithm checksum = ChecksumAlgorithm::kCrc32;

  // Multipart uploads: bodies larger than one part (or of unknown size) are sent in parts of
  // part_size bytes, up to `concurrency` at once; at most `concurrency` parts are in memory.
  int64_t part_size = 16 << 20;
  int concurrency = 4;

  // Limits: whole-request for calls without a large body, whole-request for a single PUT or
  // one part, and the longest pause in a download's data.
  std::chrono::milliseconds request_timeout{60'000};
  std::chrono::milliseconds transfer_timeout{600'000};
  std::chrono::milliseconds stall_timeout{60'000};
};

// `provider: aws`. InvalidArgument naming the key for an unknown key or a bad value;
// FailedPrecondition for missing credentials (see credentials.h).
StatusOr<S3Settings> ParseAwsSettings(const DriverParams& params);

// `provider: gcp` over the XML API (endpoint https://storage.googleapis.com, or config
// `storeEndpoint`), region "auto", path-style, HMAC keys, no x-amz checksums.
StatusOr<S3Settings> ParseGcsSettings(const DriverParams& params);

// Parses "https://host:port/base". InvalidArgument when it is not an http(s) URL.
StatusOr<Endpoint> ParseEndpoint(std::string_view key, std::string_view url);

}  // namespace lifeboat::storage::s3
