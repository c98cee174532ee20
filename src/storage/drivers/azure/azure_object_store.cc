#include "src/storage/drivers/azure/azure_object_store.h"

#include <algorithm>
#include <pugixml.hpp>

#include "lifeboat/common/log.h"
#include "src/storage/drivers/azure/azure_internal.h"
#include "src/storage/drivers/azure/azure_strings.h"

namespace lifeboat::storage::azure {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

std::string FirstLine(std::string_view s, size_t max = 300) {
  s = s.substr(0, s.find_first_of("\r\n"));
  return std::string(s.substr(0, max));
}

std::string ObjectName(std::string_view bucket, std::string_view key) {
  return key.empty() ? std::string(bucket) : StrCat(bucket, "/", key);
}

}  // namespace

Status CheckKey(std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("empty object key");
  if (key.size() > 1024) {
    return absl::InvalidArgumentError("object key longer than 1024 characters");
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t slash = key.find('/', start);
    if (slash == std::string_view::npos) slash = key.size();
    std::string_view segment = key.substr(start, slash - start);
    if (segment == "." || segment == "..") {
      return absl::InvalidArgumentError("object key with a \".\" or \"..\" path segment");
    }
    start = slash + 1;
  }
  return absl::OkStatus();
}

Status BlobError(const http::ClientResponse& response, std::string_view body,
                 std::string_view what) {
  std::string code = response.Header("x-ms-error-code");
  std::string message;
  pugi::xml_document doc;
  if (!body.empty() && doc.load_buffer(body.data(), body.size())) {
    pugi::xml_node error = doc.child("Error");
    if (code.empty()) code = error.child_value("Code");
    message = FirstLine(error.child_value("Message"));
  }
  std::string detail = StrCat(what, ": HTTP ", response.status, code.empty() ? "" : " ", code,
                              message.empty() ? "" : ": ", message);
  detail = RedactSignatures(detail);
  int s = response.status;
  if (code == "ServerBusy" || code == "OperationTimedOut" || s == 429 || s >= 500) {
    return absl::UnavailableError(detail);
  }
  if (code == "ContainerNotFound") return absl::FailedPreconditionError(detail);
  if (s == 404) return absl::NotFoundError(detail);
  if (s == 401) return absl::UnauthenticatedError(detail);
  if (s == 403) return absl::PermissionDeniedError(detail);
  if (s == 409) return absl::AbortedError(detail);
  if (s == 412) return absl::FailedPreconditionError(detail);
  if (s == 416) return absl::OutOfRangeError(detail);
  if (s == 400) return absl::InvalidArgumentError(detail);
  return absl::UnknownError(detail);
}

AzureBlobObjectStore::AzureBlobObjectStore(AzureSettings settings,
                                           std::unique_ptr<http::Client> client, Clock* clock)
    : settings_(std::move(settings)), client_(std::move(client)), clock_(clock) {
  size_t scheme = settings_.endpoint.find("://");
  size_t slash = settings_.endpoint.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash != std::string::npos) endpoint_path_ = settings_.endpoint.substr(slash);
  if (settings_.mode == AuthMode::kServicePrincipal ||
      settings_.mode == AuthMode::kWorkloadIdentity || settings_.key_from_arm) {
    AadTokenOptions o{.token_url = settings_.token_url,
                      .client_id = settings_.client_id,
                      .client_secret = settings_.client_secret,
                      .federated_token_file = settings_.federated_token_file};
    if (settings_.key_from_arm) o.scope = settings_.resource_manager + "/.default";
    tokens_ = NewAadTokenSource(std::move(o), client_.get(), clock_);
  }
}

StatusOr<std::string> AzureBlobObjectStore::AccountKey() {
  if (!settings_.key_from_arm) return settings_.account_key;
  std::lock_guard<std::mutex> lock(key_mu_);
  if (arm_key_.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(
        arm_key_, FetchAccountKeyFromArm(*client_, *tokens_, settings_.resource_manager,
                                         settings_.subscription_id, settings_.resource_group,
                                         settings_.account));
  }
  return arm_key_;
}

