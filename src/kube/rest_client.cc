// RestClient: the one place where Kubernetes requests meet HTTP (rest_client.h has the
// contract). The pieces, in the order a request passes them: URL building, rate limiting,
// credentials and the http::Client for the credential's certificate, the exchange, the mapping
// of the answer to a Status (with the Kubernetes Status attached), and the retry loop.

#include "lifeboat/kube/rest_client.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "lifeboat/common/log.h"
#include "lifeboat/http/client.h"
#include "src/kube/impersonation.h"
#include "src/kube/rate_limiter.h"

namespace lifeboat::kube {
namespace {

namespace json = boost::json;

constexpr char kApiErrorTypeUrl[] = "type.lifeboat.dev/kube.ApiError";
// Kept when the Retry-After header (not the Status details) carried the delay.
constexpr char kRetryAfterKey[] = "lifeboatRetryAfterSeconds";
// Distinct http::Clients (one per client certificate) kept at once; exec plugins that rotate
// certificates would otherwise accumulate them.
constexpr size_t kMaxClients = 4;
// Distinct warning texts remembered for "log once"; past that, warnings are logged at debug.
constexpr size_t kMaxRememberedWarnings = 1024;
// An error body that is not a Status is quoted in the message up to this many bytes.
constexpr size_t kMaxQuotedBody = 256;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 3986 percent-encoding of everything but the unreserved characters.
void AppendEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

std::string BuildUrl(std::string_view server, const RestRequest& request) {
  while (!server.empty() && server.back() == '/') server.remove_suffix(1);
  std::string url(server);
  if (request.path.empty() || request.path.front() != '/') url.push_back('/');
  url += request.path;
  char sep = request.path.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [key, value] : request.query) {
    url.push_back(sep);
    sep = '&';
    AppendEscaped(url, key);
    url.push_back('=');
    AppendEscaped(url, value);
  }
  return url;
}

bool DefaultIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

bool RetriableHttpCode(int code) {
  return code == 429 || code == 500 || code == 502 || code == 503 || code == 504;
}

absl::StatusCode CodeForHttp(int http_code, std::string_view reason) {
  switch (http_code) {
    case 400: case 413: case 415: case 422: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404: return absl::StatusCode::kNotFound;
    case 405: return absl::StatusCode::kUnimplemented;
    case 409:
      return reason == "AlreadyExists" ? absl::StatusCode::kAlreadyExists
                                       : absl::StatusCode::kAborted;
    case 410: return absl::StatusCode::kOutOfRange;
    case 429: case 500: case 502: case 503: case 504: return absl::StatusCode::kUnavailable;
    default: break;
  }
  if (http_code >= 500 && http_code < 600) return absl::StatusCode::kInternal;
  return absl::StatusCode::kUnknown;
}

// client-go's wording for answers without a Status body (errors.NewGenericServerResponse).
std::string GenericMessage(int http_code) {
  switch (http_code) {
    case 400: return "the server rejected our request for an unknown reason";
    case 401: return "the server has asked for the client to provide credentials";
    case 403: return "the server does not allow access to the requested resource";
    case 404: return "the server could not find the requested resource";
    case 405: return "the server does not allow this method on the requested resource";
    case 409: return "the server reported a conflict";
    case 410: return "the server reported that the resource is gone";
    case 413: return "the server has rejected the request because it is too large";
    case 415: return "the server has rejected the request because of its media type";
    case 422: return "the server rejected our request due to an error in our request";
    case 429:
      return "the server has received too many requests and has asked us to try again later";
    case 500: return "an error on the server has prevented the request from succeeding";
    case 503: return "the server is currently unable to handle the request";
    case 504: return "the server was unable to return a response in the time allotted";
    default: return "the server responded with HTTP status " + std::to_string(http_code);
  }
}

std::string JsonString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<int> JsonInt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return static_cast<int>(v->get_int64());
  if (v->is_uint64()) return static_cast<int>(v->get_uint64());
  return std::nullopt;
}

