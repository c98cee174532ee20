#include "lifeboat/api/filters.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"

namespace lifeboat::api {
namespace {

constexpr std::string_view kNamespaces = "namespaces";

// Velero's generate*IncludesExcludes: "*" kept as is in includes, dropped from excludes
// (old style), names resolved; an item resolving to the other scope is dropped (scoped).
void Generate(const std::vector<std::string>& items, bool is_exclude, bool drop_star,
              std::optional<bool> want_namespaced, const ResourceResolver& resolve,
              std::vector<std::string>* out) {
  for (const auto& item : items) {
    if (item == "*") {
      if (!(is_exclude && drop_star)) out->push_back(item);
      continue;
    }
    std::string key = absl::AsciiStrToLower(item);
    if (resolve) {
      if (std::optional<ResolvedResource> r = resolve(item); r.has_value()) {
        if (want_namespaced.has_value() && r->namespaced != *want_namespaced) continue;
        key = absl::AsciiStrToLower(r->group_resource);
      }
    }
    if (!key.empty()) out->push_back(std::move(key));
  }
}

}  // namespace

IncludesExcludes::IncludesExcludes(const std::vector<std::string>& includes,
                                   const std::vector<std::string>& excludes)
    : includes_(includes.begin(), includes.end()), excludes_(excludes.begin(), excludes.end()) {
  Index();
}

IncludesExcludes IncludesExcludes::ForResources(const std::vector<std::string>& includes,
                                                const std::vector<std::string>& excludes) {
  IncludesExcludes ie;
  ie.lowercase_ = true;
  for (const auto& i : includes) ie.includes_.insert(absl::AsciiStrToLower(i));
  for (const auto& e : excludes) ie.excludes_.insert(absl::AsciiStrToLower(e));
  ie.Index();
  return ie;
}

IncludesExcludes::Patterns IncludesExcludes::Index(const std::set<std::string>& patterns) {
  Patterns out;
  for (const auto& p : patterns) {
    // A `\` escapes the next character: such a pattern goes through GlobMatch.
    (p.find_first_of("*?[{\\") == std::string::npos ? out.plain : out.globs).push_back(p);
  }
  return out;  // plain is sorted: it comes from a std::set
}

void IncludesExcludes::Index() {
  include_patterns_ = Index(includes_);
  exclude_patterns_ = Index(excludes_);
  includes_all_ = includes_.empty() || includes_.count("*") > 0;
}

bool IncludesExcludes::Patterns::Match(std::string_view item) const {
  if (std::binary_search(plain.begin(), plain.end(), item, std::less<>())) return true;
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& p) { return GlobMatch(p, item); });
}

bool IncludesExcludes::MatchAny(const Patterns& patterns, std::string_view item) const {
  if (patterns.plain.empty() && patterns.globs.empty()) return false;
  if (lowercase_) return patterns.Match(absl::AsciiStrToLower(std::string(item)));
  return patterns.Match(item);
}

bool IncludesExcludes::Excludes(std::string_view item) const {
  return MatchAny(exclude_patterns_, item);
}

bool IncludesExcludes::ShouldInclude(std::string_view item) const {
  if (Excludes(item)) return false;
  return IncludesAll() || MatchAny(include_patterns_, item);
}

bool IncludesExcludes::IncludeEverything() const {
  return excludes_.empty() &&
         (includes_.empty() || (includes_.size() == 1 && includes_.count("*") == 1));
}

std::string IncludesExcludes::IncludesString() const {
  return includes_.empty() ? "*" : absl::StrJoin(includes_, ", ");
}

std::string IncludesExcludes::ExcludesString() const {
  return excludes_.empty() ? "<none>" : absl::StrJoin(excludes_, ", ");
}

NamespaceIncludesExcludes NamespaceIncludesExcludes::ForBackup(const BackupSpec& spec) {
  std::vector<std::string> includes = spec.included_namespaces;
  if (includes.empty()) includes.push_back("*");
  return NamespaceIncludesExcludes(includes, spec.excluded_namespaces);
}

bool NamespaceIncludesExcludes::ShouldExpandWildcards() const {
  if (includes().count("*") > 0) return false;
  auto any = [](const std::set<std::string>& s) {
    return std::any_of(s.begin(), s.end(), [](const std::string& p) { return ContainsWildcard(p); });
  };
  return any(includes()) || any(excludes());
}