StatusOr<std::unique_ptr<AzureBlobObjectStore>> AzureBlobObjectStore::Create(AzureSettings settings,
                                                                             Clock* clock) {
  http::ClientOptions options;
  options.ca.data = settings.ca_cert_pem;
  options.request_timeout = std::chrono::minutes(10);
  options.user_agent = "lifeboat (azure)";
  options.max_connections_per_host = 32;
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<http::Client> client,
                            http::Client::Create(std::move(options)));
  if (clock == nullptr) clock = &RealClock();
  return std::unique_ptr<AzureBlobObjectStore>(
      new AzureBlobObjectStore(std::move(settings), std::move(client), clock));
}

std::string AzureBlobObjectStore::Url(const Call& call) const {
  std::string url = settings_.endpoint + "/";
  if (!call.container.empty()) StrAppend(&url, UrlEncode(call.container));
  if (!call.blob.empty()) StrAppend(&url, "/", UrlEncode(call.blob, /*keep_slash=*/true));
  std::string query;
  for (const auto& [k, v] : call.query) {
    StrAppend(&query, query.empty() ? "" : "&", UrlEncode(k), "=", UrlEncode(v));
  }
  if (settings_.mode == AuthMode::kSas) {
    StrAppend(&query, query.empty() ? "" : "&", settings_.sas_token);
  }
  if (!query.empty()) StrAppend(&url, "?", query);
  return url;
}

Status AzureBlobObjectStore::Authorize(http::ClientRequest& request, const Call& call,
                                       bool refresh_token) {
  request.headers.emplace_back("x-ms-date", FormatRfc1123(clock_->Now()));
  request.headers.emplace_back("x-ms-version", std::string(kApiVersion));
  switch (settings_.mode) {
    case AuthMode::kSas:
      return absl::OkStatus();
    case AuthMode::kSharedKey: {
      SignableRequest s{.method = call.method,
                        .encoded_path = endpoint_path_ + "/",
                        .query = call.query,
                        .headers = request.headers,
                        .content_length = call.content_length};
      if (!call.container.empty()) s.encoded_path += UrlEncode(call.container);
      if (!call.blob.empty()) StrAppend(&s.encoded_path, "/", UrlEncode(call.blob, true));
      LIFEBOAT_ASSIGN_OR_RETURN(std::string key, AccountKey());
      auto auth = SharedKeyAuthorization(settings_.account, key, s);
      if (!auth.ok()) {
        return absl::InvalidArgumentError(
            StrCat(auth.status().message(), " (from ", settings_.credentials_source, ")"));
      }
      request.headers.emplace_back("Authorization", *auth);
      return absl::OkStatus();
    }
    case AuthMode::kServicePrincipal:
    case AuthMode::kWorkloadIdentity: {
      LIFEBOAT_ASSIGN_OR_RETURN(std::string token, tokens_->Token(refresh_token));
      request.headers.emplace_back("Authorization", "Bearer " + token);
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown auth mode");
}

StatusOr<http::ClientResponse> AzureBlobObjectStore::Send(Call& call) {
  const std::string what = StrCat(call.op, " ", ObjectName(call.container, call.blob));
  for (int attempt = 0;; ++attempt) {
    if (call.before_attempt) call.before_attempt();
    http::ClientRequest req;
    req.method = call.method;
    req.url = Url(call);
    req.headers = call.headers;
    req.body = call.body;
    req.body_source = call.body_source;
    req.timeout = call.timeout;
    req.on_body = call.on_body;
    LIFEBOAT_RETURN_IF_ERROR(Annotate(Authorize(req, call, attempt > 0), what));
    auto resp = client_->Send(req);
    if (!resp.ok()) return Annotate(resp.status(), what);
    // A bearer token may have been revoked or expired early: fetch a new one once.
    bool bearer = settings_.mode != AuthMode::kSharedKey && tokens_ != nullptr;
    std::string code = resp->Header("x-ms-error-code");
    bool auth_failed = resp->status == 401 ||
                       (resp->status == 403 &&
                        (code == "AuthenticationFailed" || code == "InvalidAuthenticationInfo"));
    if (!bearer || !auth_failed || attempt > 0) return resp;
    if (call.body_source != nullptr && !call.body_source->Rewind().ok()) return resp;
    LB_LOG_DEBUG("azure: {} was refused with HTTP {}; refreshing the AAD token", what,
                 resp->status);
  }
}

Status AzureBlobObjectStore::Get(std::string_view bucket, std::string_view key, ByteSink& sink,
                                 const GetOptions& options, int64_t* written) {
  if (written) *written = 0;
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(key));
  if (options.offset < 0) return absl::InvalidArgumentError("negative range offset");
  if (options.length == 0) {
    LIFEBOAT_ASSIGN_OR_RETURN(bool exists, Exists(bucket, key));
    if (!exists) return absl::NotFoundError(StrCat("getting ", bucket, "/", key));
    return absl::OkStatus();
  }
  Call call{.op = "getting", .container = std::string(bucket), .blob = std::string(key)};
  if (options.offset > 0 || options.length > 0) {
    std::string range = StrCat("bytes=", options.offset, "-");
    if (options.length > 0) StrAppend(&range, options.offset + options.length - 1);
    call.headers.emplace_back("x-ms-range", range);
  }
  call.timeout = std::chrono::minutes(60);
  int64_t count = 0;
  Status sink_error;
  std::string error_body;
  call.on_body = [&](const http::ClientResponse& head, std::string_view chunk) {
    if (head.status != 200 && head.status != 206) {
      if (error_body.size() < kMaxErrorBody) error_body.append(chunk);
      return true;
    }
    sink_error = sink.Write(chunk);
    if (!sink_error.ok()) return false;
    count += static_cast<int64_t>(chunk.size());
    if (written) *written = count;
    return true;
  };
  call.before_attempt = [&] { error_body.clear(); };
  auto resp = Send(call);
  if (!sink_error.ok()) return sink_error;
  if (!resp.ok()) return resp.status();
  if (resp->status == 416 && options.offset > 0) return absl::OkStatus();  // offset at the end
  if (resp->status != 200 && resp->status != 206) {
    return BlobError(*resp, error_body, StrCat("getting ", bucket, "/", key));
  }
  std::string length = resp->Header("Content-Length");
  if (!length.empty() && std::to_string(count) != length) {
    return absl::DataLossError(StrCat("getting ", bucket, "/", key, ": response ended after ",
                                      count, " of ", length, " bytes"));
  }
  return absl::OkStatus();
}

StatusOr<bool> AzureBlobObjectStore::Exists(std::string_view bucket, std::string_view key) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(key));
  Call call{.op = "checking",
            .method = "HEAD",
            .container = std::string(bucket),
            .blob = std::string(key)};
  LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse resp, Send(call));
  if (resp.status == 200) return true;
  if (resp.status == 404 && resp.Header("x-ms-error-code") != "ContainerNotFound") return false;
  return BlobError(resp, "", StrCat("checking ", bucket, "/", key));
}

