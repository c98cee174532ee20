#pragma once

// What `lifeboat backup run` and `lifeboat restore run` share: a connection to a cluster from a
// kubeconfig, and a local-directory bucket.

#include <memory>
#include <string>

#include "lifeboat/kube/config.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/pod_exec.h"
#include "lifeboat/storage/backup_store.h"

namespace lifeboat::cli {

struct ClusterFlags {
  std::string kubeconfig, context;
  double qps = 100;  // client-side rate limit (Velero's --client-qps / --client-burst)
  int burst = 200;
};

struct BucketFlags {
  std::string bucket_dir, bucket = "lifeboat", prefix;
};

struct LocalCluster {
  std::unique_ptr<kube::RestClient> rest;
  std::unique_ptr<kube::Discovery> discovery;
  std::unique_ptr<kube::DynamicClient> client;
  std::unique_ptr<kube::PodExecutor> exec;  // null when exec is unavailable
};

// Errors are printed to stderr by the caller.
StatusOr<LocalCluster> ConnectCluster(const ClusterFlags& flags);
StatusOr<std::unique_ptr<storage::BackupStore>> OpenLocalBucket(const BucketFlags& flags);

// Prints "lifeboat: <message>" to stderr and returns 1.
int Fail(const Status& status, const std::string& context = "");

}  // namespace lifeboat::cli