std::vector<std::string> NamespaceIncludesExcludes::Resolve(
    const std::vector<std::string>& active) const {
  std::set<std::string> selected;
  if (IncludesAll()) {
    selected.insert(active.begin(), active.end());
  } else {
    for (const auto& pattern : includes()) {
      if (!ContainsWildcard(pattern)) {
        selected.insert(pattern);
        continue;
      }
      for (const auto& ns : active) {
        if (GlobMatch(pattern, ns)) selected.insert(ns);
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& ns : selected) {
    if (!Excludes(ns)) out.push_back(ns);
  }
  return out;
}

bool ResourceFilter::UsesOldFilters(const BackupSpec& s) {
  const bool no_new = s.included_cluster_scoped_resources.empty() &&
                      s.excluded_cluster_scoped_resources.empty() &&
                      s.included_namespace_scoped_resources.empty() &&
                      s.excluded_namespace_scoped_resources.empty();
  const bool any_old = s.include_cluster_resources.has_value() ||
                       !s.included_resources.empty() || !s.excluded_resources.empty();
  return no_new || any_old;
}

ResourceFilter ResourceFilter::ForBackup(const BackupSpec& spec,
                                         const NamespaceIncludesExcludes& ns,
                                         const ResourceResolver& resolve) {
  ResourceFilter f;
  f.namespaces_ = ns;
  f.old_style_ = UsesOldFilters(spec);
  if (f.old_style_) {
    std::vector<std::string> inc, exc;
    Generate(spec.included_resources, false, true, std::nullopt, resolve, &inc);
    Generate(spec.excluded_resources, true, true, std::nullopt, resolve, &exc);
    f.resources_ = IncludesExcludes::ForResources(inc, exc);
    f.include_cluster_resources_ = spec.include_cluster_resources;
    return f;
  }
  std::vector<std::string> ninc, nexc, cinc, cexc;
  Generate(spec.included_namespace_scoped_resources, false, false, true, resolve, &ninc);
  Generate(spec.excluded_namespace_scoped_resources, true, false, true, resolve, &nexc);
  Generate(spec.included_cluster_scoped_resources, false, false, false, resolve, &cinc);
  Generate(spec.excluded_cluster_scoped_resources, true, false, false, resolve, &cexc);
  f.namespaced_ = IncludesExcludes::ForResources(ninc, nexc);
  f.cluster_ = IncludesExcludes::ForResources(cinc, cexc);
  return f;
}

bool ResourceFilter::ShouldInclude(std::string_view gr, bool namespaced) const {
  const std::string type = absl::AsciiStrToLower(std::string(gr));
  if (old_style_) {
    if (!namespaced && include_cluster_resources_ == false) return false;
    // Auto mode: cluster-scoped types are listed only for a backup of every namespace.
    if (type != kNamespaces && !namespaced && !include_cluster_resources_.has_value() &&
        !namespaces_.IncludeEverything()) {
      return false;
    }
    return resources_.ShouldInclude(type);
  }
  if (namespaced) {
    if (namespaced_.excludes().count("*") > 0 || namespaced_.Excludes(type)) return false;
    return namespaced_.IncludesAll() || namespaced_.ShouldInclude(type);
  }
  if (cluster_.excludes().count("*") > 0 || cluster_.Excludes(type)) return false;
  if (cluster_.includes().empty() && cluster_.excludes().empty() &&
      namespaces_.IncludeEverything() && namespaced_.IncludeEverything()) {
    return true;
  }
  return cluster_.includes().count("*") > 0 ||
         (!cluster_.includes().empty() && cluster_.ShouldInclude(type)) || type == kNamespaces;
}

bool ResourceFilter::ShouldExclude(std::string_view gr, bool namespaced) const {
  const std::string type = absl::AsciiStrToLower(std::string(gr));
  if (old_style_) {
    if (resources_.Excludes(type)) return true;
    if (!namespaced) {
      if (include_cluster_resources_ == false) return true;
      if (!include_cluster_resources_.has_value() && !resources_.ShouldInclude(type)) return true;
    }
    return false;
  }
  return namespaced ? namespaced_.Excludes(type) : cluster_.Excludes(type);
}

}  // namespace lifeboat::api