Status AzureBlobObjectStore::Delete(std::string_view bucket, std::string_view key) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(key));
  Call call{.op = "deleting",
            .method = "DELETE",
            .container = std::string(bucket),
            .blob = std::string(key)};
  LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse resp, Send(call));
  if (resp.status == 202 || resp.status == 200) return absl::OkStatus();
  if (resp.status == 404 && resp.Header("x-ms-error-code") != "ContainerNotFound") {
    return absl::OkStatus();
  }
  return BlobError(resp, resp.body, StrCat("deleting ", bucket, "/", key));
}

StatusOr<std::vector<std::string>> AzureBlobObjectStore::ListCommonPrefixes(
    std::string_view bucket, std::string_view prefix, std::string_view delimiter) {
  if (delimiter.empty()) return absl::InvalidArgumentError("empty delimiter");
  return List(bucket, prefix, delimiter, /*want_prefixes=*/true);
}

StatusOr<std::vector<std::string>> AzureBlobObjectStore::ListObjects(std::string_view bucket,
                                                                     std::string_view prefix) {
  return List(bucket, prefix, "", /*want_prefixes=*/false);
}

StatusOr<std::vector<std::string>> AzureBlobObjectStore::List(std::string_view bucket,
                                                              std::string_view prefix,
                                                              std::string_view delimiter,
                                                              bool want_prefixes) {
  std::vector<std::string> out;
  std::string marker;
  const std::string what = StrCat("listing ", bucket, "/", prefix);
  do {
    Call call{.op = "listing", .container = std::string(bucket)};
    call.query = {{"restype", "container"}, {"comp", "list"}};
    if (!prefix.empty()) call.query.emplace_back("prefix", std::string(prefix));
    if (!delimiter.empty()) call.query.emplace_back("delimiter", std::string(delimiter));
    if (!marker.empty()) call.query.emplace_back("marker", marker);
    call.query.emplace_back("maxresults", std::to_string(list_page_size_));
    LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse resp, Send(call));
    if (resp.status != 200) return BlobError(resp, resp.body, what);
    pugi::xml_document doc;
    if (!doc.load_buffer(resp.body.data(), resp.body.size())) {
      return absl::UnavailableError(StrCat(what, ": unparsable listing"));
    }
    pugi::xml_node results = doc.child("EnumerationResults");
    pugi::xml_node blobs = results.child("Blobs");
    for (pugi::xml_node n : blobs.children(want_prefixes ? "BlobPrefix" : "Blob")) {
      out.emplace_back(n.child_value("Name"));
    }
    std::string next = results.child_value("NextMarker");
    if (!next.empty() && next == marker) {
      return absl::UnavailableError(StrCat(what, ": listing marker did not advance"));
    }
    marker = std::move(next);
  } while (!marker.empty());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

