#pragma once

// Test-only: an in-memory native snapshot provider. Snapshots live in a FakeSnapshotCloud shared
// by every snapshotter the factory makes (as a cloud account is); DeleteSnapshot calls are
// recorded and can be made to fail per snapshot ID. The snapshotter also implements
// plugin::SnapshotLister.
//
//   auto cloud = std::make_shared<FakeSnapshotCloud>();
//   ctx.snapshotters = FakeSnapshotterFactory(cloud);  // provider "fake"; others NotFound

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lifeboat/plugin/volume_snapshotter.h"

namespace lifeboat::controller::testing {

struct FakeSnapshotCloud {
  std::mutex mu;
  // location (config "region") -> snapshot ID -> tags
  std::map<std::string, std::map<std::string, std::map<std::string, std::string>>> snapshots;
  std::vector<std::string> deleted;  // DeleteSnapshot calls, in order
  std::set<std::string> fail_delete;  // IDs whose deletion fails (Internal)
  bool fail_list = false;

  void Add(const std::string& region, const std::string& id,
           std::map<std::string, std::string> tags) {
    std::lock_guard<std::mutex> l(mu);
    snapshots[region][id] = std::move(tags);
  }
  bool Has(const std::string& region, const std::string& id) {
    std::lock_guard<std::mutex> l(mu);
    return snapshots[region].count(id) > 0;
  }
  std::vector<std::string> Deleted() {
    std::lock_guard<std::mutex> l(mu);
    return deleted;
  }
};

class FakeVolumeSnapshotter : public plugin::VolumeSnapshotter, public plugin::SnapshotLister {
 public:
  FakeVolumeSnapshotter(std::shared_ptr<FakeSnapshotCloud> cloud, std::string region)
      : cloud_(std::move(cloud)), region_(std::move(region)) {}

  StatusOr<std::string> GetVolumeId(const boost::json::value&) override { return std::string(); }
  StatusOr<boost::json::value> SetVolumeId(boost::json::value pv, const std::string&) override {
    return pv;
  }
  StatusOr<plugin::VolumeInfo> GetVolumeInfo(const std::string&, const std::string&) override {
    return plugin::VolumeInfo{};
  }
  StatusOr<std::string> CreateSnapshot(const std::string& volume_id, const std::string&,
                                       const std::map<std::string, std::string>& tags) override {
    std::string id = "snap-of-" + volume_id;
    cloud_->Add(region_, id, tags);
    return id;
  }
  StatusOr<std::string> CreateVolumeFromSnapshot(const std::string& snapshot_id,
                                                 const std::string&, const std::string&,
                                                 std::optional<int64_t>) override {
    return "vol-from-" + snapshot_id;
  }
  Status DeleteSnapshot(const std::string& snapshot_id) override {
    std::lock_guard<std::mutex> l(cloud_->mu);
    cloud_->deleted.push_back(snapshot_id);
    if (cloud_->fail_delete.count(snapshot_id)) {
      return absl::InternalError("the cloud refuses to delete " + snapshot_id);
    }
    cloud_->snapshots[region_].erase(snapshot_id);
    return absl::OkStatus();
  }
  StatusOr<std::vector<plugin::ListedSnapshot>> ListSnapshots(
      const std::map<std::string, std::string>& tags) override {
    std::lock_guard<std::mutex> l(cloud_->mu);
    if (cloud_->fail_list) return absl::UnavailableError("listing is down");
    std::vector<plugin::ListedSnapshot> out;
    for (const auto& [id, t] : cloud_->snapshots[region_]) {
      bool match = true;
      for (const auto& [k, v] : tags) {
        auto it = t.find(k);
        match = match && it != t.end() && it->second == v;
      }
      if (match) out.push_back({id, t});
    }
    return out;
  }

 private:
  std::shared_ptr<FakeSnapshotCloud> cloud_;
  std::string region_;
};

// Provider "fake" (config "region" selects the snapshot set); any other provider: NotFound.
inline plugin::VolumeSnapshotterFactory FakeSnapshotterFactory(
    std::shared_ptr<FakeSnapshotCloud> cloud) {
  return [cloud](const std::string& provider, const std::map<std::string, std::string>& config)
             -> StatusOr<std::unique_ptr<plugin::VolumeSnapshotter>> {
    if (provider != "fake") return absl::NotFoundError("unknown provider " + provider);
    auto it = config.find("region");
    return std::make_unique<FakeVolumeSnapshotter>(cloud, it == config.end() ? "" : it->second);
  };
}

}  // namespace lifeboat::controller::testing

#include <chrono>
#include <thread>

#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"

namespace lifeboat::controller::testing {

// Installs the snapshot.storage.k8s.io/v1 VolumeSnapshotContent CRD (schema-less, with the
// status subresource) unless the cluster already serves it, and waits until it is served.
inline Status EnsureVolumeSnapshotContentCrd(kube::DynamicClient& client,
                                             kube::Discovery& discovery) {
  const kube::GroupVersionResource vsc{"snapshot.storage.k8s.io", "v1", "volumesnapshotcontents"};
  (void)discovery.Refresh();
  if (discovery.ResourceFor(vsc).ok()) return absl::OkStatus();
  const kube::GroupVersionResource crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions"};
  boost::json::value crd = {
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", "volumesnapshotcontents.snapshot.storage.k8s.io"}}},
      {"spec",
       {{"group", "snapshot.storage.k8s.io"},
        {"scope", "Cluster"},
        {"names",
         {{"plural", "volumesnapshotcontents"},
          {"singular", "volumesnapshotcontent"},
          {"kind", "VolumeSnapshotContent"},
          {"listKind", "VolumeSnapshotContentList"}}},
        {"versions", boost::json::array{boost::json::value{
                         {"name", "v1"},
                         {"served", true},
                         {"storage", true},
                         {"subresources", {{"status", boost::json::object{}}}},
                         {"schema",
                          {{"openAPIV3Schema",
                            {{"type", "object"},
                             {"x-kubernetes-preserve-unknown-fields", true}}}}}}}}}}};
  auto created = client.Create(crds, "", crd);
  if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    (void)discovery.Refresh();
    if (discovery.ResourceFor(vsc).ok()) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError("volumesnapshotcontents not served within 30 s");
}

}  // namespace lifeboat::controller::testing
