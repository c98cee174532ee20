// AAD client-credentials token source (service principal secret or AKS workload identity).

#include <mutex>

#include "absl/strings/ascii.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/json.h"
#include "src/storage/drivers/azure/azure_auth.h"
#include "src/storage/drivers/azure/azure_strings.h"

namespace lifeboat::storage::azure {
namespace {

constexpr auto kRefreshMargin = std::chrono::minutes(5);

std::string FirstLine(std::string_view s, size_t max = 300) {
  s = s.substr(0, s.find_first_of("\r\n"));
  return std::string(s.substr(0, max));
}

Status TokenError(const http::ClientResponse& resp) {
  std::string detail = StrCat("HTTP ", resp.status);
  if (auto json = ParseJson(resp.body); json.ok()) {
    std::string code = JsonString(*json, {"error"}).value_or("");
    std::string desc = JsonString(*json, {"error_description"}).value_or("");
    if (!code.empty()) detail = StrCat(code, ": ", FirstLine(desc));
  }
  std::string msg = StrCat("AAD token request failed: ", RedactSignatures(detail));
  if (resp.status == 400 || resp.status == 401) return absl::UnauthenticatedError(msg);
  if (resp.status == 403) return absl::PermissionDeniedError(msg);
  if (resp.status == 429 || resp.status >= 500) return absl::UnavailableError(msg);
  return absl::UnknownError(msg);
}

class AadTokenSource : public TokenSource {
 public:
  AadTokenSource(AadTokenOptions options, http::Client* client, Clock* clock)
      : options_(std::move(options)), client_(client), clock_(clock) {}

  StatusOr<std::string> Token(bool refresh) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!refresh && !token_.empty() && clock_->Now() < refresh_at_) return token_;
    LIFEBOAT_ASSIGN_OR_RETURN(std::string body, RequestBody());
    http::ClientRequest req;
    req.method = "POST";
    req.url = options_.token_url;
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                   {"Accept", "application/json"}};
    req.body = std::move(body);
    req.max_response_bytes = 1 << 20;
    auto start = clock_->Now();
    auto resp = client_->Send(req);
    if (!resp.ok()) return Annotate(resp.status(), "AAD token request");
    if (resp->status != 200) return TokenError(*resp);
    auto json = ParseJson(resp->body);
    if (!json.ok()) return absl::UnavailableError("AAD token response is not JSON");
    auto token = JsonString(*json, {"access_token"});
    if (!token || token->empty()) {
      return absl::UnavailableError("AAD token response has no access_token");
    }
    int64_t expires_in = JsonInt(*json, {"expires_in"}).value_or(0);
    if (expires_in == 0) {  // AAD v1 endpoints send it as a string
      std::string s = JsonString(*json, {"expires_in"}).value_or("3600");
      expires_in = std::strtoll(s.c_str(), nullptr, 10);
    }
    auto lifetime = std::chrono::seconds(std::max<int64_t>(expires_in, 0));
    auto margin = std::min<std::chrono::seconds>(
        std::chrono::duration_cast<std::chrono::seconds>(kRefreshMargin), lifetime / 2);
    token_ = *token;
    refresh_at_ = start + lifetime - margin;
    return token_;
  }

 private:
  StatusOr<std::string> RequestBody() const {
    std::string body =
        StrCat("grant_type=client_credentials&client_id=", UrlEncode(options_.client_id),
               "&scope=", UrlEncode(options_.scope));
    if (!options_.client_secret.empty()) {
      StrAppend(&body, "&client_secret=", UrlEncode(options_.client_secret));
      return body;
    }
    // The projected token is rotated by the kubelet: read it every time.
    auto assertion = ReadFile(options_.federated_token_file, 1 << 20);
    if (!assertion.ok()) {
      return absl::FailedPreconditionError(StrCat("reading AZURE_FEDERATED_TOKEN_FILE ",
                                                  options_.federated_token_file, ": ",
                                                  assertion.status().message()));
    }
    std::string jwt(StripWhitespace(*assertion));
    if (jwt.empty()) {
      return absl::FailedPreconditionError(
          StrCat("AZURE_FEDERATED_TOKEN_FILE ", options_.federated_token_file, " is empty"));
    }
    StrAppend(&body,
              "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type"
              "%3Ajwt-bearer&client_assertion=",
              UrlEncode(jwt));
    return body;
  }

  const AadTokenOptions options_;
  http::Client* const client_;
  Clock* const clock_;
  std::mutex mu_;
  std::string token_;
  Clock::TimePoint refresh_at_;
};

Status ArmError(const http::ClientResponse& resp, std::string_view what) {
  std::string detail = StrCat(what, ": HTTP ", resp.status);
  if (auto json = ParseJson(resp.body); json.ok()) {
    std::string code = JsonString(*json, {"error", "code"}).value_or("");
    std::string message = JsonString(*json, {"error", "message"}).value_or("");
    if (!code.empty()) StrAppend(&detail, " ", code, ": ", FirstLine(message));
  }
  detail = RedactSignatures(detail);
  if (resp.status == 401) return absl::UnauthenticatedError(detail);
  if (resp.status == 403) return absl::PermissionDeniedError(detail);
  if (resp.status == 404) return absl::FailedPreconditionError(detail);
  if (resp.status == 429 || resp.status >= 500) return absl::UnavailableError(detail);
  return absl::UnknownError(detail);
}

}  // namespace

StatusOr<std::string> FetchAccountKeyFromArm(http::Client& client, TokenSource& tokens,
                                             std::string_view resource_manager,
                                             std::string_view subscription_id,
                                             std::string_view resource_group,
                                             std::string_view account) {
  const std::string what = StrCat("fetching the key of storage account ", account,
                                  " (resource group ", resource_group, ") from ARM");
  for (int attempt = 0;; ++attempt) {
    auto token = tokens.Token(/*refresh=*/attempt > 0);
    if (!token.ok()) return Annotate(token.status(), what);
    http::ClientRequest req;
    req.method = "POST";
    req.url =
        StrCat(resource_manager, "/subscriptions/", UrlEncode(subscription_id), "/resourceGroups/",
               UrlEncode(resource_group), "/providers/Microsoft.Storage/storageAccounts/",
               UrlEncode(account), "/listKeys?api-version=2023-01-01");
    req.headers = {{"Authorization", "Bearer " + *token}, {"Accept", "application/json"}};
    req.max_response_bytes = 1 << 20;
    auto resp = client.Send(req);
    if (!resp.ok()) return Annotate(resp.status(), what);
    if (resp->status == 401 && attempt == 0) continue;  // token revoked early: refresh once
    if (resp->status != 200) return ArmError(*resp, what);
    auto json = ParseJson(resp->body);
    const boost::json::array* keys = nullptr;
    if (json.ok()) {
      if (auto* v = JsonFind(*json, {"keys"}); v && v->is_array()) keys = &v->as_array();
    }
    if (keys == nullptr) return absl::UnavailableError(StrCat(what, ": unexpected response"));
    for (const auto& k : *keys) {
      std::string perm = JsonString(k, {"permissions"}).value_or("");
      for (char& c : perm) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      auto value = JsonString(k, {"value"});
      if (perm == "FULL" && value && !value->empty()) return *value;
    }
    return absl::PermissionDeniedError(StrCat(what, ": no key with FULL permission"));
  }
}

std::unique_ptr<TokenSource> NewAadTokenSource(AadTokenOptions options, http::Client* client,
                                               Clock* clock) {
  return std::make_unique<AadTokenSource>(std::move(options), client, clock);
}

}  // namespace lifeboat::storage::azure
