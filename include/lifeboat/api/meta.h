#pragma once

// The parts of Kubernetes' ObjectMeta that Lifeboat reads and writes on Velero objects, plus
// the small reference types several Velero kinds share. Metadata fields not listed here
// (ownerReferences, managedFields, deletionTimestamp, ...) are kept by the owning object's
// `raw` JSON and written back unchanged (see docs/api.md).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/status.h"

namespace lifeboat::api {

inline constexpr std::string_view kVeleroApiVersion = "velero.io/v1";

struct ObjectMeta {
  std::string name, namespace_, uid, resource_version, generate_name;
  std::map<std::string, std::string> labels, annotations;
  std::optional<std::string> creation_timestamp;  // RFC 3339
  std::vector<std::string> finalizers;
  int64_t generation = 0;
  bool operator==(const ObjectMeta&) const = default;
};

// core/v1 TypedLocalObjectReference (Backup.spec.resourcePolicy, Restore.spec.resourceModifier).
struct TypedLocalObjectReference {
  std::optional<std::string> api_group;
  std::string kind, name;
  bool operator==(const TypedLocalObjectReference&) const = default;
};

// core/v1 SecretKeySelector (BSL/VSL credential, caCertRef).
struct SecretKeySelector {
  std::string name, key;
  std::optional<bool> optional;
  bool operator==(const SecretKeySelector&) const = default;
};

// InvalidArgument naming the field ("metadata.labels.app: must be a string") when a known
// field has the wrong JSON type; a null or missing value reads as empty.
StatusOr<ObjectMeta> ObjectMetaFromJson(const boost::json::value& v);
// Go's omitempty rules: empty fields are left out.
boost::json::value ToJson(const ObjectMeta& meta);

}  // namespace lifeboat::api
