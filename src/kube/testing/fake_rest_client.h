#pragma once

// Test-only: a RestClient that serves canned or computed answers, for unit tests of code built
// on the transport (discovery, dynamic client, pager, watch, informer). Handlers are keyed by
// method and path; streaming handlers call request.on_body themselves. Every request is
// recorded (without its callback).
//
// Thread safety: Do() may be called from any thread; handlers are called without the lock.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "lifeboat/kube/rest_client.h"

namespace lifeboat::kube::testing {

class FakeRestClient : public RestClient {
 public:
  using Handler = std::function<StatusOr<RestResponse>(const RestRequest&)>;

  struct Recorded {
    std::string method, path, content_type, body;
    std::vector<std::pair<std::string, std::string>> query;
    bool streaming = false;
    std::optional<std::string> Query(const std::string& key) const {
      for (const auto& [k, v] : query) {
        if (k == key) return v;
      }
      return std::nullopt;
    }
  };

  void On(const std::string& method, const std::string& path, Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    handlers_[{method, path}] = std::move(handler);
  }
  void OnJson(const std::string& method, const std::string& path, std::string body) {
    On(method, path, [body = std::move(body)](const RestRequest&) { return Json(body); });
  }
  void Remove(const std::string& method, const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    handlers_.erase({method, path});
  }

  StatusOr<RestResponse> Do(const RestRequest& request) override {
    Handler handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back({request.method, request.path, request.content_type, request.body,
                           request.query, static_cast<bool>(request.on_body)});
      auto it = handlers_.find({request.method, request.path});
      if (it == handlers_.end()) {
        return Error(404, "NotFound", "fake: no handler for " + request.method + " " + request.path);
      }
      handler = it->second;
    }
    StatusOr<RestResponse> response = handler(request);
    // As the real client: a streamed request gets a 2xx body through on_body, not buffered
    // (handlers of watches call on_body themselves and return no body).
    if (response.ok() && request.on_body && response->status >= 200 && response->status < 300 &&
        !response->body.empty()) {
      request.on_body(response->body);
      response->body.clear();
    }
    return response;
  }

  const RestConfig& config() const override { return config_; }

  std::vector<Recorded> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<Recorded> RequestsTo(const std::string& method, const std::string& path) const {
    std::vector<Recorded> out;
    for (auto& r : requests()) {
      if (r.method == method && r.path == path) out.push_back(r);
    }
    return out;
  }
  void ClearRequests() {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.clear();
  }

  static StatusOr<RestResponse> Json(std::string body, int status = 200) {
    RestResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace_back("Content-Type", "application/json");
    return r;
  }

  // The Status RestClient returns for an HTTP error (codes as in rest_client.h), built without
  // the real client's StatusFromResponse so these tests do not depend on it.
  static Status Error(int http_code, const std::string& reason, const std::string& message) {
    switch (http_code) {
      case 400:
      case 422:
        return absl::InvalidArgumentError(message);
      case 401:
        return absl::UnauthenticatedError(message);
      case 403:
        return absl::PermissionDeniedError(message);
      case 404:
        return absl::NotFoundError(message);
      case 409:
        return reason == "Conflict" ? absl::AbortedError(message) : absl::AlreadyExistsError(message);
      case 410:
        return absl::OutOfRangeError(message);
      case 429:
      case 500:
      case 502:
      case 503:
      case 504:
        return absl::UnavailableError(message);
      default:
        return absl::InternalError(message);
    }
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Handler> handlers_;
  std::vector<Recorded> requests_;
  RestConfig config_;
};

// A small cluster's discovery documents: core v1 (configmaps, pods with status, namespaces,
// events), apps/v1 (deployments with short name "deploy", status and scale), autoscaling with
// preferred v2 and v1, events.k8s.io/v1 (events), and metrics.k8s.io/v1beta1 which answers 503.
inline void AddDiscovery(FakeRestClient& fake) {
  fake.OnJson("GET", "/api", R"({"kind":"APIVersions","versions":["v1"]})");
  fake.OnJson("GET", "/apis", R"({"kind":"APIGroupList","groups":[
    {"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],
     "preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},
    {"name":"autoscaling","versions":[{"groupVersion":"autoscaling/v1","version":"v1"},
     {"groupVersion":"autoscaling/v2","version":"v2"}],
     "preferredVersion":{"groupVersion":"autoscaling/v2","version":"v2"}},
    {"name":"events.k8s.io","versions":[{"groupVersion":"events.k8s.io/v1","version":"v1"}],
     "preferredVersion":{"groupVersion":"events.k8s.io/v1","version":"v1"}},
    {"name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],
     "preferredVersion":{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}}]})");
  fake.OnJson("GET", "/api/v1", R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
    {"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap",
     "verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["cm"]},
    {"name":"events","singularName":"event","namespaced":true,"kind":"Event","verbs":["get","list"],"shortNames":["ev"]},
    {"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace",
     "verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["ns"]},
    {"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod",
     "verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["po"],"categories":["all"]},
    {"name":"pods/status","singularName":"","namespaced":true,"kind":"Pod","verbs":["get","patch","update"]}]})");
  fake.OnJson("GET", "/apis/apps/v1", R"({"kind":"APIResourceList","groupVersion":"apps/v1","resources":[
    {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment",
     "verbs":["create","delete","deletecollection","get","list","patch","update","watch"],
     "shortNames":["deploy"],"categories":["all"]},
    {"name":"deployments/scale","singularName":"","namespaced":true,"group":"autoscaling","version":"v1",
     "kind":"Scale","verbs":["get","patch","update"]},
    {"name":"deployments/status","singularName":"","namespaced":true,"kind":"Deployment","verbs":["get","patch","update"]}]})");
  fake.OnJson("GET", "/apis/autoscaling/v2", R"({"kind":"APIResourceList","groupVersion":"autoscaling/v2","resources":[
    {"name":"horizontalpodautoscalers","singularName":"horizontalpodautoscaler","namespaced":true,
     "kind":"HorizontalPodAutoscaler","verbs":["get","list"],"shortNames":["hpa"]}]})");
  fake.OnJson("GET", "/apis/autoscaling/v1", R"({"kind":"APIResourceList","groupVersion":"autoscaling/v1","resources":[
    {"name":"horizontalpodautoscalers","singularName":"horizontalpodautoscaler","namespaced":true,
     "kind":"HorizontalPodAutoscaler","verbs":["get","list"],"shortNames":["hpa"]}]})");
  fake.OnJson("GET", "/apis/events.k8s.io/v1", R"({"kind":"APIResourceList","groupVersion":"events.k8s.io/v1","resources":[
    {"name":"events","singularName":"event","namespaced":true,"kind":"Event","verbs":["get","list"],"shortNames":["ev"]}]})");
  fake.On("GET", "/apis/metrics.k8s.io/v1beta1", [](const RestRequest&) -> StatusOr<RestResponse> {
    return FakeRestClient::Error(503, "ServiceUnavailable", "the server is currently unable to handle the request");
  });
}

}  // namespace lifeboat::kube::testing
