#pragma once

// Pod exec, attach and log for kubesim: `kubectl exec` over WebSocket (channel.k8s.io,
// v4/v5.channel.k8s.io), running the command as a local process in the pod's root directory.
// The command's environment has KUBESIM_ROOT=<data_dir>/kubelet/pods/<uid>/containers/<name>,
// where the kubelet links each volumeMount of the container (mountPath /data ->
// $KUBESIM_ROOT/data), plus PATH, HOME, POD_NAME, POD_NAMESPACE, CONTAINER and HOSTNAME.
// It runs local commands, so it serves authenticated callers on loopback only.

#include <filesystem>
#include <string>
#include <vector>

#include "kubesim/src/api/cluster.h"
#include "lifeboat/http/server.h"

namespace kubesim {

class ExecService {
 public:
  // `websocket_protocols`: the channel.k8s.io subprotocols to accept; empty accepts all.
  ExecService(Cluster* cluster, std::filesystem::path data_dir,
              std::vector<std::string> websocket_protocols = {});
  ~ExecService();
  // Serves GET/POST .../pods/<pod>/exec (WebSocket upgrade), .../attach and .../log.
  void Handle(lifeboat::http::Request& req, lifeboat::http::ResponseWriter& w,
              const std::string& ns, const std::string& pod);

 private:
  Cluster* cluster_;
  std::filesystem::path data_dir_;
  std::vector<std::string> websocket_protocols_;
};

}  // namespace kubesim
