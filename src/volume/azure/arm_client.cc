#include "src/volume/azure/arm_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "src/storage/drivers/azure/azure_strings.h"

namespace lifeboat::volume::azure {
namespace {

using std::chrono::milliseconds;
using storage::azure::StrAppend;
using storage::azure::StrCat;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// scheme://host[:port] of an absolute URL, lower-case; "" when not absolute.
std::string OriginOf(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  size_t host_end = url.find_first_of("/?#", scheme_end + 3);
  return Lower(url.substr(0, host_end == std::string_view::npos ? url.size() : host_end));
}

// The URL without its query string, for messages.
std::string WithoutQuery(std::string_view url) { return std::string(url.substr(0, url.find('?'))); }

std::string FirstLine(std::string_view s, size_t max = 400) {
  s = s.substr(0, s.find_first_of("\r\n"));
  return std::string(s.substr(0, max));
}

// "<code>: <message>" from an ARM error object ({"error": {"code", "message"}} or the object
// itself), or "".
std::string ErrorDetail(const boost::json::value& v) {
  const boost::json::value* err = JsonFind(v, {"error"});
  if (err == nullptr || !err->is_object()) err = &v;
  std::string code = JsonString(*err, {"code"}).value_or("");
  std::string message = JsonString(*err, {"message"}).value_or("");
  if (code.empty() && message.empty()) return "";
  if (message.empty()) return code;
  if (code.empty()) return FirstLine(message);
  return StrCat(code, ": ", FirstLine(message));
}

bool IsTerminal(std::string_view state) {
  return state == "Succeeded" || state == "Failed" || state == "Canceled";
}

Status TerminalError(std::string_view state, const boost::json::value& body,
                     std::string_view what) {
  std::string detail = ErrorDetail(body);
  std::string msg = StrCat(what, ": operation ", state);
  if (!detail.empty()) StrAppend(&msg, ": ", detail);
  if (state == "Canceled") return absl::AbortedError(msg);
  return absl::InternalError(msg);
}

}  // namespace

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value) {
  value = storage::azure::StripWhitespace(value);
  if (value.empty()) return std::nullopt;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || p != value.data() + value.size() || n < 0) return std::nullopt;
  return std::chrono::seconds(std::min<int64_t>(n, 3600));
}

Status ArmError(const http::ClientResponse& resp, std::string_view what) {
  std::string detail;
  if (auto json = ParseJson(resp.body); json.ok()) detail = ErrorDetail(*json);
  if (detail.empty() && !resp.body.empty() && resp.body.front() != '{') {
    detail = FirstLine(resp.body, 200);
  }
  std::string msg = StrCat(what, ": HTTP ", resp.status);
  if (!detail.empty()) StrAppend(&msg, " ", detail);
  msg = storage::azure::RedactSignatures(msg);
  switch (resp.status) {
    case 400:
      return absl::InvalidArgumentError(msg);
    case 401:
      return absl::UnauthenticatedError(msg);
    case 403:
      return absl::PermissionDeniedError(msg);
    case 404:
      return absl::NotFoundError(msg);
    case 409:
      return absl::FailedPreconditionError(msg);
    case 429:
      return absl::UnavailableError(msg);
    default:
      break;
  }
  if (resp.status >= 500) return absl::UnavailableError(msg);
  return absl::UnknownError(msg);
}

ArmClient::ArmClient(ArmClientOptions options, http::Client* http,
                     storage::azure::TokenSource* tokens, Clock* clock)
    : options_(std::move(options)), http_(http), tokens_(tokens), clock_(clock) {
  while (options_.endpoint.ends_with("/")) options_.endpoint.pop_back();
  origin_ = OriginOf(options_.endpoint);
}

StatusOr<std::string> ArmClient::ResolveUrl(std::string_view path_or_url) const {
  if (path_or_url.starts_with("/")) {
    std::string url = StrCat(options_.endpoint, path_or_url);
    if (path_or_url.find('?') == std::string_view::npos) {
      StrAppend(&url, "?api-version=", kComputeApiVersion);
    }
    return url;
  }
  if (OriginOf(path_or_url) != origin_ || origin_.empty()) {
    return absl::FailedPreconditionError(
        StrCat("refusing to send Azure credentials to ", WithoutQuery(path_or_url),
               " (not on the resource manager endpoint ", options_.endpoint, ")"));
  }
  return std::string(path_or_url);
}

bool ArmClient::Wait(milliseconds d, TimePoint deadline) {
  auto until = clock_->Now() + d;
  if (until > deadline) return false;
  return clock_->SleepUntil(until, CancellationToken());
}

