#pragma once

// The transport every Kubernetes call goes through: one RestClient per cluster, shared by all
// threads. It adds what client-go's rest.Config + transport add: the server URL and TLS of a
// RestConfig, credentials (re-fetched from the CredentialProvider; on 401 the provider is told,
// and the request is retried once with the new credential), a client-side rate limiter (token
// bucket, QPS and burst), retries with exponential backoff and jitter for requests that are
// safe to repeat, per-request timeouts and cancellation.
//
// Errors follow STYLE.md: HTTP answers that are not 2xx become a Status with the code below and
// the Kubernetes Status message as its message (the parsed Status is attached as a payload,
// see ApiErrorOf):
//   400 InvalidArgument   401 Unauthenticated   403 PermissionDenied   404 NotFound
//   405 Unimplemented     409 AlreadyExists (reason AlreadyExists) or Aborted (Conflict)
//   410 OutOfRange (Expired/Gone: a continue token or resourceVersion too old)
//   413 InvalidArgument   415 InvalidArgument   422 InvalidArgument (causes kept)
//   429 Unavailable       500/502/503/504 Unavailable   other 5xx Internal
// Transport failures keep the http::Client's codes (Unavailable, DeadlineExceeded, Cancelled,
// FailedPrecondition for TLS verification).
//
// Thread safety: Do() may be called from any number of threads.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/credentials.h"

namespace lifeboat::kube {

struct RestClientOptions {
  // Client-side rate limit (client-go's --kube-api-qps / --kube-api-burst). Lifeboat's defaults
  // are higher than client-go's 5/10 because a backup reads whole clusters; 0 QPS = unlimited.
  double qps = 100;
  int burst = 200;
  // Retries of retriable failures (429, 500, 502, 503, 504, connection errors) for idempotent
  // requests (GET, HEAD, PUT, DELETE, and any request with `idempotent` set). 429 honours
  // Retry-After (capped at max_backoff). Backoff: base * 2^attempt, full jitter.
  int max_retries = 6;
  std::chrono::milliseconds base_backoff{200};
  std::chrono::milliseconds max_backoff{30'000};
  // Default per-request timeout (whole exchange, excluding streaming requests); 0 = none.
  std::chrono::milliseconds timeout{60'000};
  std::string user_agent = "lifeboat";
  Clock* clock = nullptr;  // nullptr: RealClock() (tests pass a FakeClock for backoff)
};

struct RestRequest {
  std::string method = "GET";
  // Absolute path on the server, already escaped: "/api/v1/namespaces/default/pods".
  std::string path;
  // Query parameters, escaped by the client.
  std::vector<std::pair<std::string, std::string>> query;
  std::string content_type;  // for a body: "application/json", "application/merge-patch+json", ...
  std::string body;
  std::string accept = "application/json";
  // Overrides the method's default idempotency (e.g. a create with a fixed name may be retried
  // and an AlreadyExists on retry handled by the caller).
  std::optional<bool> idempotent;
  std::chrono::milliseconds timeout{0};  // 0: the client's default (streaming: none)
  CancellationToken cancel;
  // Streaming (watch, logs): chunks as they arrive; return false to stop. When set, the
  // response body is not buffered and no overall timeout applies unless `timeout` is set.
  std::function<bool(std::string_view chunk)> on_body;
  // With on_body: when set, a streamed answer that broke off after part of its body was
  // delivered may still be retried (idempotent requests only); this is called first so the
  // caller can discard what it received. When not set, such a failure is final.
  std::function<void()> on_body_restart;
  // With on_body: the answer is finite (a list page streamed into a parser, not a watch), so
  // the client's default timeout applies as for a buffered request.
  bool finite_stream = false;
};

struct RestResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // "Warning" headers, parsed ("299 - \"text\"" -> "text").
  std::vector<std::string> warnings;
  std::string Header(std::string_view name) const;
};

// A Kubernetes metav1.Status returned with an error.
struct ApiError {
  int code = 0;
  std::string reason;   // "NotFound", "AlreadyExists", "Conflict", "Invalid", "Expired", ...
  std::string message;
  struct Cause {
    std::string reason, message, field;
  };
  std::vector<Cause> causes;
  std::optional<int> retry_after_seconds;
  boost::json::value details;  // the Status "details" object as sent (or null)
};

// The ApiError attached to a Status returned by RestClient (nullopt for transport errors).
std::optional<ApiError> ApiErrorOf(const Status& status);
// Builds the Status for an HTTP error answer (`body` a Status object or anything else).
Status StatusFromResponse(int http_code, std::string_view body, std::string_view retry_after_header);

class RestClient {
 public:
  // InvalidArgument for unusable TLS material; errors of the credential provider are returned
  // by Do(), when a credential is first needed.
  static StatusOr<std::unique_ptr<RestClient>> Create(const RestConfig& config, RestClientOptions options = {});
  // With an explicit provider (tests, or a caller that shares one).
  static StatusOr<std::unique_ptr<RestClient>> Create(const RestConfig& config,
                                                      std::shared_ptr<CredentialProvider> credentials,
                                                      RestClientOptions options = {});
  virtual ~RestClient() = default;

  // Sends the request (rate limited, authenticated, retried as described above). Returns the
  // response for 2xx (and for 101/3xx, which callers do not expect), an error Status otherwise.
  virtual StatusOr<RestResponse> Do(const RestRequest& request) = 0;

  virtual const RestConfig& config() const = 0;
};

}  // namespace lifeboat::kube