// The metav1.Status in `body`, if that is what it is.
std::optional<json::object> ParseStatusObject(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  json::object& o = v.as_object();
  if (JsonString(o, "kind") != "Status" && o.if_contains("message") == nullptr &&
      o.if_contains("reason") == nullptr) {
    return std::nullopt;
  }
  return std::move(o);
}

// A short, printable excerpt of a body that is not a Status (an HTML page from a proxy, ...).
std::string QuoteBody(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, kMaxQuotedBody)) {
    out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : ' ');
  }
  if (body.size() > kMaxQuotedBody) out += "...";
  return out;
}

std::optional<int> ParseRetryAfter(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  int seconds = 0;
  if (!header.empty() && absl::SimpleAtoi(absl::string_view(header.data(), header.size()), &seconds) &&
      seconds >= 0) {
    return seconds;
  }
  return std::nullopt;  // the HTTP-date form is not used by API servers
}

// Warning header values: `299 - "text"` or `299 - "text" "date"`, several joined by commas.
// Only code 299 (miscellaneous persistent warning) is kept, as client-go does.
void ParseWarnings(std::string_view v, std::vector<std::string>& out) {
  size_t i = 0;
  auto skip_spaces = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
  };
  auto quoted = [&](std::string* text) {
    if (i >= v.size() || v[i] != '"') return false;
    for (++i; i < v.size(); ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) {
        if (text) text->push_back(v[++i]);
      } else if (v[i] == '"') {
        ++i;
        return true;
      } else if (text) {
        text->push_back(v[i]);
      }
    }
    return false;
  };
  while (i < v.size()) {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
    if (i >= v.size()) break;
    const size_t code_start = i;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
    std::string_view code = v.substr(code_start, i - code_start);
    skip_spaces();
    while (i < v.size() && v[i] != ' ') ++i;  // the agent
    skip_spaces();
    std::string text;
    if (code.size() != 3 || !quoted(&text)) return;  // malformed: ignore the rest
    skip_spaces();
    if (i < v.size() && v[i] == '"' && !quoted(nullptr)) return;  // the optional date
    if (code == "299") out.push_back(std::move(text));
  }
}

Status WithAttempts(const Status& status, int attempts) {
  if (attempts <= 1) return status;
  return Annotate(status, "giving up after " + std::to_string(attempts) + " attempts");
}

class RestClientImpl : public RestClient {
 public:
  RestClientImpl(const RestConfig& config, std::shared_ptr<CredentialProvider> credentials,
                 RestClientOptions options)
      : config_(config),
        options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : RealClock()),
        credentials_(std::move(credentials)),
        limiter_(options_.qps, options_.burst, clock_),
        rng_(std::random_device{}()) {}

  Status Init() {
    http_options_.ca.data = config_.tls.ca_pem;
    http_options_.insecure_skip_verify = config_.tls.insecure_skip_verify;
    http_options_.accept_gzip = !config_.disable_compression;
    http_options_.tls_server_name = config_.tls.server_name;
    http_options_.proxy_url = config_.proxy_url;
    http_options_.user_agent = options_.user_agent;
    http_options_.request_timeout = std::chrono::milliseconds(0);  // set per request
    // The static certificate of the config is the usual one: build its client now so that
    // unusable TLS material is reported by Create.
    return ClientFor(config_.tls.client_cert_pem, config_.tls.client_key_pem).status();
  }

  StatusOr<RestResponse> Do(const RestRequest& request) override;
  const RestConfig& config() const override { return config_; }

 private:
  struct Attempt {
    StatusOr<http::ClientResponse> response;
    bool delivered = false;  // a streaming body reached the caller: the request cannot repeat
    std::string error_body;  // a streaming error answer's body, buffered
  };

  StatusOr<std::shared_ptr<http::Client>> ClientFor(const std::string& cert,
                                                    const std::string& key);
  Attempt Send(const RestRequest& request, const std::string& url, const Credential& cred,
               http::Client& client, std::optional<std::chrono::milliseconds> timeout);
  RestResponse ToResponse(http::ClientResponse response);
  void LogWarnings(const RestRequest& request, const std::vector<std::string>& warnings);
  Clock::Duration Backoff(int retry, const Status& error);

  const RestConfig config_;
  const RestClientOptions options_;
  Clock& clock_;
  const std::shared_ptr<CredentialProvider> credentials_;
  RateLimiter limiter_;
  http::ClientOptions http_options_;

  std::mutex clients_mu_;
  std::map<std::string, std::shared_ptr<http::Client>> clients_;  // by cert + key
  std::deque<std::string> client_order_;                           // oldest first

  std::mutex warnings_mu_;
  std::set<std::string> warned_;

  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

