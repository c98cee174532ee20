#pragma once

// Azure Storage request authentication: Shared Key signatures, SAS tokens (service SAS signed
// with the account key, user delegation SAS signed with a key obtained through AAD) and AAD
// bearer tokens (client-credentials grant with a client secret or a federated token).
// Private to the Azure driver.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"
#include "lifeboat/http/client.h"

namespace lifeboat::storage::azure {

// Blob service REST version sent as x-ms-version and signed into SAS tokens (sv).
inline constexpr std::string_view kApiVersion = "2021-08-06";

// Raw HMAC-SHA256 of `data` with `key`.
std::string HmacSha256(std::string_view key, std::string_view data);

// Percent-encodes everything but unreserved characters (RFC 3986); '/' too unless keep_slash.
std::string UrlEncode(std::string_view s, bool keep_slash = false);

// "Mon, 02 Jan 2006 15:04:05 GMT" (x-ms-date) and "2006-01-02T15:04:05Z" (SAS times).
std::string FormatRfc1123(std::chrono::system_clock::time_point t);
std::string FormatIso8601(std::chrono::system_clock::time_point t);

// What a Shared Key signature covers.
struct SignableRequest {
  std::string method;
  std::string encoded_path;  // URL path as sent, e.g. "/devstoreaccount1/c/a%20b"
  // Decoded query parameters.
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t content_length = 0;
};

// The Shared Key string-to-sign (2009-09-19 and later; Content-Length empty when zero).
std::string SharedKeyStringToSign(std::string_view account, const SignableRequest& request);

// The value of the Authorization header: "SharedKey <account>:<base64 signature>".
// InvalidArgument when the key is not base64 (the message does not contain it).
StatusOr<std::string> SharedKeyAuthorization(std::string_view account, std::string_view base64_key,
                                             const SignableRequest& request);

// A service SAS for a blob (signed URLs: sr=b, sp=r) or a container (tests, users' tokens).
struct BlobSasRequest {
  std::string account;
  std::string container;
  std::string blob;               // decoded name; ignored for resource "c"
  std::string resource = "b";     // sr: "b" (blob) or "c" (container)
  std::string permissions = "r";  // sp, in Azure's order ("racwdl")
  std::chrono::system_clock::time_point start;
  std::chrono::system_clock::time_point expiry;
  std::string protocol = "https";  // spr: "https" or "https,http"
};

// Service SAS signed with the account key: returns the query string (no leading '?').
StatusOr<std::string> ServiceSas(const BlobSasRequest& request, std::string_view base64_key);
// The string-to-sign of ServiceSas (version 2020-12-06 and later), for tests.
std::string ServiceSasStringToSign(const BlobSasRequest& request);

// A key from Get User Delegation Key.
struct UserDelegationKey {
  std::string object_id, tenant_id, start, expiry, service, version;
  std::string value;  // base64
};
StatusOr<std::string> UserDelegationSas(const BlobSasRequest& request,
                                        const UserDelegationKey& key);
std::string UserDelegationSasStringToSign(const BlobSasRequest& request,
                                          const UserDelegationKey& key);

// A source of bearer tokens. Thread-safe.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A valid access token, fetched when the cached one is missing, expires within a few minutes,
  // or `refresh` is set (a request was answered 401). Unauthenticated when the token endpoint
  // rejects the client (its error code and description, never the secret or assertion);
  // FailedPrecondition when the federated token file cannot be read; Unavailable for 5xx and
  // transport errors.
  virtual StatusOr<std::string> Token(bool refresh) = 0;
};

struct AadTokenOptions {
  std::string token_url;  // <authority>/<tenant>/oauth2/v2.0/token
  std::string client_id;
  std::string client_secret;         // client-credentials with a secret, or
  std::string federated_token_file;  // a jwt-bearer client assertion re-read on every fetch
  std::string scope = "https://storage.azure.com/.default";
};

// `client` and `clock` are borrowed and must outlive the source.
std::unique_ptr<TokenSource> NewAadTokenSource(AadTokenOptions options, http::Client* client,
                                               Clock* clock);

// The first key with FULL permission of `account` from ARM listKeys (`POST <arm>/subscriptions/
// <sub>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<account>/listKeys`),
// authorized by a token for <arm>/.default. Unauthenticated (401), PermissionDenied (403),
// FailedPrecondition (404: no such account / group / subscription), Unavailable (429, 5xx).
StatusOr<std::string> FetchAccountKeyFromArm(http::Client& client, TokenSource& tokens,
                                             std::string_view resource_manager,
                                             std::string_view subscription_id,
                                             std::string_view resource_group,
                                             std::string_view account);

// Removes anything that looks like a SAS signature ("sig=...") from `text`.
std::string RedactSignatures(std::string_view text);

}  // namespace lifeboat::storage::azure
