#pragma once

#include <filesystem>
#include <string>

#include "kubesim/src/api/cluster.h"

namespace kubesim {

// What the built-in controllers are given.
struct ControllerContext {
  Cluster* cluster = nullptr;
  std::filesystem::path data_dir;  // pods' kubelet dirs and PV dirs live under it
  // CSI snapshots of hostpath.csi.kubesim.io (may be shared by several kubesims); empty:
  // <data_dir>/snapshots.
  std::filesystem::path snapshot_dir;
  std::string ca_pem;              // published in every namespace's kube-root-ca.crt
  int nodes = 3;                   // simulated nodes: kubesim-node-1..N
};

}  // namespace kubesim