StatusOr<UserDelegationKey> AzureBlobObjectStore::GetUserDelegationKey(Clock::TimePoint start,
                                                                       Clock::TimePoint expiry) {
  Call call{.op = "getting a user delegation key for", .method = "POST"};
  call.query = {{"restype", "service"}, {"comp", "userdelegationkey"}};
  call.body =
      StrCat("<?xml version=\"1.0\" encoding=\"utf-8\"?><KeyInfo><Start>", FormatIso8601(start),
             "</Start><Expiry>", FormatIso8601(expiry), "</Expiry></KeyInfo>");
  call.content_length = static_cast<int64_t>(call.body.size());
  call.headers = {{"Content-Type", "application/xml"}};
  LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse resp, Send(call));
  const std::string what = "getting a user delegation key";
  if (resp.status != 200) return BlobError(resp, resp.body, what);
  pugi::xml_document doc;
  if (!doc.load_buffer(resp.body.data(), resp.body.size())) {
    return absl::UnavailableError(StrCat(what, ": unparsable response"));
  }
  pugi::xml_node k = doc.child("UserDelegationKey");
  UserDelegationKey key{.object_id = k.child_value("SignedOid"),
                        .tenant_id = k.child_value("SignedTid"),
                        .start = k.child_value("SignedStart"),
                        .expiry = k.child_value("SignedExpiry"),
                        .service = k.child_value("SignedService"),
                        .version = k.child_value("SignedVersion"),
                        .value = k.child_value("Value")};
  if (key.value.empty()) return absl::UnavailableError(StrCat(what, ": no key in response"));
  return key;
}

StatusOr<std::string> AzureBlobObjectStore::CreateSignedUrl(std::string_view bucket,
                                                            std::string_view key,
                                                            std::chrono::seconds ttl) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(key));
  if (ttl <= std::chrono::seconds(0)) return absl::InvalidArgumentError("non-positive TTL");
  Call call{.container = std::string(bucket), .blob = std::string(key)};
  std::string url = Url(call);
  if (settings_.mode == AuthMode::kSas) return url;
  auto now = clock_->Now();
  BlobSasRequest sas{.account = settings_.account,
                     .container = std::string(bucket),
                     .blob = std::string(key),
                     .start = now - std::chrono::minutes(10),
                     .expiry = now + ttl,
                     .protocol = settings_.endpoint.starts_with("https:") ? "https" : "https,http"};
  std::string query;
  if (settings_.mode == AuthMode::kSharedKey) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::string account_key, AccountKey());
    LIFEBOAT_ASSIGN_OR_RETURN(query, ServiceSas(sas, account_key));
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(UserDelegationKey udk, GetUserDelegationKey(sas.start, sas.expiry));
    LIFEBOAT_ASSIGN_OR_RETURN(query, UserDelegationSas(sas, udk));
  }
  return StrCat(url, "?", query);
}

StatusOr<std::unique_ptr<ObjectStore>> NewAzureBlobObjectStore(const DriverParams& params) {
  LIFEBOAT_ASSIGN_OR_RETURN(AzureSettings settings, ResolveSettings(params));
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<AzureBlobObjectStore> store,
                            AzureBlobObjectStore::Create(std::move(settings), params.clock));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace lifeboat::storage::azure
