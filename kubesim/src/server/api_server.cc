#include "kubesim/src/server/api_server.h"

#include <thread>

#include "absl/strings/str_split.h"

#include "kubesim/src/server/discovery.h"
#include "kubesim/src/server/openapi.h"
#include "kubesim/src/server/request_info.h"
#include "kubesim/src/server/resource_handler.h"
#include "kubesim/src/server/wire.h"
#include "lifeboat/common/log.h"

namespace kubesim {
namespace {

namespace json = boost::json;
using lifeboat::http::Request;
using lifeboat::http::ResponseWriter;

bool IsHealthPath(const std::string& p) {
  return p == "/healthz" || p == "/livez" || p == "/readyz" || p.rfind("/healthz/", 0) == 0 ||
         p.rfind("/livez/", 0) == 0 || p.rfind("/readyz/", 0) == 0;
}

}  // namespace

ApiServer::ApiServer(Cluster* cluster, const Authenticator* authn, const Authorizer* authz,
                     ApiServerOptions options)
    : cluster_(cluster), authn_(authn), authz_(authz), options_(std::move(options)),
      rng_(options_.faults.seed != 0 ? options_.faults.seed : std::random_device{}()) {}

ApiServer::~ApiServer() {
  if (server_) server_->Stop();
}

StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(Cluster* cluster, const Authenticator* authn,
                                                      const Authorizer* authz,
                                                      ApiServerOptions options) {
  std::unique_ptr<ApiServer> s(new ApiServer(cluster, authn, authz, std::move(options)));
  lifeboat::http::ServerOptions http;
  http.listen = s->options_.listen;
  http.tls = s->options_.tls;
  // Bodies up to 3 MiB are accepted (kube-apiserver's limit); the parser's limit leaves room
  // for the framing so that the 413 comes from the same rule.
  http.max_body_bytes = 3 * 1024 * 1024;
  http.error_body = [](int code, const std::string& message) {
    Status st = code == 413 ? TooLargeError("the request is too large: " + message)
                            : ApiError(code, code == 400 ? "BadRequest" : "", message);
    return std::make_pair(std::string("application/json"), json::serialize(StatusBody(st)));
  };
  ApiServer* raw = s.get();
  LIFEBOAT_ASSIGN_OR_RETURN(s->server_, lifeboat::http::Server::Start(
                                            std::move(http), [raw](Request& req, ResponseWriter& w) {
                                              raw->Handle(req, w);
                                            }));
  return s;
}

Status ApiServer::InjectFault() {
  const FaultOptions& f = options_.faults;
  if (f.latency.count() > 0) std::this_thread::sleep_for(f.latency);
  if (f.rate_429 <= 0 && f.rate_500 <= 0) return absl::OkStatus();
  double r;
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    r = std::uniform_real_distribution<double>(0, 1)(rng_);
  }
  if (r < f.rate_429) return TooManyRequestsError(f.retry_after_seconds);
  if (r < f.rate_429 + f.rate_500) return InternalError("kubesim fault injection: internal error");
  return absl::OkStatus();
}

namespace {

// kube-apiserver's impersonation: Impersonate-User / -Uid / -Group headers replace the
// authenticated identity when that identity may "impersonate" users (and groups).
Status Impersonate(const Request& req, const Authorizer& authz, UserInfo& user) {
  const std::string as = req.Header("Impersonate-User");
  const std::string groups = req.Header("Impersonate-Group");  // repeated headers: ", "-joined
  const std::string uid = req.Header("Impersonate-Uid");
  if (as.empty() && groups.empty() && uid.empty()) return absl::OkStatus();
  if (as.empty()) {
    return InternalError("requested impersonation of groups or uid without impersonating a user");
  }
  UserInfo target{as, uid, {}};
  if (Status s = authz.Authorize(user, {"impersonate", "", "users", "", "", as}); !s.ok()) {
    return ApiError(403, "Forbidden", std::string(s.message()));
  }
  for (const std::string& g : std::vector<std::string>(absl::StrSplit(groups, ", ", absl::SkipEmpty()))) {
    if (Status s = authz.Authorize(user, {"impersonate", "", "groups", "", "", g}); !s.ok()) {
      return ApiError(403, "Forbidden", std::string(s.message()));
    }
    target.groups.emplace_back(g);
  }
  target.groups.emplace_back("system:authenticated");
  user = std::move(target);
  return absl::OkStatus();
}

}  // namespace

void ApiServer::Handle(Request& req, ResponseWriter& w) {
  const std::string& path = req.path;
  if (IsHealthPath(path)) {
    (void)w.Send(200, {{"Content-Type", "text/plain; charset=utf-8"}, {"X-Content-Type-Options", "nosniff"}}, "ok");
    return;
  }
  // Authentication: a verified client certificate, else a bearer token; nobody anonymous.
  std::optional<UserInfo> user;
  if (req.peer) {
    user = authn_->FromClientCert(req.peer->common_name, req.peer->organizations);
  } else if (std::string auth = req.Header("Authorization"); !auth.empty()) {
    user = authn_->FromBearer(auth);
  }
  if (!user) {
    SendStatus(w, ApiError(401, "Unauthorized", "Unauthorized"));
    return;
  }
  if (Status s = Impersonate(req, *authz_, *user); !s.ok()) {
    SendStatus(w, s);
    return;
  }
  if (path == "/version" || path == "/version/") {
    SendJson(w, 200, VersionDoc());
    return;
  }
  if (path == "/openapi/v2" || path == "/openapi/v3" || path.rfind("/openapi/", 0) == 0) {
    ServeOpenApi(req, w, cluster_->registry());
    return;
  }
  if (path == "/kubesim/v1/compact" && req.method == "POST") {
    // Test hook: forget history so that old continue tokens and watches get 410.
    RequestAttributes attrs{"create", "kubesim.dev", "compactions", "", "", ""};
    if (Status s = authz_->Authorize(*user, attrs); !s.ok()) {
      SendStatus(w, ApiError(403, "Forbidden", std::string(s.message())));
      return;
    }
    cluster_->store().Compact();
    SendJson(w, 200, StatusBody(absl::OkStatus()));
    return;
  }
  if (Status fault = InjectFault(); !fault.ok()) {
    Headers extra;
    if (ErrorInfo(fault).code == 429) extra["Retry-After"] = std::to_string(options_.faults.retry_after_seconds);
    SendStatus(w, fault, extra);
    return;
  }
  RequestInfo info = ParseRequestInfo(req);
  const Registry& reg = cluster_->registry();
  if (path == "/api" || path == "/api/") {
    SendJson(w, 200, ApiVersionsDoc(server_->address()));
    return;
  }
  if (path == "/apis" || path == "/apis/") {
    SendJson(w, 200, ApiGroupListDoc(reg));
    return;
  }
  if (!info.api_prefix.empty() && !info.is_resource_request) {
    std::optional<json::value> doc = info.version.empty() ? ApiGroupDoc(reg, info.group)
                                                          : ApiResourceListDoc(reg, info.group, info.version);
    if (doc) {
      SendJson(w, 200, *doc);
      return;
    }
  }
  if (!info.is_resource_request) {
    SendStatus(w, ApiError(404, "NotFound", "the server could not find the requested resource"));
    return;
  }
  ResourceRequest rr{cluster_, req, w, info, *user, authz_, options_};
  ServeResource(rr);
}

}  // namespace kubesim
