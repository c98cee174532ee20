#pragma once

// The index of an extracted backup tarball (Velero §6.3 step 1): which resources it holds, in
// which version directories, which namespaces, and the item files' names — never the items
// themselves, which are read one at a time when restored. Plus Velero's API-group-version choice
// (§6.11): which directory of a resource to restore from, given what the target cluster serves.
//
// Thread safety: a BackupContents is immutable after Scan; every method is const and may be
// called from any thread.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/status.h"

namespace lifeboat::restore {

struct ResourceDirs {
  std::string group_resource;  // "deployments.apps", "pods"
  std::string group;           // "apps", "" for core
  std::string resource;        // "deployments"
  std::string preferred_version;  // from "<v>-preferredversion"; "" in format-1 backups
  std::vector<std::string> other_versions;  // other version directories ("v2beta2")
};

class BackupContents {
 public:
  // Scans <root>/resources and reads <root>/metadata/version. FailedPrecondition for a format
  // version this restore does not know (major version other than 1), DataLoss for a missing
  // resources/ tree or metadata/version.
  // `preferred_versions` (group-resource -> version) adds what the "<v>-preferredversion"
  // directories would say when they were not extracted: they hold the same bytes as the
  // unversioned layout, which is what a restore reads for the backup's preferred version.
  static StatusOr<BackupContents> Scan(
      const std::filesystem::path& root,
      const std::map<std::string, std::string>& preferred_versions = {});

  const std::string& format_version() const { return format_version_; }
  const std::map<std::string, ResourceDirs>& resources() const { return resources_; }
  // Every namespace that has items in the backup (unversioned layout) or a Namespace object.
  const std::vector<std::string>& namespaces() const { return namespaces_; }

  // `version_dir`: "" (unversioned, the backup's preferred version) or a version directory as
  // returned by ChooseVersionDir. Names of namespaces with items, sorted.
  std::vector<std::string> ItemNamespaces(std::string_view gr, std::string_view version_dir) const;
  // Item names (file names without ".json") of one namespace ("" for cluster-scoped), sorted.
  std::vector<std::string> ItemNames(std::string_view gr, std::string_view version_dir,
                                     std::string_view ns) const;
  // Number of items in the unversioned layout (the restore's estimate of its total).
  int64_t CountItems() const;
  std::filesystem::path ItemFile(std::string_view gr, std::string_view version_dir,
                                 std::string_view ns, std::string_view name) const;

 private:
  std::filesystem::path Dir(std::string_view gr, std::string_view version_dir) const;
  std::filesystem::path root_;
  std::string format_version_;
  std::map<std::string, ResourceDirs> resources_;
  std::vector<std::string> namespaces_;
};

// Kubernetes version priority: GA before beta before alpha, higher numbers first, then other
// strings alphabetically ("v2" > "v1" > "v1beta2" > "v1beta1" > "v1alpha1" > "foo").
bool VersionPriorityLess(std::string_view a, std::string_view b);  // a sorts before b

// Velero's version choice (§6.11) for one resource: (1) the cluster's preferred version if the
// backup has it, (2) the backup's preferred version if the cluster serves it, (3) the first
// version both have, by priority, (4) else the backup's preferred version. `served`: the
// versions the target cluster serves the resource in (any order); `cluster_preferred`: the
// group's preferred version there ("" if unknown). Returns "" for the unversioned layout (which
// holds the backup's preferred version) or a version directory name.
std::string ChooseVersionDir(const ResourceDirs& dirs, const std::vector<std::string>& served,
                             std::string_view cluster_preferred);

}  // namespace lifeboat::restore
