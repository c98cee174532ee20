#include "lifeboat/api/filters.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "lifeboat/api/builders.h"

namespace lifeboat::api {
namespace {

using V = std::vector<std::string>;

TEST(GlobTest, GobwasSyntax) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything/at.all"));
  EXPECT_TRUE(GlobMatch("app-*", "app-prod"));
  EXPECT_FALSE(GlobMatch("app-*", "db-prod"));
  EXPECT_TRUE(GlobMatch("*-prod", "app-prod"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
  EXPECT_TRUE(GlobMatch("ns-?", "ns-1"));
  EXPECT_FALSE(GlobMatch("ns-?", "ns-12"));
  EXPECT_TRUE(GlobMatch("ns-[abc]", "ns-b"));
  EXPECT_FALSE(GlobMatch("ns-[abc]", "ns-d"));
  EXPECT_TRUE(GlobMatch("ns-[a-c]x", "ns-bx"));
  EXPECT_TRUE(GlobMatch("ns-[!a-c]", "ns-d"));
  EXPECT_FALSE(GlobMatch("ns-[!a-c]", "ns-a"));
  EXPECT_TRUE(GlobMatch("{app,db}-*", "db-1"));
  EXPECT_FALSE(GlobMatch("{app,db}-*", "web-1"));
  EXPECT_TRUE(GlobMatch("a\\*", "a*"));
  EXPECT_FALSE(GlobMatch("a\\*", "ab"));
  EXPECT_TRUE(GlobMatch("pods", "pods"));
  EXPECT_FALSE(GlobMatch("pods", "pods.x"));
  EXPECT_TRUE(GlobMatch("?", "\xC3\xA9"));  // one rune, two bytes
  // Invalid patterns match nothing.
  EXPECT_FALSE(GlobMatch("ns-[ab", "ns-a"));
  EXPECT_FALSE(GlobMatch("{a,b", "a"));
}

TEST(GlobTest, VeleroWildcardValidation) {
  EXPECT_FALSE(ValidateWildcardPattern("app-*").has_value());
  EXPECT_FALSE(ValidateWildcardPattern("ns-[ab]?").has_value());
  EXPECT_EQ(ValidateWildcardPattern("a**"),
            "wildcard pattern contains consecutive asterisks (only single * allowed)");
  EXPECT_EQ(ValidateWildcardPattern("{a,b}"),
            "wildcard pattern contains unsupported characters: |, (, ), !, {, }, ,");
  EXPECT_EQ(ValidateWildcardPattern("a|b"),
            "wildcard pattern contains unsupported characters: |, (, ), !, {, }, ,");
  EXPECT_EQ(ValidateWildcardPattern("a[]"), "wildcard pattern contains empty bracket pattern '[]'");
  EXPECT_EQ(ValidateWildcardPattern("a[b"), "wildcard pattern contains unclosed bracket '['");
  EXPECT_EQ(ValidateWildcardPattern("a]"), "wildcard pattern contains unmatched closing bracket ']'");
  EXPECT_TRUE(ContainsWildcard("a?"));
  EXPECT_FALSE(ContainsWildcard("plain"));
}

TEST(IncludesExcludesTest, VeleroSemantics) {
  IncludesExcludes all;
  EXPECT_TRUE(all.ShouldInclude("pods"));
  EXPECT_TRUE(all.IncludeEverything());
  EXPECT_EQ(all.IncludesString(), "*");
  EXPECT_EQ(all.ExcludesString(), "<none>");

  IncludesExcludes star(V{"*"}, V{"secrets"});
  EXPECT_TRUE(star.ShouldInclude("pods"));
  EXPECT_FALSE(star.ShouldInclude("secrets"));  // excludes win
  EXPECT_FALSE(star.IncludeEverything());

  IncludesExcludes some(V{"pods", "deployments.apps"}, V{"pods"});
  EXPECT_FALSE(some.ShouldInclude("pods"));
  EXPECT_TRUE(some.ShouldInclude("deployments.apps"));
  EXPECT_FALSE(some.ShouldInclude("services"));
  EXPECT_EQ(some.IncludesString(), "deployments.apps, pods");

  IncludesExcludes globs(V{"*.apps"}, V{"daemon*"});
  EXPECT_TRUE(globs.ShouldInclude("deployments.apps"));
  EXPECT_FALSE(globs.ShouldInclude("daemonsets.apps"));
  EXPECT_FALSE(globs.ShouldInclude("pods"));
}

// Plain names are looked up in a sorted list and globs matched one by one: the answers are
// GlobMatch's for every pattern, whatever the mix.
TEST(IncludesExcludesTest, ManyPlainNamesAndGlobsMatchAsGlobMatchDoes) {
  V includes, excludes = {"ns-13", "ns-2?", R"(ns-3\*)", "kube-[sp]*"};
  for (int i = 0; i < 300; ++i) includes.push_back("ns-" + std::to_string(i));
  includes.push_back("team-*");
  includes.push_back(R"(odd\*name)");  // an escaped `*`: the name "odd*name" only
  includes.push_back("{a,b}-x");
  IncludesExcludes ie(includes, excludes);
  V candidates = {"ns-0",        "ns-13",           "ns-20",   "ns-29", "ns-3",   "ns-3*",
                  "ns-299",      "ns-300",          "ns-1000", "team-", "team-a", "odd*name",
                  "oddxname",    R"(odd\*name)",    "a-x",     "b-x",   "c-x",    "kube-system",
                  "kube-public", "kube-node-lease", "",        "ns-",   "NS-1"};
  for (const std::string& c : candidates) {
    const bool excluded = std::any_of(excludes.begin(), excludes.end(),
                                      [&](const std::string& p) { return GlobMatch(p, c); });
    const bool included = std::any_of(includes.begin(), includes.end(),
                                      [&](const std::string& p) { return GlobMatch(p, c); });
    EXPECT_EQ(ie.Excludes(c), excluded) << c;
    EXPECT_EQ(ie.ShouldInclude(c), !excluded && included) << c;
  }
  EXPECT_TRUE(ie.ShouldInclude("ns-299"));
  EXPECT_FALSE(ie.ShouldInclude("ns-13"));
  EXPECT_FALSE(ie.ShouldInclude("ns-25"));
  EXPECT_TRUE(ie.ShouldInclude("odd*name"));
  EXPECT_FALSE(ie.ShouldInclude("oddxname"));
  EXPECT_TRUE(ie.ShouldInclude("b-x"));
  EXPECT_FALSE(ie.ShouldInclude("NS-1"));
  // Copies answer the same.
  IncludesExcludes copy = ie;
  EXPECT_TRUE(copy.ShouldInclude("ns-7"));
  EXPECT_FALSE(copy.ShouldInclude("kube-system"));
}

TEST(IncludesExcludesTest, ResourcesAreCaseInsensitive) {
  IncludesExcludes ie = IncludesExcludes::ForResources(V{"Deployments.Apps"}, V{"SECRETS"});
  EXPECT_TRUE(ie.ShouldInclude("deployments.apps"));
  EXPECT_TRUE(ie.ShouldInclude("DEPLOYMENTS.apps"));
  EXPECT_TRUE(ie.Excludes("secrets"));
  // Namespaces stay case-sensitive (they are always lowercase in Kubernetes).
  IncludesExcludes ns(V{"App"}, V{});
  EXPECT_FALSE(ns.ShouldInclude("app"));
}

TEST(NamespaceIncludesExcludesTest, ExpansionAndResolve) {
  const V active = {"app-a", "app-b", "app-test", "db", "kube-system"};
  auto ns = NamespaceIncludesExcludes::ForBackup(
      BackupBuilder("velero", "b").IncludedNamespaces({"app-*", "db", "missing"})
          .ExcludedNamespaces({"*-test"}).Build().spec);
  EXPECT_TRUE(ns.ShouldExpandWildcards());
  EXPECT_EQ(ns.Resolve(active), (V{"app-a", "app-b", "db", "missing"}));
  EXPECT_TRUE(ns.ShouldInclude("app-a"));
  EXPECT_FALSE(ns.ShouldInclude("app-test"));
  EXPECT_FALSE(ns.ShouldInclude("kube-system"));

  auto everything = NamespaceIncludesExcludes::ForBackup(BackupSpec{});
  EXPECT_EQ(everything.includes(), (std::set<std::string>{"*"}));
  EXPECT_FALSE(everything.ShouldExpandWildcards());
  EXPECT_TRUE(everything.IncludeEverything());
  EXPECT_EQ(everything.Resolve(active), active);

  NamespaceIncludesExcludes excl_only(V{"*"}, V{"kube-*"});
  EXPECT_FALSE(excl_only.ShouldExpandWildcards());  // "*" include: no expansion
  EXPECT_EQ(excl_only.Resolve(active), (V{"app-a", "app-b", "app-test", "db"}));
}

ResourceFilter Filter(const Backup& b, const ResourceResolver& r = nullptr) {
  return ResourceFilter::ForBackup(b.spec, NamespaceIncludesExcludes::ForBackup(b.spec), r);
}

TEST(ResourceFilterTest, OldStyleIncludeClusterResourcesNilTrueFalse) {
  // nil + all namespaces: cluster-scoped types are listed.
  ResourceFilter full = Filter(BackupBuilder("velero", "b").Build());
  EXPECT_TRUE(full.old_style());
  EXPECT_TRUE(full.ShouldInclude("persistentvolumes", false));
  EXPECT_TRUE(full.ShouldInclude("pods", true));
  EXPECT_FALSE(full.ShouldExclude("persistentvolumes", false));

  // nil + some namespaces: cluster-scoped types are not listed, but related items may come in.
  ResourceFilter some = Filter(BackupBuilder("velero", "b").IncludedNamespaces({"app"}).Build());
  EXPECT_FALSE(some.ShouldInclude("persistentvolumes", false));
  EXPECT_TRUE(some.ShouldInclude("namespaces", false));
  EXPECT_FALSE(some.ShouldExclude("persistentvolumes", false));

  // nil + includedResources that do not name PVs: related PVs are dropped.
  ResourceFilter narrow = Filter(BackupBuilder("velero", "b").IncludedNamespaces({"app"})
                                     .IncludedResources({"pods", "persistentvolumeclaims"}).Build());
  EXPECT_TRUE(narrow.ShouldExclude("persistentvolumes", false));
  EXPECT_FALSE(narrow.ShouldExclude("persistentvolumeclaims", true));
  EXPECT_FALSE(narrow.ShouldInclude("services", true));

  // true: listed even for some namespaces.
  ResourceFilter yes = Filter(
      BackupBuilder("velero", "b").IncludedNamespaces({"app"}).IncludeClusterResources(true).Build());
  EXPECT_TRUE(yes.ShouldInclude("persistentvolumes", false));
  EXPECT_FALSE(yes.ShouldExclude("clusterroles.rbac.authorization.k8s.io", false));

  // false: never, not even as related items.
  ResourceFilter no = Filter(BackupBuilder("velero", "b").IncludeClusterResources(false).Build());
  EXPECT_FALSE(no.ShouldInclude("persistentvolumes", false));
  EXPECT_TRUE(no.ShouldExclude("persistentvolumes", false));
  EXPECT_TRUE(no.ShouldInclude("pods", true));

  // Excluded resources win everywhere.
  ResourceFilter ex = Filter(BackupBuilder("velero", "b").ExcludedResources({"Secrets"}).Build());
  EXPECT_FALSE(ex.ShouldInclude("secrets", true));
  EXPECT_TRUE(ex.ShouldExclude("secrets", true));
}

TEST(ResourceFilterTest, NewScopedFilters) {
  ResourceFilter f = Filter(BackupBuilder("velero", "b")
                                .IncludedClusterScopedResources({"storageclasses.storage.k8s.io"})
                                .ExcludedNamespaceScopedResources({"secrets"})
                                .Build());
  EXPECT_FALSE(f.old_style());
  EXPECT_TRUE(f.ShouldInclude("storageclasses.storage.k8s.io", false));
  EXPECT_FALSE(f.ShouldInclude("persistentvolumes", false));
  EXPECT_TRUE(f.ShouldInclude("namespaces", false));  // always, unless excluded
  EXPECT_TRUE(f.ShouldInclude("pods", true));
  EXPECT_FALSE(f.ShouldInclude("secrets", true));
  EXPECT_FALSE(f.ShouldExclude("persistentvolumes", false));  // related items still come in
  EXPECT_TRUE(f.ShouldExclude("secrets", true));

  // No cluster filters + all namespaces + all namespaced types: every cluster type.
  ResourceFilter full =
      Filter(BackupBuilder("velero", "b").IncludedNamespaceScopedResources({"*"}).Build());
  EXPECT_TRUE(full.ShouldInclude("persistentvolumes", false));

  ResourceFilter none_cluster =
      Filter(BackupBuilder("velero", "b").ExcludedClusterScopedResources({"*"}).Build());
  EXPECT_FALSE(none_cluster.ShouldInclude("namespaces", false));
  EXPECT_FALSE(none_cluster.ShouldInclude("persistentvolumes", false));

  ResourceFilter no_ns =
      Filter(BackupBuilder("velero", "b").ExcludedNamespaceScopedResources({"*"}).Build());
  EXPECT_FALSE(no_ns.ShouldInclude("pods", true));
}

TEST(ResourceFilterTest, ResolverCanonicalisesAndDropsWrongScope) {
  ResourceResolver resolve = [](std::string_view name) -> std::optional<ResolvedResource> {
    if (name == "deploy") return ResolvedResource{"deployments.apps", true};
    if (name == "sc") return ResolvedResource{"storageclasses.storage.k8s.io", false};
    return std::nullopt;
  };
  ResourceFilter old = Filter(BackupBuilder("velero", "b").IncludedResources({"deploy"}).Build(),
                              resolve);
  EXPECT_TRUE(old.ShouldInclude("deployments.apps", true));
  EXPECT_FALSE(old.ShouldInclude("pods", true));
  // "deploy" given as a cluster-scoped include is dropped (wrong scope).
  ResourceFilter scoped = Filter(BackupBuilder("velero", "b")
                                     .IncludedClusterScopedResources({"deploy", "sc"})
                                     .Build(),
                                 resolve);
  EXPECT_TRUE(scoped.ShouldInclude("storageclasses.storage.k8s.io", false));
  EXPECT_FALSE(scoped.ShouldInclude("deployments.apps", false));
}

TEST(ResourceFilterTest, UsesOldFilters) {
  EXPECT_TRUE(ResourceFilter::UsesOldFilters(BackupSpec{}));
  EXPECT_TRUE(ResourceFilter::UsesOldFilters(
      BackupBuilder("v", "b").IncludeClusterResources(false).Build().spec));
  EXPECT_FALSE(ResourceFilter::UsesOldFilters(
      BackupBuilder("v", "b").ExcludedClusterScopedResources({"nodes"}).Build().spec));
}

}  // namespace
}  // namespace lifeboat::api
