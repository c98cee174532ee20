#include "kubesim/src/kubesim_main.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kubesim/src/api/defaults.h"
#include "kubesim/src/controllers/builtin.h"
#include "kubesim/src/controllers/snapshots/snapshots.h"
#include "kubesim/src/exec/exec.h"
#include "kubesim/src/pki/auth.h"
#include "kubesim/src/pki/pki.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/log.h"

namespace kubesim {
namespace {

namespace fs = std::filesystem;

class KubesimImpl : public Kubesim {
 public:
  std::string address() const override { return api_->address(); }
  std::string admin_token() const override { return tokens_.AdminToken(); }
  std::string viewer_token() const override { return tokens_.ViewerToken(); }
  std::string ca_pem() const override { return pki_.ca_cert_pem; }
  Cluster& cluster() override { return *cluster_; }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    // Any part may be missing when start-up failed half-way.
    if (api_) api_->Stop();
    if (controllers_) controllers_->Stop();
    if (!store_) return;
    if (Status s = store_->Checkpoint(); !s.ok()) LB_LOG_ERROR("kubesim: final checkpoint: {}", s.ToString());
  }
  ~KubesimImpl() override {
    Stop();
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the data directory
  }

  // One kubesim per data directory: a second one would read the log while the first rewrites
  // it. The lock is held until the final checkpoint is written (the process's end).
  Status LockDataDir(const fs::path& dir) {
    const fs::path path = dir / "kubesim.lock";
    lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) {
      return absl::InternalError("opening " + path.string() + ": " + std::strerror(errno));
    }
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return absl::FailedPreconditionError("--data-dir " + dir.string() +
                                           " is in use by another kubesim (" + path.string() +
                                           " is locked); stop it first");
    }
    return absl::OkStatus();
  }

  Pki pki_;
  TokenFile tokens_;
  std::unique_ptr<Authenticator> authn_;
  std::unique_ptr<Authorizer> authz_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<ControllerRunner> controllers_;
  std::unique_ptr<ExecService> exec_;
  std::unique_ptr<ApiServer> api_;
  bool stopped_ = false;
  int lock_fd_ = -1;
};

}  // namespace

std::string KubeconfigYaml(const std::string& server, const std::string& ca_pem,
                           const std::string& admin_token, const std::string& viewer_token) {
  const std::string ca = Base64Encode(ca_pem);
  return "apiVersion: v1\n"
         "kind: Config\n"
         "clusters:\n"
         "- name: kubesim\n"
         "  cluster:\n"
         "    server: " + server + "\n"
         "    certificate-authority-data: " + ca + "\n"
         "users:\n"
         "- name: kubesim-admin\n"
         "  user:\n"
         "    token: " + admin_token + "\n"
         "- name: kubesim-viewer\n"
         "  user:\n"
         "    token: " + viewer_token + "\n"
         "contexts:\n"
         "- name: kubesim\n"
         "  context:\n"
         "    cluster: kubesim\n"
         "    user: kubesim-admin\n"
         "    namespace: default\n"
         "- name: kubesim-viewer\n"
         "  context:\n"
         "    cluster: kubesim\n"
         "    user: kubesim-viewer\n"
         "    namespace: default\n"
         "current-context: kubesim\n"
         "preferences: {}\n";
}

StatusOr<std::unique_ptr<Kubesim>> StartKubesim(const MainOptions& options) {
  auto k = std::make_unique<KubesimImpl>();
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) return absl::InvalidArgumentError("cannot create --data-dir " + options.data_dir.string() + ": " + ec.message());
  LIFEBOAT_RETURN_IF_ERROR(k->LockDataDir(options.data_dir));
  LIFEBOAT_ASSIGN_OR_RETURN(
      k->pki_, LoadOrCreatePki(options.data_dir / "pki",
                               {"127.0.0.1", "::1", "localhost", "kubernetes", "kubernetes.default",
                                "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.96.0.1"}));
  LIFEBOAT_ASSIGN_OR_RETURN(k->tokens_, EnsureTokenFile(options.data_dir));
  k->authn_ = std::make_unique<Authenticator>(k->tokens_);
  k->authz_ = std::make_unique<Authorizer>(options.authorization == "ReadOnlyViewer"
                                               ? AuthorizationMode::kReadOnlyViewer
                                               : AuthorizationMode::kAlwaysAllow);
  LIFEBOAT_ASSIGN_OR_RETURN(k->store_, Store::Open({.dir = options.data_dir / "state",
                                                    .fresh = options.fresh,
                                                    .sync = options.sync}));
  k->registry_ = std::make_unique<Registry>();
  k->cluster_ = std::make_unique<Cluster>(k->store_.get(), k->registry_.get(), Cluster::Options{});
  LIFEBOAT_RETURN_IF_ERROR(Annotate(k->cluster_->Bootstrap(), "bootstrapping the cluster"));
  LIFEBOAT_RETURN_IF_ERROR(Annotate(snapshots::EnsureSnapshotApi(*k->cluster_), "installing the snapshot API"));
  const fs::path snapshot_dir = options.snapshot_dir.empty() ? options.data_dir / "snapshots" : options.snapshot_dir;
  fs::create_directories(snapshot_dir, ec);
  if (ec) return absl::InvalidArgumentError("cannot create --snapshot-dir " + snapshot_dir.string() + ": " + ec.message());
  if (options.controllers) {
    k->controllers_ = std::make_unique<ControllerRunner>(k->store_.get(), options.controller_resync);
    AddBuiltinControllers(*k->controllers_, ControllerContext{.cluster = k->cluster_.get(),
                                                               .data_dir = options.data_dir,
                                                               .snapshot_dir = snapshot_dir,
                                                               .ca_pem = k->pki_.ca_cert_pem,
                                                               .nodes = options.nodes});
    k->controllers_->Start();
  }
  k->exec_ = std::make_unique<ExecService>(k->cluster_.get(), options.data_dir,
                                          options.exec_websocket_protocols);
  ApiServerOptions api;
  api.listen = options.listen;
  api.tls = lifeboat::http::TlsConfig{k->pki_.server_cert_pem, k->pki_.server_key_pem, k->pki_.ca_cert_pem};
  api.faults = options.faults;
  ExecService* exec = k->exec_.get();
  api.exec = [exec](lifeboat::http::Request& req, lifeboat::http::ResponseWriter& w, const std::string& ns,
                    const std::string& pod) { exec->Handle(req, w, ns, pod); };
  LIFEBOAT_ASSIGN_OR_RETURN(k->api_, ApiServer::Start(k->cluster_.get(), k->authn_.get(), k->authz_.get(), std::move(api)));
  if (!options.kubeconfig.empty()) {
    std::string text = KubeconfigYaml("https://" + k->api_->address(), k->pki_.ca_cert_pem,
                                      k->tokens_.AdminToken(), k->tokens_.ViewerToken());
    LIFEBOAT_RETURN_IF_ERROR(Annotate(lifeboat::WriteFileAtomically(options.kubeconfig, text, 0600),
                                      "writing the kubeconfig"));
  }
  LB_LOG_INFO("kubesim: serving https://{} (data dir {})", k->api_->address(), options.data_dir.string());
  return std::unique_ptr<Kubesim>(std::move(k));
}

}  // namespace kubesim