StatusOr<std::shared_ptr<http::Client>> RestClientImpl::ClientFor(const std::string& cert,
                                                                  const std::string& key) {
  std::string id = cert;
  id.push_back('\0');
  id += key;
  std::lock_guard lock(clients_mu_);
  if (auto it = clients_.find(id); it != clients_.end()) return it->second;
  http::ClientOptions o = http_options_;
  o.client_cert.data = cert;
  o.client_key.data = key;
  auto client = http::Client::Create(std::move(o));
  if (!client.ok()) {
    return Annotate(client.status(), cert.empty() ? "configuring TLS for " + config_.server
                                                  : "using the client certificate for " +
                                                        config_.server);
  }
  if (clients_.size() >= kMaxClients) {
    // Requests still using the evicted client hold their own reference.
    clients_.erase(client_order_.front());
    client_order_.pop_front();
  }
  std::shared_ptr<http::Client> shared = std::move(*client);
  clients_.emplace(id, shared);
  client_order_.push_back(std::move(id));
  return shared;
}

RestClientImpl::Attempt RestClientImpl::Send(const RestRequest& request, const std::string& url,
                                             const Credential& cred, http::Client& client,
                                             std::optional<std::chrono::milliseconds> timeout) {
  http::ClientRequest r;
  r.method = request.method;
  r.url = url;
  if (!cred.bearer_token.empty()) {
    r.headers.emplace_back("Authorization", "Bearer " + cred.bearer_token);
  } else if (!cred.username.empty() || !cred.password.empty()) {
    r.headers.emplace_back("Authorization",
                           "Basic " + absl::Base64Escape(cred.username + ":" + cred.password));
  }
  for (auto& h : ImpersonationHeaders(config_.impersonate)) r.headers.push_back(std::move(h));
  if (!request.accept.empty()) r.headers.emplace_back("Accept", request.accept);
  if (!request.content_type.empty()) r.headers.emplace_back("Content-Type", request.content_type);
  r.headers.emplace_back("User-Agent", options_.user_agent);
  r.body = request.body;
  r.cancel = request.cancel;
  r.timeout = timeout.value_or(std::chrono::milliseconds(0));
  Attempt attempt{http::ClientResponse{}};
  if (request.on_body) {
    r.on_body = [&](const http::ClientResponse& head, std::string_view chunk) {
      if (head.status < 200 || head.status >= 300) {
        // An error answer is mapped to a Status, not streamed.
        if (attempt.error_body.size() < (1 << 20)) attempt.error_body.append(chunk);
        return true;
      }
      attempt.delivered = true;
      return request.on_body(chunk);
    };
  }
  attempt.response = client.Send(r);
  return attempt;
}

RestResponse RestClientImpl::ToResponse(http::ClientResponse response) {
  RestResponse out;
  out.status = response.status;
  out.body = std::move(response.body);
  for (auto& [name, value] : response.headers) {
    if (EqualsIgnoreCase(name, "Warning")) ParseWarnings(value, out.warnings);
    out.headers.emplace_back(name, value);
  }
  return out;
}

void RestClientImpl::LogWarnings(const RestRequest& request,
                                 const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) {
    bool first;
    {
      std::lock_guard lock(warnings_mu_);
      first = warned_.size() < kMaxRememberedWarnings && warned_.insert(w).second;
    }
    if (first) {
      LB_LOG_INFO("kube: warning from the API server ({} {}): {}", request.method, request.path, w);
    } else {
      LB_LOG_DEBUG("kube: warning from the API server ({} {}): {}", request.method, request.path,
                   w);
    }
  }
}

