#pragma once

// kubesim's HTTPS front end: authentication, authorization, fault injection, discovery,
// OpenAPI, and the REST verbs over Cluster, with kube-apiserver's wire formats (JSON, Table,
// watch streams, metav1.Status errors).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "kubesim/src/api/cluster.h"
#include "kubesim/src/pki/auth.h"
#include "lifeboat/http/server.h"

namespace kubesim {

// Faults a test can turn on to prove a client copes with a misbehaving API server.
struct FaultOptions {
  double rate_429 = 0;  // fraction of API requests answered 429 with Retry-After
  double rate_500 = 0;  // fraction answered 500
  int retry_after_seconds = 1;
  std::chrono::milliseconds latency{0};  // added to every API request
  std::chrono::milliseconds watch_drop_after{0};  // 0: never; else watches end after this long
  uint64_t seed = 0;  // 0: random
};

// Handles pods/<name>/exec (and attach) upgrades; set by the exec module.
using ExecHandler = std::function<void(lifeboat::http::Request&, lifeboat::http::ResponseWriter&,
                                       const std::string& ns, const std::string& pod)>;

struct ApiServerOptions {
  std::string listen = "127.0.0.1:0";
  lifeboat::http::TlsConfig tls;
  FaultOptions faults;
  ExecHandler exec;
};

class ApiServer {
 public:
  static StatusOr<std::unique_ptr<ApiServer>> Start(Cluster* cluster, const Authenticator* authn,
                                                    const Authorizer* authz,
                                                    ApiServerOptions options);
  ~ApiServer();
  std::string address() const { return server_->address(); }
  void Stop() { server_->Stop(); }

 private:
  ApiServer(Cluster* cluster, const Authenticator* authn, const Authorizer* authz,
            ApiServerOptions options);
  void Handle(lifeboat::http::Request& req, lifeboat::http::ResponseWriter& w);
  // A fault to inject for this request, or OK.
  Status InjectFault();

  Cluster* cluster_;
  const Authenticator* authn_;
  const Authorizer* authz_;
  ApiServerOptions options_;
  std::unique_ptr<lifeboat::http::Server> server_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace kubesim
