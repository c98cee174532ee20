#include "src/backup/filters.h"

#include "absl/strings/ascii.h"
#include "src/backup/resource_order.h"

namespace lifeboat::backup {
namespace {

constexpr std::string_view kCrds = "customresourcedefinitions.apiextensions.k8s.io";

api::ResourceResolver Resolver(kube::Discovery& discovery) {
  return [&discovery](std::string_view name) -> std::optional<api::ResolvedResource> {
    if (name == "*") return std::nullopt;
    auto r = discovery.Lookup(name);
    if (!r.ok()) return std::nullopt;
    return api::ResolvedResource{GroupResource(*r), r->namespaced};
  };
}

bool Names(const std::vector<std::string>& list, const api::ResourceResolver& resolve,
           std::string_view group_resource) {
  for (const auto& n : list) {
    auto r = resolve(n);
    if ((r ? r->group_resource : absl::AsciiStrToLower(n)) == group_resource) return true;
  }
  return false;
}

api::BackupSpec WithExcludedNamespaces(api::BackupSpec spec, const std::vector<std::string>& more) {
  spec.excluded_namespaces.insert(spec.excluded_namespaces.end(), more.begin(), more.end());
  return spec;
}

}  // namespace

BackupFilters::BackupFilters(const api::BackupSpec& spec, kube::Discovery& discovery,
                             const std::vector<std::string>& excluded_namespaces_by_label) {
  const api::BackupSpec s = WithExcludedNamespaces(spec, excluded_namespaces_by_label);
  const api::ResourceResolver resolve = Resolver(discovery);
  namespaces_ = api::NamespaceIncludesExcludes::ForBackup(s);
  all_namespaces_ = namespaces_.IncludeEverything();
  resources_ = api::ResourceFilter::ForBackup(s, namespaces_, resolve);
  namespaces_excluded_ = Names(s.excluded_resources, resolve, "namespaces") ||
                         Names(s.excluded_cluster_scoped_resources, resolve, "namespaces");
  for (const auto* list : {&s.included_resources, &s.excluded_resources,
                           &s.included_cluster_scoped_resources, &s.excluded_cluster_scoped_resources}) {
    crds_named_ = crds_named_ || Names(*list, resolve, kCrds);
  }
}

bool BackupFilters::ListResource(const kube::ApiResource& r) const {
  const std::string gr = GroupResource(r);
  if (gr == "namespaces") return !namespaces_excluded_;
  return resources_.ShouldInclude(gr, r.namespaced);
}

}  // namespace lifeboat::backup
