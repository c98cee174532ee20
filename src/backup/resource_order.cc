#include "src/backup/resource_order.h"

#include <algorithm>
#include <map>
#include <set>

namespace lifeboat::backup {
namespace {

bool Backupable(const kube::ApiResource& r) {
  return r.HasVerb("list") && r.HasVerb("create") && r.HasVerb("get") && r.HasVerb("delete");
}

int CorePriority(const std::string& name) {
  if (name == "pods") return 0;
  if (name == "persistentvolumeclaims") return 1;
  if (name == "persistentvolumes") return 2;
  return 3;
}

// Resources served by two groups at once; Velero lists them from the first group it meets.
bool Cohabiting(const std::string& resource) {
  static const std::set<std::string> kNames = {"deployments", "daemonsets", "replicasets",
                                               "networkpolicies", "events"};
  return kNames.count(resource) > 0;
}

}  // namespace

std::string GroupResource(const kube::ApiResource& r) {
  return r.group.empty() ? r.name : r.name + "." + r.group;
}

std::vector<kube::ApiResource> BackupOrder(const std::vector<kube::ApiGroup>& groups,
                                           const std::vector<kube::ApiResource>& resources) {
  std::vector<const kube::ApiGroup*> order;
  for (const auto& g : groups) {
    if (g.name != "extensions") order.push_back(&g);
  }
  for (const auto& g : groups) {
    if (g.name == "extensions") order.push_back(&g);
  }
  std::vector<kube::ApiResource> out;
  std::set<std::string> cohabitants_seen;
  for (const kube::ApiGroup* g : order) {
    std::vector<kube::ApiResource> mine;
    for (const auto& r : resources) {
      if (r.group == g->name && r.version == g->preferred_version && Backupable(r)) mine.push_back(r);
    }
    if (g->name.empty()) {
      std::stable_sort(mine.begin(), mine.end(), [](const auto& a, const auto& b) {
        return CorePriority(a.name) < CorePriority(b.name);
      });
    }
    for (auto& r : mine) {
      if (Cohabiting(r.name) && !cohabitants_seen.insert(r.name).second) continue;
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace lifeboat::backup
