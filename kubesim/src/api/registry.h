#pragma once

// The resource types kubesim serves: the built-ins plus those defined by established
// CustomResourceDefinitions. Discovery, routing, OpenAPI and tables read it; the CRD lifecycle
// writes it.
//
// Thread safety: all methods are safe to call concurrently.

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "kubesim/src/meta/resource_type.h"
#include "lifeboat/common/status.h"

namespace kubesim {

struct TypeInfo {
  ResourceType type;
  boost::json::value schema;           // CRD openAPIV3Schema of this version, or null
  boost::json::array printer_columns;  // CRD additionalPrinterColumns of this version
};

struct GroupInfo {
  std::string name;                   // "" for core
  std::vector<std::string> versions;  // preferred first
};

class Registry {
 public:
  Registry();

  // The type serving `resource` in group/version, or nullopt.
  std::optional<TypeInfo> Find(const std::string& group, const std::string& version,
                               const std::string& resource) const;
  // The type of `kind` in group/version (for checking a body's apiVersion/kind).
  std::optional<TypeInfo> FindKind(const std::string& group, const std::string& version,
                                   const std::string& kind) const;
  // The version objects of group/resource are stored in.
  std::optional<TypeInfo> StorageType(const std::string& group, const std::string& resource) const;
  // The preferred-version type of group/resource.
  std::optional<TypeInfo> PreferredType(const std::string& group, const std::string& resource) const;
  // Every served type of group/version.
  std::vector<TypeInfo> InGroupVersion(const std::string& group, const std::string& version) const;
  std::vector<TypeInfo> All() const;
  // Groups in discovery order: core, built-in groups, then custom groups sorted by name.
  std::vector<GroupInfo> Groups() const;

  // Registers (or replaces) the types a CRD named `crd_name` defines.
  void SetCustom(const std::string& crd_name, std::vector<TypeInfo> types);
  void RemoveCustom(const std::string& crd_name);
  // Changes whenever the set of types changes (discovery/OpenAPI caches key on it).
  uint64_t generation() const;

 private:
  mutable std::shared_mutex mu_;
  std::vector<TypeInfo> builtin_;
  std::map<std::string, std::vector<TypeInfo>> custom_;  // CRD name -> its types
  uint64_t generation_ = 1;
};

// Kubernetes' version priority: v1 > v1beta2 > v1beta1 > v1alpha1 > other strings (sorted).
// True if `a` sorts before (is preferred to) `b`.
bool VersionPreferred(const std::string& a, const std::string& b);

// The types a CustomResourceDefinition object defines (one per version), or InvalidArgument.
absl::StatusOr<std::vector<TypeInfo>> TypesFromCrd(const boost::json::value& crd);

}  // namespace kubesim