Clock::Duration RestClientImpl::Backoff(int retry, const Status& error) {
  const Clock::Duration cap = options_.max_backoff;
  if (std::optional<ApiError> api = ApiErrorOf(error); api && api->retry_after_seconds) {
    return std::min<Clock::Duration>(std::chrono::seconds(*api->retry_after_seconds), cap);
  }
  // Full jitter: uniform in [0, min(cap, base * 2^retry)].
  Clock::Duration ceiling = options_.base_backoff;
  for (int i = 0; i < retry && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  if (ceiling <= Clock::Duration::zero()) return Clock::Duration::zero();
  std::lock_guard lock(rng_mu_);
  return Clock::Duration(
      std::uniform_int_distribution<int64_t>(0, ceiling.count())(rng_));
}

StatusOr<RestResponse> RestClientImpl::Do(const RestRequest& request) {
  const std::string url = BuildUrl(config_.server, request);
  const bool idempotent = request.idempotent.value_or(DefaultIdempotent(request.method));
  std::optional<std::chrono::milliseconds> timeout;
  if (request.timeout.count() > 0) {
    timeout = request.timeout;
  } else if ((!request.on_body || request.finite_stream) && options_.timeout.count() > 0) {
    timeout = options_.timeout;
  }
  // The timeout bounds the whole exchange, retries and backoff included (as client-go's).
  const Clock::TimePoint deadline =
      timeout ? clock_.Now() + *timeout : Clock::TimePoint::max();
  Status last_error;
  bool reauthenticated = false;
  int attempts = 0;
  for (int retry = 0;;) {
    // 429 means the server refused the request before doing anything: safe to send again
    // whatever the method (client-go retries it for every verb too).
    bool throttled = false;
    LIFEBOAT_RETURN_IF_ERROR(limiter_.Wait(request.cancel));
    StatusOr<Credential> cred = credentials_->Get();
    if (!cred.ok()) {
      return Annotate(cred.status(), "getting credentials from " + credentials_->Describe());
    }
    LIFEBOAT_ASSIGN_OR_RETURN(std::shared_ptr<http::Client> client,
                              ClientFor(cred->client_cert_pem, cred->client_key_pem));
    std::optional<std::chrono::milliseconds> remaining;
    if (timeout) {
      remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.Now());
      if (remaining->count() <= 0) {
        return absl::DeadlineExceededError(
            request.method + " " + config_.server + request.path + ": timed out after " +
            std::to_string(timeout->count()) + " ms" +
            (last_error.ok() ? std::string() : "; last error: " + std::string(last_error.message())));
      }
    }
    ++attempts;
    Attempt attempt = Send(request, url, *cred, *client, remaining);
    Status error;
    if (!attempt.response.ok()) {
      error = attempt.response.status();
    } else {
      http::ClientResponse& r = *attempt.response;
      // A streamed answer that was not 2xx was buffered instead.
      if (request.on_body && (r.status < 200 || r.status >= 300)) r.body = attempt.error_body;
      const std::string retry_after = r.Header("Retry-After");
      const int http_status = r.status;
      std::string body = std::move(r.body);
      RestResponse out = ToResponse(std::move(r));
      LogWarnings(request, out.warnings);
      if (http_status < 400) {
        out.body = std::move(body);
        return out;
      }
      error = StatusFromResponse(http_status, body, retry_after);
      throttled = http_status == 429;
      if (http_status == 401 && !reauthenticated) {
        // The credential may have expired or been rotated: get a fresh one, once.
        LB_LOG_DEBUG("kube: {} {}: 401 with {}; refreshing credentials", request.method,
                     request.path, credentials_->Describe());
        credentials_->InvalidateRejected(*cred);
        reauthenticated = true;
        continue;
      }
      if (!RetriableHttpCode(http_status)) return WithAttempts(error, attempts);
    }
    const bool resumable = !attempt.delivered || request.on_body_restart;
    if (error.code() != absl::StatusCode::kUnavailable || !(idempotent || throttled) || !resumable ||
        retry >= options_.max_retries) {
      return WithAttempts(error, attempts);
    }
    if (attempt.delivered) request.on_body_restart();
    last_error = error;
    Clock::Duration delay = Backoff(retry, error);
    if (timeout) delay = std::min<Clock::Duration>(delay, std::max<Clock::Duration>(deadline - clock_.Now(), Clock::Duration::zero()));
    ++retry;
    LB_LOG_DEBUG("kube: {} {}: {}; retry {}/{} in {} ms", request.method, request.path,
                 std::string_view(error.message().data(), error.message().size()), retry,
                 options_.max_retries,
                 std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
    if (delay > Clock::Duration::zero() && !clock_.SleepFor(delay, request.cancel)) {
      return request.cancel.status();
    }
  }
}

}  // namespace

