#pragma once

// A small Azure Resource Manager REST client: bearer-token requests with throttling and
// transient-error retries, and long-running operations (LRO) polled through
// Azure-AsyncOperation or Location until they reach Succeeded, Failed or Canceled.
// Private to the volume module.
//
// Every call takes a deadline (the snapshotter's apiTimeout); retries and polls stop there.
// The bearer token is sent only to URLs on the ARM endpoint's own scheme://host:port; poll
// URLs and nextLinks pointing elsewhere are refused. Tokens never appear in messages.
//
// Thread safety: every method may be called from any number of threads at once.

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"
#include "lifeboat/http/client.h"
#include "src/storage/drivers/azure/azure_auth.h"

namespace lifeboat::volume::azure {

// DiskRP REST version used for Microsoft.Compute disks and snapshots.
inline constexpr std::string_view kComputeApiVersion = "2023-04-02";

struct ArmClientOptions {
  std::string endpoint;  // "https://management.azure.com", no trailing slash
  std::chrono::milliseconds poll_interval{5000};    // LRO polls without Retry-After
  std::chrono::milliseconds initial_backoff{1000};  // 5xx / transport retries, doubling
  std::chrono::milliseconds max_backoff{30000};
};

class ArmClient {
 public:
  using TimePoint = Clock::TimePoint;

  // `http`, `tokens` and `clock` are borrowed and must outlive the client.
  ArmClient(ArmClientOptions options, http::Client* http, storage::azure::TokenSource* tokens,
            Clock* clock);

  // `path_or_url`: a path below the endpoint ("/subscriptions/..."; api-version is appended
  // unless the path has a query) or an absolute URL on the endpoint's origin.
  // Returns any final HTTP status (not 429/5xx unless retries ran out at the deadline, which is
  // Unavailable / DeadlineExceeded). A 401 refreshes the token once.
  StatusOr<http::ClientResponse> Send(std::string_view method, std::string_view path_or_url,
                                      const std::optional<boost::json::value>& body,
                                      TimePoint deadline);

  // GET of a resource: its JSON; NotFound (with ARM's code and message) for 404; other statuses
  // mapped as STYLE.md says.
  StatusOr<boost::json::value> Get(std::string_view path, TimePoint deadline);

  // PUT (create or update) through the LRO to the end; returns the final resource.
  StatusOr<boost::json::value> Put(std::string_view path, const boost::json::value& body,
                                   TimePoint deadline);

  // DELETE through the LRO to the end. OK for 200/202→done/204 and for 404 (already gone).
  Status Delete(std::string_view path, TimePoint deadline);

  const std::string& endpoint() const { return options_.endpoint; }

 private:
  StatusOr<std::string> ResolveUrl(std::string_view path_or_url) const;
  // Waits `d` (capped at the deadline); false when the wait would pass the deadline.
  bool Wait(std::chrono::milliseconds d, TimePoint deadline);
  // Polls an operation started by `initial` until it ends. For a PUT, returns the final
  // resource (a GET of `resource_path` when the status monitor does not carry it).
  StatusOr<boost::json::value> PollLro(std::string_view method, std::string_view resource_path,
                                       const http::ClientResponse& initial, TimePoint deadline);

  ArmClientOptions options_;
  http::Client* http_;
  storage::azure::TokenSource* tokens_;
  Clock* clock_;
  std::string origin_;  // scheme://host[:port] of the endpoint, lower-case
};

// Maps an ARM error response to a Status (404 NotFound, 400 InvalidArgument, 401
// Unauthenticated, 403 PermissionDenied, 409 AlreadyExists/FailedPrecondition, 429/5xx
// Unavailable), with "<what>: HTTP <status> <code>: <message>" from the error body.
Status ArmError(const http::ClientResponse& resp, std::string_view what);

// Seconds from a Retry-After header (delta-seconds form; an HTTP date or garbage gives
// nullopt).
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value);

}  // namespace lifeboat::volume::azure
