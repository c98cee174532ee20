#include "src/kube/testing/kubesim_cluster.h"

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

}  // namespace lifeboat::kube::testing
