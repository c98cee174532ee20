// Applying resource modifier rules to restored items, and loading the ConfigMap.

#include "src/restore/resource_modifiers.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "lifeboat/api/filters.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/json_patch.h"
#include "lifeboat/common/log.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;
using Rule = ResourceModifiers::Rule;

// Splits a glob at the '.' separators outside [...] and {...}; nullopt when a '.' is inside
// one, or the pattern uses "**" (these are then matched whole).
std::optional<std::vector<std::string_view>> SplitGlob(std::string_view pattern) {
  if (pattern.find("**") != std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == '.') {
      if (depth > 0) return std::nullopt;
      parts.push_back(pattern.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(pattern.substr(start));
  return parts;
}

// Velero compiles groupResource with gobwas/glob and '.' as separator: `*` and `?` do not
// cross a '.', so "*" matches "pods" but not "deployments.apps", and "*.apps" matches
// "deployments.apps". "**" matches across separators.
bool GroupResourceMatches(std::string_view pattern, std::string_view group_resource) {
  auto parts = SplitGlob(pattern);
  if (!parts) return api::GlobMatch(pattern, group_resource);
  std::vector<std::string_view> segments;
  size_t start = 0;
  for (size_t dot; (dot = group_resource.find('.', start)) != std::string_view::npos;
       start = dot + 1) {
    segments.push_back(group_resource.substr(start, dot - start));
  }
  segments.push_back(group_resource.substr(start));
  if (segments.size() != parts->size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (!api::GlobMatch((*parts)[i], segments[i])) return false;
  }
  return true;
}

bool NamespaceMatches(const Rule& rule, const std::string& ns) {
  if (ns.empty() || rule.namespaces.empty()) return true;  // cluster-scoped items: not filtered
  for (const std::string& pattern : rule.namespaces) {
    if (pattern == "*" || pattern == ns || api::GlobMatch(pattern, ns)) return true;
  }
  return false;
}

std::map<std::string, std::string> Labels(const json::value& item) {
  std::map<std::string, std::string> out;
  const json::value* labels = JsonFind(item, {"metadata", "labels"});
  if (labels == nullptr || !labels->is_object()) return out;
  for (const auto& kv : labels->get_object()) {
    if (kv.value().is_string()) out.emplace(kv.key(), kv.value().get_string());
  }
  return out;
}

// Whether the rule's conditions select the item. An error only when a `matches` test cannot
// be evaluated at all (not when the value differs or the path is missing).
StatusOr<bool> Matches(const Rule& rule, const json::value& item, std::string_view group_resource) {
  if (!NamespaceMatches(rule, JsonString(item, {"metadata", "namespace"}).value_or("")))
    return false;
  if (!GroupResourceMatches(rule.group_resource, group_resource)) return false;
  if (rule.name_regex) {
    std::string name = JsonString(item, {"metadata", "name"}).value_or("");
    if (!std::regex_search(name, *rule.name_regex)) return false;
  }
  if (rule.label_selector && !rule.label_selector->Matches(Labels(item))) return false;
  if (!rule.match_tests.empty()) {
    auto tested = jsonpatch::ApplyJsonPatch(item, rule.match_tests);
    if (!tested.ok()) {
      if (jsonpatch::IsJsonPatchTestFailure(tested.status())) return false;
      return Annotate(tested.status(), "evaluating conditions.matches");
    }
  }
  return true;
}

// "apps/v1" -> "apps"; "v1" -> "".
std::string GroupOf(const json::value& item) {
  std::string api_version = JsonString(item, {"apiVersion"}).value_or("");
  size_t slash = api_version.find('/');
  return slash == std::string::npos ? std::string() : api_version.substr(0, slash);
}

Status ApplyRule(const Rule& rule, json::value& item) {
  switch (rule.kind) {
    case Rule::Kind::kJsonPatch: {
      auto patched = jsonpatch::ApplyJsonPatch(item, rule.json_patch);
      if (patched.ok()) {
        item = std::move(*patched);
      } else if (jsonpatch::IsJsonPatchTestFailure(patched.status())) {
        LB_LOG_DEBUG("resource modifier rule {}: test operation failed, patch skipped: {}",
                     rule.index, std::string(patched.status().message()));
      } else {
        return Annotate(patched.status(), "error in applying JSON patch");
      }
      return absl::OkStatus();
    }
    case Rule::Kind::kMergePatch:
      for (const json::value& doc : rule.patch_docs) {
        LIFEBOAT_ASSIGN_OR_RETURN(item, jsonpatch::ApplyMergePatch(item, doc));
      }
      return absl::OkStatus();
    case Rule::Kind::kStrategicPatch: {
      std::string group = GroupOf(item);
      std::string kind = JsonString(item, {"kind"}).value_or("");
      if (!jsonpatch::SupportsStrategicMerge(group, kind)) {
        return absl::FailedPreconditionError(
            "strategic merge patch is not supported for " + kind +
            (group.empty() ? "" : "." + group) +
            " (only built-in kinds have patch strategies; use mergePatches)");
      }
      for (const json::value& doc : rule.patch_docs) {
        auto patched = jsonpatch::ApplyStrategicMergePatch(item, doc, group, kind);
        if (!patched.ok())
          return Annotate(patched.status(), "error in applying strategic merge patch");
        item = std::move(*patched);
      }
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown patch kind");
}

std::string ItemId(const json::value& item) {
  std::string ns = JsonString(item, {"metadata", "namespace"}).value_or("");
  std::string name = JsonString(item, {"metadata", "name"}).value_or("");
  return ns.empty() ? name : ns + "/" + name;
}

}  // namespace

Status ResourceModifiers::Apply(boost::json::value& item, std::string_view group_resource) const {
  // Conditions look at the item as backed up, not as changed by earlier rules (Velero).
  std::optional<json::value> original;
  if (rules_.size() > 1) original = item;
  const json::value& origin = original ? *original : item;
  std::vector<std::string> errors;
  for (const Rule& rule : rules_) {
    auto matched = Matches(rule, origin, group_resource);
    Status s =
        matched.ok() ? (*matched ? ApplyRule(rule, item) : absl::OkStatus()) : matched.status();
    if (!s.ok()) {
      errors.push_back("rule resourceModifierRules[" + std::to_string(rule.index) +
                       "] (groupResource \"" + rule.group_resource +
                       "\"): " + std::string(s.message()));
    }
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError("resource modifiers failed on " +
                                       std::string(group_resource) + " " + ItemId(origin) + ": " +
                                       absl::StrJoin(errors, "; "));
}

StatusOr<ResourceModifiers> LoadResourceModifiers(kube::DynamicClient& client,
                                                  const std::string& ns,
                                                  const std::string& configmap_name) {
  auto cm = client.Get({"", "v1", "configmaps"}, ns, configmap_name);
  if (!cm.ok()) {
    if (absl::IsNotFound(cm.status())) {
      return absl::NotFoundError("resource modifiers ConfigMap " + ns + "/" + configmap_name +
                                 " not found");
    }
    return Annotate(cm.status(),
                    "reading resource modifiers ConfigMap " + ns + "/" + configmap_name);
  }
  return ResourceModifiers::FromConfigMap(*cm);
}

}  // namespace lifeboat::restore
