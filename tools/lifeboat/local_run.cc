#include "tools/lifeboat/local_run.h"

#include <cstdio>
#include <filesystem>

#include "lifeboat/storage/registry.h"

namespace lifeboat::cli {

StatusOr<LocalCluster> ConnectCluster(const ClusterFlags& flags) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto config,
                            kube::LoadRestConfig({.explicit_path = flags.kubeconfig,
                                                  .context = flags.context}));
  LocalCluster c;
  kube::RestClientOptions options;
  options.qps = flags.qps;
  options.burst = flags.burst;
  LIFEBOAT_ASSIGN_OR_RETURN(c.rest, kube::RestClient::Create(config, options));
  c.discovery = std::make_unique<kube::Discovery>(c.rest.get());
  c.client = std::make_unique<kube::DynamicClient>(c.rest.get(), c.discovery.get());
  if (auto exec = kube::PodExecutor::Create(config, nullptr); exec.ok()) c.exec = std::move(*exec);
  return c;
}

StatusOr<std::unique_ptr<storage::BackupStore>> OpenLocalBucket(const BucketFlags& flags) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(flags.bucket_dir) / flags.bucket, ec);
  storage::DriverParams params;
  params.config = {{"root", flags.bucket_dir}};
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, storage::NewObjectStore("local", params));
  return std::make_unique<storage::BackupStore>(
      std::shared_ptr<storage::ObjectStore>(std::move(store)), flags.bucket, flags.prefix);
}

int Fail(const Status& status, const std::string& context) {
  std::fprintf(stderr, "lifeboat: %s%s\n", context.empty() ? "" : (context + ": ").c_str(),
               std::string(status.message()).c_str());
  return 1;
}

}  // namespace lifeboat::cli
