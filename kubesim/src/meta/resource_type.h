#pragma once

// What kubesim knows about one served resource (a built-in or one defined by a CRD), in one
// group/version: enough for discovery, routing, validation and OpenAPI.

#include <string>
#include <vector>

namespace kubesim {

struct ResourceType {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // plural, lower case: "deployments"
  std::string kind;      // "Deployment"
  std::string singular;  // "deployment"
  std::string list_kind;  // "DeploymentList"
  bool namespaced = true;
  std::vector<std::string> verbs;  // e.g. create delete deletecollection get list patch update watch
  std::vector<std::string> short_names;
  std::vector<std::string> categories;  // e.g. "all"
  std::vector<std::string> subresources;  // "status", "scale", "exec", "log", "binding", ...
  bool served = true;
  bool storage = true;  // the version objects are stored in (one per group/resource)
  bool custom = false;  // defined by a CustomResourceDefinition

  // "apps/v1" or "v1" for the core group.
  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "deployments.apps" or "pods": the key Velero's tarball and kubectl's -o use.
  std::string GroupResource() const { return group.empty() ? resource : resource + "." + group; }
  bool HasSubresource(const std::string& name) const {
    for (const auto& s : subresources) {
      if (s == name) return true;
    }
    return false;
  }
};

// The built-in resource types kubesim serves, every served version of each (autoscaling serves
// v2 and v1, v2 preferred). Order within a group is preferred version first.
std::vector<ResourceType> BuiltinResourceTypes();

// Preferred version per group for built-ins ("autoscaling" -> "v2").
std::string PreferredBuiltinVersion(const std::string& group);

}  // namespace kubesim
