#pragma once

// Test-only: a kubesim (kubesim_process.h) with the clients a test needs against it — REST
// client without a client-side rate limit, discovery, dynamic client and pod executor.
//
//   auto c = KubesimCluster::Start();
//   ASSERT_TRUE(c.ok()) << c.status();
//   (*c)->client->Create(...);

#include <memory>
#include <string>
#include <vector>

#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/pod_exec.h"
#include "lifeboat/kube/rest_client.h"
#include "src/kube/testing/kubesim_process.h"

namespace lifeboat::kube::testing {

struct KubesimCluster {
  std::unique_ptr<KubesimProcess> kubesim;
  std::unique_ptr<RestClient> rest;
  std::unique_ptr<Discovery> discovery;
  std::unique_ptr<DynamicClient> client;
  std::unique_ptr<PodExecutor> exec;  // kubesim runs exec commands as local processes

  // Starts kubesim with `flags` and connects (the kubeconfig's admin context).
  static StatusOr<std::unique_ptr<KubesimCluster>> Start(const std::vector<std::string>& flags = {});
};

// Refreshes `discovery` until it serves `gvr` (a CRD just created becomes served once
// established); false if it never does within `attempts` tries 50 ms apart.
bool WaitUntilServed(Discovery& discovery, const GroupVersionResource& gvr, int attempts = 200);

}  // namespace lifeboat::kube::testing
