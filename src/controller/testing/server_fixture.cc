#include "src/controller/testing/server_fixture.h"

#include <stdlib.h>

#include <chrono>
#include <thread>

#include "lifeboat/api/crds.h"
#include "lifeboat/controller/kinds.h"

namespace lifeboat::controller::testing {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {
const kube::GroupVersionResource kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions"};
const kube::GroupVersionResource kNamespaces{"", "v1", "namespaces"};
}  // namespace

StatusOr<std::unique_ptr<ServerFixture>> ServerFixture::Start(ServerFixtureOptions options) {
  std::unique_ptr<ServerFixture> f(new ServerFixture());
  std::string tmpl = (fs::temp_directory_path() / "lifeboat-controller-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  f->dir_ = tmpl;
  fs::create_directories(f->bucket_root());
  LIFEBOAT_ASSIGN_OR_RETURN(f->cluster, kube::testing::KubesimCluster::Start(options.kubesim_flags));
  auto& client = *f->cluster->client;
  for (const auto& crd : api::VeleroCustomResourceDefinitions()) {
    LIFEBOAT_RETURN_IF_ERROR(client.Create(kCrds, "", crd).status());
  }
  json::value ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "velero"}}}};
  LIFEBOAT_RETURN_IF_ERROR(client.Create(kNamespaces, "", ns).status());
  // Wait until every velero.io resource is served.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    (void)f->cluster->discovery->Refresh();
    bool all = true;
    for (const auto* gvr : {&kBackups, &kRestores, &kSchedules, &kBackupStorageLocations,
                            &kVolumeSnapshotLocations, &kDeleteBackupRequests, &kDownloadRequests,
                            &kServerStatusRequests}) {
      if (!f->cluster->discovery->ResourceFor(*gvr).ok()) all = false;
    }
    if (all) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError("the velero.io CRDs were not served within 30 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Clock* clock = options.clock ? options.clock : &RealClock();
  f->metrics = std::make_unique<metrics::ServerMetrics>(*clock);
  LocationStoresOptions so;
  so.ns = "velero";
  so.credentials_dir = f->dir_ / "credentials";
  so.clock = clock;
  so.retry.max_attempts = 2;
  so.retry.initial_backoff = std::chrono::milliseconds(10);
  f->stores = std::make_unique<LocationStores>(&client, so);
  f->ctx.client = &client;
  f->ctx.discovery = f->cluster->discovery.get();
  f->ctx.exec = f->cluster->exec.get();
  f->ctx.stores = f->stores.get();
  f->ctx.metrics = f->metrics.get();
  f->ctx.clock = clock;
  f->ctx.options.ns = "velero";
  f->ctx.options.identity = "test-server";
  f->ctx.options.temp_dir = f->dir_ / "tmp";
  fs::create_directories(f->ctx.options.temp_dir);
  return f;
}

ServerFixture::~ServerFixture() {
  cluster.reset();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

Status ServerFixture::CreateLocalLocation(const std::string& name, const std::string& bucket,
                                          bool is_default, const std::string& prefix) {
  std::error_code ec;
  fs::create_directories(bucket_root() / bucket, ec);
  json::object storage = {{"bucket", bucket}};
  if (!prefix.empty()) storage["prefix"] = prefix;
  json::value bsl = {
      {"apiVersion", "velero.io/v1"},
      {"kind", "BackupStorageLocation"},
      {"metadata", {{"name", name}, {"namespace", "velero"}}},
      {"spec",
       {{"provider", "local"},
        {"default", is_default},
        {"objectStorage", storage},
        {"config", {{"root", bucket_root().string()}}}}}};
  return Create(kBackupStorageLocations, std::move(bsl)).status();
}

StatusOr<json::value> ServerFixture::Create(const kube::GroupVersionResource& gvr, json::value obj) {
  std::string ns = "velero";
  if (const auto* m = obj.as_object().if_contains("metadata"); m && m->is_object()) {
    if (const auto* n = m->as_object().if_contains("namespace"); n && n->is_string()) {
      ns = std::string(n->as_string());
    }
  }
  return cluster->client->Create(gvr, ns, obj);
}

StatusOr<json::value> ServerFixture::Get(const kube::GroupVersionResource& gvr,
                                         const std::string& name, const std::string& ns) {
  return cluster->client->Get(gvr, ns, name);
}

}  // namespace lifeboat::controller::testing
