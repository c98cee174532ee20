#pragma once

// Test-only: what a reconciler test needs — a kubesim with Velero's CRDs installed and the
// `velero` namespace created, a local-directory bucket root, and a ServerContext (location
// stores, metrics, clock) pointing at them.
//
//   auto f = ServerFixture::Start();
//   ASSERT_TRUE(f.ok()) << f.status();
//   ASSERT_TRUE((*f)->CreateLocalLocation("default", "bucket1").ok());
//   BackupReconciler r((*f)->ctx);

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/clock.h"
#include "lifeboat/common/velero_metrics.h"
#include "lifeboat/controller/context.h"
#include "lifeboat/controller/locations.h"
#include "src/kube/testing/kubesim_cluster.h"

namespace lifeboat::controller::testing {

struct ServerFixtureOptions {
  std::vector<std::string> kubesim_flags;
  Clock* clock = nullptr;  // null: RealClock()
};

class ServerFixture {
 public:
  static StatusOr<std::unique_ptr<ServerFixture>> Start(ServerFixtureOptions options = {});
  ~ServerFixture();  // removes the temporary directory

  // A BackupStorageLocation `name` (provider "local", bucket `bucket` under bucket_root(),
  // created if needed) in the server namespace.
  Status CreateLocalLocation(const std::string& name, const std::string& bucket,
                             bool is_default = true, const std::string& prefix = "");
  // Creates `obj` (its apiVersion/kind decide the resource) in its namespace (default: the
  // server's); returns it as stored.
  StatusOr<boost::json::value> Create(const kube::GroupVersionResource& gvr, boost::json::value obj);
  StatusOr<boost::json::value> Get(const kube::GroupVersionResource& gvr, const std::string& name,
                                   const std::string& ns = "velero");

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path bucket_root() const { return dir_ / "buckets"; }

  std::unique_ptr<kube::testing::KubesimCluster> cluster;
  std::unique_ptr<metrics::ServerMetrics> metrics;
  std::unique_ptr<LocationStores> stores;
  ServerContext ctx;  // client, discovery, exec, stores, metrics, clock; options.ns "velero"

 private:
  ServerFixture() = default;
  std::filesystem::path dir_;
};

}  // namespace lifeboat::controller::testing
