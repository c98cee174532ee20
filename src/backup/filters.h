#pragma once

// Which namespaces, resources and items a backup takes (Velero §5.4), on top of the api
// module's Velero filters (NamespaceIncludesExcludes with globs, ResourceFilter old and new
// style), with names resolved through discovery the way kubectl resolves them ("deploy" →
// "deployments.apps").

#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/filters.h"
#include "lifeboat/kube/discovery.h"

namespace lifeboat::backup {

class BackupFilters {
 public:
  // `excluded_namespaces_by_label`: namespaces labelled velero.io/exclude-from-backup=true.
  BackupFilters(const api::BackupSpec& spec, kube::Discovery& discovery,
                const std::vector<std::string>& excluded_namespaces_by_label);

  // (Asked for every item: a backup of every namespace answers without matching.)
  bool NamespaceIncluded(std::string_view ns) const { return all_namespaces_ || namespaces_.ShouldInclude(ns); }
  // Every namespace is included (no include list or "*", nothing excluded).
  bool AllNamespaces() const { return namespaces_.IncludeEverything(); }
  // The cluster's namespaces the backup takes (globs expanded), sorted.
  std::vector<std::string> ResolveNamespaces(const std::vector<std::string>& active) const {
    return namespaces_.Resolve(active);
  }

  // Whether a resource is listed during collection. Namespace objects go with the items in
  // them unless "namespaces" is explicitly excluded.
  bool ListResource(const kube::ApiResource& r) const;
  // Whether an item reached as an additional item (not listed) may be backed up.
  bool AdditionalItemAllowed(std::string_view group_resource, bool namespaced) const {
    return !resources_.ShouldExclude(group_resource, namespaced);
  }
  // customresourcedefinitions named in an include or exclude list: then CRDs are not added on
  // their own for the custom resources backed up.
  bool CrdsNamedExplicitly() const { return crds_named_; }

 private:
  api::NamespaceIncludesExcludes namespaces_;
  api::ResourceFilter resources_;
  bool all_namespaces_ = false;  // namespaces_.IncludeEverything()
  bool namespaces_excluded_ = false;
  bool crds_named_ = false;
};

}  // namespace lifeboat::backup
