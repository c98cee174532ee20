#pragma once

// Velero's include/exclude rules (pkg/util/collections, pkg/util/wildcard): plain string sets
// whose entries are globs, resource filters in their old (includedResources /
// includeClusterResources) and new (scoped) forms, and namespace filters with wildcard
// expansion. Pure functions over values: safe to use from several threads once built.

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/api/backup.h"

namespace lifeboat::api {

// gobwas/glob semantics (what Velero compiles patterns with), with no separators: `*` any
// run of characters, `?` one character, `[abc]` / `[a-z]` / `[!abc]` a class, `{a,b}`
// alternatives, `\` escapes. An invalid pattern (unclosed `[` or `{`) matches nothing.
bool GlobMatch(std::string_view pattern, std::string_view text);

// True when the pattern has any of `*?[{` (Velero's containsWildcardPattern).
bool ContainsWildcard(std::string_view pattern);

// Velero's wildcard.ValidateNamespaceName: an error message for patterns Velero refuses
// (`|()!{},`, `**`, empty or unbalanced brackets), nullopt when acceptable.
std::optional<std::string> ValidateWildcardPattern(std::string_view pattern);

// Items in `includes` minus those in `excludes`; every entry is a glob. Empty includes or "*"
// means everything; an exclude always wins.
class IncludesExcludes {
 public:
  IncludesExcludes() = default;
  IncludesExcludes(const std::vector<std::string>& includes,
                   const std::vector<std::string>& excludes);
  // Resource names are matched case-insensitively (Velero lowercases them through discovery).
  static IncludesExcludes ForResources(const std::vector<std::string>& includes,
                                       const std::vector<std::string>& excludes);

  bool ShouldInclude(std::string_view item) const;
  // True when an exclude pattern matches (the includes are not consulted).
  bool Excludes(std::string_view item) const;
  // Includes empty or exactly {"*"}, and no excludes.
  bool IncludeEverything() const;
  bool IncludesAll() const { return includes_all_; }
  // "a, b" or "*" / "<none>" when empty, as Velero logs them.
  std::string IncludesString() const;
  std::string ExcludesString() const;

  const std::set<std::string>& includes() const { return includes_; }
  const std::set<std::string>& excludes() const { return excludes_; }

 private:
  // A set of patterns as matched: the plain names (no `*?[{\`) sorted for a binary search,
  // the globs tried one by one. A backup naming 200 namespaces asks for every item it lists:
  // matching each against every pattern cost more than the rest of the backup.
  struct Patterns {
    std::vector<std::string> plain;
    std::vector<std::string> globs;
    bool Match(std::string_view item) const;
  };
  static Patterns Index(const std::set<std::string>& patterns);
  void Index();  // after includes_ / excludes_ change
  bool MatchAny(const Patterns& patterns, std::string_view item) const;

  std::set<std::string> includes_, excludes_;
  Patterns include_patterns_, exclude_patterns_;
  bool includes_all_ = true;  // includes_ empty or has "*"
  bool lowercase_ = false;
};

// Namespace include/exclude with Velero's wildcard expansion.
class NamespaceIncludesExcludes : public IncludesExcludes {
 public:
  using IncludesExcludes::IncludesExcludes;
  // Empty includes become {"*"} as the backup controller fills them in.
  static NamespaceIncludesExcludes ForBackup(const BackupSpec& spec);

  // Velero's ShouldExpandWildcards: some pattern has a wildcard and includes are not "*".
  bool ShouldExpandWildcards() const;
  // The namespaces of `active` (the cluster's namespaces) that the filter selects, sorted.
  // Non-wildcard includes are kept even when absent from `active` (Velero lists them anyway).
  std::vector<std::string> Resolve(const std::vector<std::string>& active) const;
};

// Maps a user-given resource name ("deploy", "Deployments", "deployments.apps") to its
// canonical "resource.group" and scope, as discovery would; nullopt when unknown (the name is
// then used as given, lowercased).
struct ResolvedResource {
  std::string group_resource;
  bool namespaced = true;
};
using ResourceResolver = std::function<std::optional<ResolvedResource>(std::string_view name)>;

// The backup's resource-type filter, old or new style (Velero's GlobalIncludesExcludes /
// ScopeIncludesExcludes). group_resource is canonical ("deployments.apps", "pods").
class ResourceFilter {
 public:
  // Velero's UseOldResourceFilters: true when no scoped filter is set, or any old one is.
  static bool UsesOldFilters(const BackupSpec& spec);
  static ResourceFilter ForBackup(const BackupSpec& spec, const NamespaceIncludesExcludes& ns,
                                  const ResourceResolver& resolve = nullptr);

  // Whether items of this type are collected (listed) for the backup.
  bool ShouldInclude(std::string_view group_resource, bool namespaced) const;
  // Whether an item of this type reached as an additional (related) item must be dropped.
  bool ShouldExclude(std::string_view group_resource, bool namespaced) const;

  bool old_style() const { return old_style_; }

 private:
  bool old_style_ = true;
  IncludesExcludes resources_;          // old style
  std::optional<bool> include_cluster_resources_;
  IncludesExcludes namespaced_, cluster_;  // new style
  IncludesExcludes namespaces_;
};

}  // namespace lifeboat::api
