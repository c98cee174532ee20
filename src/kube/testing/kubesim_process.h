#pragma once

// Test-only: a real kubesim (the binary built in this tree) on a loopback port with a fresh
// data directory, for tests of the kube module against a real Kubernetes API over HTTPS.
//
//   auto k = KubesimProcess::Start({"--fault-429-rate", "0.3"});
//   RestConfig cfg = *LoadKubeconfig({.explicit_path = (*k)->kubeconfig()});

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lifeboat/common/status.h"

namespace lifeboat::kube::testing {

class KubesimProcess {
 public:
  // Starts kubesim with `flags` and waits until it has written its kubeconfig (≤ 20 s).
  static StatusOr<std::unique_ptr<KubesimProcess>> Start(const std::vector<std::string>& flags = {});
  ~KubesimProcess();  // SIGTERM, wait, remove the data directory

  const std::filesystem::path& data_dir() const { return dir_; }
  // Admin context (bearer token) and a "kubesim-viewer" context; the CA is embedded.
  std::filesystem::path kubeconfig() const { return dir_ / "kubeconfig"; }
  std::string server() const { return server_; }  // https://127.0.0.1:PORT
  std::filesystem::path ca_file() const { return dir_ / "pki" / "ca.crt"; }
  std::string admin_token() const { return admin_token_; }
  // Kills it (SIGKILL) and starts it again on the same data directory and flags (new port).
  Status Restart();

 private:
  KubesimProcess() = default;
  Status Launch();
  std::filesystem::path dir_;
  std::vector<std::string> flags_;
  int pid_ = -1;
  std::string server_;
  std::string admin_token_;
};

}  // namespace lifeboat::kube::testing
