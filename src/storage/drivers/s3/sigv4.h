#pragma once

// AWS Signature Version 4 (the "AWS4-HMAC-SHA256" algorithm) for S3 and S3-compatible stores:
// signing a request in its Authorization header, or as a presigned URL (query parameters).
// Pure functions over strings and a time: no I/O, no clock reads.
//
// Canonical URI follows S3's rules: the decoded path is URI-encoded exactly once (RFC 3986
// unreserved characters kept, '/' kept), with no dot-segment normalisation and no double
// encoding (other AWS services encode twice; S3 does not).
//
// Thread safety: every function is safe to call concurrently.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lifeboat::storage::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty: none (long-term keys)
};

using Pairs = std::vector<std::pair<std::string, std::string>>;

// The parts of a request that the signature covers.
struct SigningRequest {
  std::string method;  // "GET", "PUT", ...
  std::string path;    // decoded: "/bucket/some key", never percent-encoded
  Pairs query;         // decoded names and values, any order
  // Headers to sign, in any order and case; must include "host" ("example.com" or
  // "127.0.0.1:9000" exactly as sent). Names are signed lower-cased, values trimmed with inner
  // runs of spaces collapsed.
  Pairs headers;
  // Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD".
  std::string payload_hash;
};

struct SigningScope {
  std::string region;   // "us-east-1"; "auto" for GCS
  std::string service;  // "s3"
  std::chrono::system_clock::time_point time;
};

// The intermediate values, exposed for tests against published vectors.
struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;       // hex
  std::string signed_headers;  // "host;x-amz-date"
};

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Percent-encodes every byte except A-Z a-z 0-9 - . _ ~ (and '/' unless encode_slash), with
// upper-case hex, as SigV4 requires.
std::string UriEncode(std::string_view s, bool encode_slash);
// "a=1&b=2": names and values encoded, sorted by encoded name then value.
std::string CanonicalQuery(const Pairs& query);
// "20150830T123600Z" and "20150830".
std::string AmzDate(std::chrono::system_clock::time_point t);
std::string AmzDay(std::chrono::system_clock::time_point t);
std::string HexSha256(std::string_view data);

// Computes the signature of `request` as it stands (no headers added).
Signature ComputeSignature(const Credentials& creds, const SigningScope& scope,
                           const SigningRequest& request);

// Header signing: adds x-amz-date and (with a session token) x-amz-security-token to
// request->headers, signs, and returns the Authorization header value. The caller sends every
// header in request->headers plus Authorization. Callers that talk to S3 add
// x-amz-content-sha256 (= payload_hash) themselves before signing.
std::string SignHeaders(const Credentials& creds, const SigningScope& scope,
                        SigningRequest* request, Signature* debug = nullptr);

// Query signing (presigned URL): returns the complete encoded query string (the request's own
// parameters plus X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders,
// -Security-Token and -Signature). The payload hash is taken from request.payload_hash
// (normally UNSIGNED-PAYLOAD).
std::string PresignQuery(const Credentials& creds, const SigningScope& scope,
                         const SigningRequest& request, std::chrono::seconds expires,
                         Signature* debug = nullptr);

}  // namespace lifeboat::storage::s3
