#include "src/kube/testing/kubesim_cluster.h"

#include <chrono>
#include <thread>

#include "lifeboat/kube/config.h"

namespace lifeboat::kube::testing {

StatusOr<std::unique_ptr<KubesimCluster>> KubesimCluster::Start(
    const std::vector<std::string>& flags) {
  auto c = std::make_unique<KubesimCluster>();
  LIFEBOAT_ASSIGN_OR_RETURN(c->kubesim, KubesimProcess::Start(flags));
  LIFEBOAT_ASSIGN_OR_RETURN(RestConfig config,
                            LoadKubeconfig({.explicit_path = c->kubesim->kubeconfig()}));
  RestClientOptions options;
  options.qps = 0;
  LIFEBOAT_ASSIGN_OR_RETURN(c->rest, RestClient::Create(config, options));
  c->discovery = std::make_unique<Discovery>(c->rest.get());
  c->client = std::make_unique<DynamicClient>(c->rest.get(), c->discovery.get());
  LIFEBOAT_ASSIGN_OR_RETURN(c->exec, PodExecutor::Create(config, nullptr));
  return c;
}

bool WaitUntilServed(Discovery& discovery, const GroupVersionResource& gvr, int attempts) {
  for (int i = 0; i < attempts; ++i) {
    if (discovery.Refresh().ok() && discovery.ResourceFor(gvr).ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace lifeboat::kube::testing
