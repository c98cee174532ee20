#include "src/restore/priorities.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lifeboat/restore/restorer.h"

namespace lifeboat::restore {

std::vector<std::string> DefaultHighPriorities() {
  return {"customresourcedefinitions",
          "namespaces",
          "storageclasses",
          "volumesnapshotclass.snapshot.storage.k8s.io",
          "volumesnapshotcontents.snapshot.storage.k8s.io",
          "volumesnapshots.snapshot.storage.k8s.io",
          "datauploads.velero.io",
          "persistentvolumes",
          "persistentvolumeclaims",
          "clusterroles",
          "roles",
          "serviceaccounts",
          "clusterrolebindings",
          "rolebindings",
          "secrets",
          "configmaps",
          "limitranges",
          "priorityclasses",
          "pods",
          "replicasets.apps",
          "clusterclasses.cluster.x-k8s.io",
          "endpoints",
          "services"};
}

std::vector<std::string> DefaultLowPriorities() {
  return {"clusterbootstraps.run.tanzu.vmware.com", "clusters.cluster.x-k8s.io",
          "clusterresourcesets.addons.cluster.x-k8s.io", "apps.kappctrl.k14s.io",
          "packageinstalls.packaging.carvel.dev"};
}

std::vector<std::string> RestoreOrder(const std::vector<std::string>& present,
                                      const std::vector<std::string>& high,
                                      const std::vector<std::string>& low,
                                      const PriorityResolver& resolve) {
  std::set<std::string> remaining(present.begin(), present.end());
  remaining.erase(std::string(kCrdResource));
  auto canonical = [&](const std::string& entry) {
    std::optional<std::string> r = resolve ? resolve(entry) : std::nullopt;
    return r.value_or(entry);
  };
  std::vector<std::string> out;
  auto take = [&](const std::string& gr) {
    if (remaining.erase(gr) > 0) out.push_back(gr);
  };
  std::vector<std::string> low_resolved;
  for (const auto& entry : low) low_resolved.push_back(canonical(entry));
  for (const auto& entry : high) take(canonical(entry));
  std::set<std::string> low_set(low_resolved.begin(), low_resolved.end());
  std::vector<std::string> middle;
  for (const auto& gr : remaining) {
    if (low_set.count(gr) == 0) middle.push_back(gr);  // std::set: already alphabetical
  }
  for (const auto& gr : middle) take(gr);
  for (const auto& gr : low_resolved) take(gr);
  return out;
}

void ParsePriorities(std::string_view text, std::vector<std::string>* high,
                     std::vector<std::string>* low) {
  high->clear();
  low->clear();
  bool in_low = false;
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;
    if (part == "-") {
      in_low = true;
      continue;
    }
    (in_low ? low : high)->push_back(std::string(part));
  }
}

}  // namespace lifeboat::restore