std::string RestResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

Status StatusFromResponse(int http_code, std::string_view body,
                          std::string_view retry_after_header) {
  json::object status;
  std::optional<json::object> parsed = ParseStatusObject(body);
  std::string message;
  if (parsed) {
    status = std::move(*parsed);
    message = JsonString(status, "message");
  }
  if (message.empty()) {
    message = GenericMessage(http_code);
    if (!parsed && !body.empty()) message += ": " + QuoteBody(body);
    status["message"] = message;
  }
  status["kind"] = "Status";
  if (!JsonInt(status, "code")) status["code"] = http_code;
  const json::value* details = status.if_contains("details");
  const bool has_retry_after = details != nullptr && details->is_object() &&
                               JsonInt(details->as_object(), "retryAfterSeconds").has_value();
  if (std::optional<int> s = ParseRetryAfter(retry_after_header); s && !has_retry_after) {
    status[kRetryAfterKey] = *s;
  }
  Status out(CodeForHttp(http_code, JsonString(status, "reason")), message);
  out.SetPayload(kApiErrorTypeUrl, absl::Cord(json::serialize(status)));
  return out;
}

std::optional<ApiError> ApiErrorOf(const Status& status) {
  auto payload = status.GetPayload(kApiErrorTypeUrl);
  if (!payload) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(std::string(*payload), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  ApiError e;
  e.code = JsonInt(o, "code").value_or(0);
  e.reason = JsonString(o, "reason");
  e.message = JsonString(o, "message");
  e.retry_after_seconds = JsonInt(o, kRetryAfterKey);
  if (const json::value* d = o.if_contains("details"); d != nullptr) {
    e.details = *d;
    if (d->is_object()) {
      const json::object& details = d->as_object();
      if (std::optional<int> s = JsonInt(details, "retryAfterSeconds")) e.retry_after_seconds = s;
      if (const json::value* causes = details.if_contains("causes"); causes && causes->is_array()) {
        for (const json::value& c : causes->as_array()) {
          if (!c.is_object()) continue;
          e.causes.push_back({JsonString(c.as_object(), "reason"),
                              JsonString(c.as_object(), "message"),
                              JsonString(c.as_object(), "field")});
        }
      }
    }
  }
  return e;
}

StatusOr<std::unique_ptr<RestClient>> RestClient::Create(const RestConfig& config,
                                                        RestClientOptions options) {
  Clock& clock = options.clock != nullptr ? *options.clock : RealClock();
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<CredentialProvider> provider,
                            MakeCredentialProvider(config, clock));
  return Create(config, std::shared_ptr<CredentialProvider>(std::move(provider)),
                std::move(options));
}

StatusOr<std::unique_ptr<RestClient>> RestClient::Create(
    const RestConfig& config, std::shared_ptr<CredentialProvider> credentials,
    RestClientOptions options) {
  if (config.server.empty()) return absl::InvalidArgumentError("no API server URL configured");
  if (credentials == nullptr) {
    return absl::InvalidArgumentError("RestClient::Create: no credential provider");
  }
  auto client = std::make_unique<RestClientImpl>(config, std::move(credentials), std::move(options));
  LIFEBOAT_RETURN_IF_ERROR(client->Init());
  return std::unique_ptr<RestClient>(std::move(client));
}

}  // namespace lifeboat::kube
