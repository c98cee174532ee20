#pragma once

// Assembles a running kubesim: data directory, certificates, tokens, store, API, controllers
// and the HTTPS server. Tests start one in-process with StartKubesim.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kubesim/src/server/api_server.h"
#include "lifeboat/common/status.h"

namespace kubesim {

struct MainOptions {
  std::filesystem::path data_dir;
  // Where CSI snapshots (of hostpath.csi.kubesim.io) are kept; kubesims given the same
  // directory share them. Empty: <data_dir>/snapshots.
  std::filesystem::path snapshot_dir;
  std::string listen = "127.0.0.1:0";
  std::filesystem::path kubeconfig;  // empty: not written
  bool fresh = false;
  bool sync = false;
  std::string authorization = "AlwaysAllow";
  // WebSocket subprotocols pod exec accepts (empty: all kubesim speaks). Limiting it to
  // v4.channel.k8s.io stands in for an API server older than 1.30.
  std::vector<std::string> exec_websocket_protocols;
  int nodes = 3;
  FaultOptions faults;
  bool controllers = true;
  // How often every controller reconciles every object it watches, changed or not (the
  // informer resync of kube-controller-manager). Benchmarks lengthen it: kubesim's controllers
  // share its process and CPU, which a real API server's do not.
  std::chrono::seconds controller_resync{30};
};

class Kubesim {
 public:
  virtual ~Kubesim() = default;
  virtual std::string address() const = 0;  // "127.0.0.1:port"
  virtual std::string admin_token() const = 0;
  virtual std::string viewer_token() const = 0;
  virtual std::string ca_pem() const = 0;
  virtual Cluster& cluster() = 0;
  // Stops serving, stops controllers and checkpoints the store. Idempotent.
  virtual void Stop() = 0;
};

StatusOr<std::unique_ptr<Kubesim>> StartKubesim(const MainOptions& options);

// The kubeconfig text for a kubesim at `server` ("https://127.0.0.1:port"): contexts "kubesim"
// (admin) and "kubesim-viewer", current context "kubesim".
std::string KubeconfigYaml(const std::string& server, const std::string& ca_pem,
                           const std::string& admin_token, const std::string& viewer_token);

}  // namespace kubesim