StatusOr<http::ClientResponse> ArmClient::Send(std::string_view method,
                                               std::string_view path_or_url,
                                               const std::optional<boost::json::value>& body,
                                               TimePoint deadline) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string url, ResolveUrl(path_or_url));
  const std::string what = StrCat(method, " ", WithoutQuery(url));
  bool refreshed = false;
  milliseconds backoff = options_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::string token, tokens_->Token(refreshed));
    http::ClientRequest req;
    req.method = std::string(method);
    req.url = url;
    req.headers = {{"Authorization", "Bearer " + token}, {"Accept", "application/json"}};
    if (body) {
      req.headers.emplace_back("Content-Type", "application/json");
      req.body = boost::json::serialize(*body);
    }
    auto remaining = std::chrono::duration_cast<milliseconds>(deadline - clock_->Now());
    if (remaining <= milliseconds(0)) {
      return absl::DeadlineExceededError(StrCat(what, ": apiTimeout exceeded"));
    }
    req.timeout = std::min(remaining, milliseconds(60'000));
    req.max_response_bytes = 64 << 20;
    auto resp = http_->Send(req);
    std::optional<milliseconds> wait;
    Status last;
    if (!resp.ok()) {
      if (!absl::IsUnavailable(resp.status())) return resp.status();
      last = resp.status();
      wait = backoff;
    } else if (resp->status == 401 && !refreshed) {
      refreshed = true;
      continue;
    } else if (resp->status == 429 || resp->status >= 500) {
      last = ArmError(*resp, what);
      auto retry_after = ParseRetryAfter(resp->Header("Retry-After"));
      if (retry_after) {
        wait = std::chrono::duration_cast<milliseconds>(*retry_after);
      } else {
        wait = backoff;
      }
      LB_LOG_DEBUG("azure: {} answered {} (attempt {}), retrying in {} ms", what, resp->status,
                   attempt, wait->count());
    } else {
      return resp;
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
    if (!Wait(*wait, deadline)) {
      return absl::UnavailableError(StrCat(std::string(last.message()), " (gave up after ", attempt,
                                           " attempts: the next retry would pass apiTimeout)"));
    }
  }
}

StatusOr<boost::json::value> ArmClient::Get(std::string_view path, TimePoint deadline) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, Send("GET", path, std::nullopt, deadline));
  if (resp.status != 200) return ArmError(resp, StrCat("GET ", WithoutQuery(path)));
  auto json = ParseJson(resp.body);
  if (!json.ok()) {
    return absl::UnavailableError(StrCat("GET ", WithoutQuery(path), ": response is not JSON"));
  }
  return *std::move(json);
}

StatusOr<boost::json::value> ArmClient::Put(std::string_view path, const boost::json::value& body,
                                            TimePoint deadline) {
  const std::string what = StrCat("PUT ", WithoutQuery(path));
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, Send("PUT", path, body, deadline));
  if (resp.status != 200 && resp.status != 201 && resp.status != 202) {
    return ArmError(resp, what);
  }
  return PollLro("PUT", path, resp, deadline);
}

Status ArmClient::Delete(std::string_view path, TimePoint deadline) {
  const std::string what = StrCat("DELETE ", WithoutQuery(path));
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, Send("DELETE", path, std::nullopt, deadline));
  if (resp.status == 404 || resp.status == 204) return absl::OkStatus();
  if (resp.status != 200 && resp.status != 202) return ArmError(resp, what);
  auto done = PollLro("DELETE", path, resp, deadline);
  if (!done.ok() && absl::IsNotFound(done.status())) return absl::OkStatus();
  return done.status();
}

StatusOr<boost::json::value> ArmClient::PollLro(std::string_view method,
                                                std::string_view resource_path,
                                                const http::ClientResponse& initial,
                                                TimePoint deadline) {
  const std::string what = StrCat(method, " ", WithoutQuery(resource_path));
  const bool is_put = method == "PUT";
  std::string async_url = initial.Header("Azure-AsyncOperation");
  std::string location_url = initial.Header("Location");
  boost::json::value resource;
  if (!initial.body.empty()) {
    if (auto json = ParseJson(initial.body); json.ok()) resource = *std::move(json);
  }
  auto next_wait = [&](const http::ClientResponse& r) {
    auto ra = ParseRetryAfter(r.Header("Retry-After"));
    return ra ? std::chrono::duration_cast<milliseconds>(*ra) : options_.poll_interval;
  };
  auto timed_out = [&] {
    return absl::DeadlineExceededError(
        StrCat(what, ": long-running operation did not finish within apiTimeout"));
  };
  // The final resource of a PUT: a GET of the resource itself.
  auto final_resource = [&]() -> StatusOr<boost::json::value> {
    if (!is_put) return boost::json::value();
    return Get(resource_path, deadline);
  };

  if (!async_url.empty()) {
    http::ClientResponse last = initial;
    for (;;) {
      if (!Wait(next_wait(last), deadline)) return timed_out();
      LIFEBOAT_ASSIGN_OR_RETURN(last, Send("GET", async_url, std::nullopt, deadline));
      if (last.status != 200) return ArmError(last, StrCat(what, ": polling operation status"));
      auto json = ParseJson(last.body);
      if (!json.ok()) return absl::UnavailableError(StrCat(what, ": operation status is not JSON"));
      std::string status = JsonString(*json, {"status"}).value_or("");
      if (status == "Succeeded") return final_resource();
      if (IsTerminal(status)) return TerminalError(status, *json, what);
    }
  }
  if (!location_url.empty()) {
    http::ClientResponse last = initial;
    for (;;) {
      if (!Wait(next_wait(last), deadline)) return timed_out();
      LIFEBOAT_ASSIGN_OR_RETURN(last, Send("GET", location_url, std::nullopt, deadline));
      if (last.status == 202) continue;
      if (last.status == 200 || last.status == 201 || last.status == 204) {
        return final_resource();
      }
      return ArmError(last, StrCat(what, ": operation failed"));
    }
  }
  // No status monitor: a PUT's provisioningState tells; poll the resource itself.
  if (!is_put) return boost::json::value();
  std::string state = JsonString(resource, {"properties", "provisioningState"}).value_or("");
  http::ClientResponse last = initial;
  while (!state.empty() && !IsTerminal(state)) {
    if (!Wait(next_wait(last), deadline)) return timed_out();
    LIFEBOAT_ASSIGN_OR_RETURN(last, Send("GET", resource_path, std::nullopt, deadline));
    if (last.status != 200) return ArmError(last, what);
    auto json = ParseJson(last.body);
    if (!json.ok()) return absl::UnavailableError(StrCat(what, ": response is not JSON"));
    resource = *std::move(json);
    state = JsonString(resource, {"properties", "provisioningState"}).value_or("");
  }
  if (state == "Failed" || state == "Canceled") return TerminalError(state, resource, what);
  return resource;
}

}  // namespace lifeboat::volume::azure
