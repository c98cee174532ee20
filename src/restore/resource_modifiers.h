#pragma once

// Velero's restore resource modifiers (Restore spec.resourceModifier, a ConfigMap in the
// Velero namespace): rules that pick items by group-resource glob, name regex, namespace,
// label selector and JSON-pointer value matches, and change them with a JSON patch, JSON merge
// patches or strategic merge patches before they are created. docs/resource-modifiers.md
// describes the format and what differs from Velero.
//
// Thread safety: a ResourceModifiers is immutable after parsing; Apply is const and may be
// called concurrently on different items.

#include <boost/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/api/label_selector.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/dynamic_client.h"

namespace lifeboat::restore {

class ResourceModifiers {
 public:
  // One parsed rule (built by Parse).
  struct Rule {
    size_t index = 0;  // position in resourceModifierRules, for messages
    std::string group_resource;
    std::string name_regex_text;
    std::optional<std::regex> name_regex;
    std::vector<std::string> namespaces;
    std::optional<api::LabelSelector> label_selector;
    boost::json::array match_tests;  // RFC 6902 `test` operations from conditions.matches
    enum class Kind { kJsonPatch, kMergePatch, kStrategicPatch };
    Kind kind = Kind::kJsonPatch;
    boost::json::array json_patch;               // kJsonPatch: RFC 6902 operations
    std::vector<boost::json::value> patch_docs;  // kMergePatch / kStrategicPatch
  };

  // From a ConfigMap object (its JSON form): exactly one key under `data`, holding the rules
  // as YAML or JSON. InvalidArgument listing every problem found (more or fewer than one data
  // key, malformed YAML, unknown fields, unsupported version, no rules, empty groupResource,
  // bad regex or label selector, more than one patch kind in a rule, bad JSON-patch operation,
  // path or value, patchData that is not YAML/JSON).
  static StatusOr<ResourceModifiers> FromConfigMap(const boost::json::value& configmap);
  // From the YAML or JSON document itself. InvalidArgument as above.
  static StatusOr<ResourceModifiers> Parse(std::string_view yaml_or_json);

  // Applies, in order, every rule whose conditions match the item as it was before any rule
  // ran; each matching rule's patches see the result of the previous rules. `group_resource`
  // is the item's resource, e.g. "deployments.apps" or "pods" (core group: no suffix).
  // A JSON patch whose `test` operation fails leaves the item unchanged for that rule (Velero's
  // conditional patches). Other failures do not stop later rules; the result is then
  // FailedPrecondition naming every failed rule and the item, and the item must not be
  // restored (it may be partly modified).
  Status Apply(boost::json::value& item, std::string_view group_resource) const;

  size_t rule_count() const { return rules_.size(); }

 private:
  std::vector<Rule> rules_;
};

// Reads ConfigMap `configmap_name` in namespace `ns` and parses it. NotFound "resource
// modifiers ConfigMap <ns>/<name> not found" when it does not exist; InvalidArgument as
// FromConfigMap (prefixed with the ConfigMap's name); other client errors annotated.
StatusOr<ResourceModifiers> LoadResourceModifiers(kube::DynamicClient& client,
                                                  const std::string& ns,
                                                  const std::string& configmap_name);

}  // namespace lifeboat::restore
