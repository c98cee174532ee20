#pragma once

// Server-side printing: metav1.Table responses for `kubectl get` (Accept: ...;as=Table;...).

#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "kubesim/src/api/registry.h"

namespace kubesim {

// True if an Accept header asks for a meta.k8s.io/v1 (or v1beta1) Table.
bool WantsTable(const std::string& accept);
// The Table API version the Accept header asks for ("meta.k8s.io/v1" or "meta.k8s.io/v1beta1").
std::string TableApiVersion(const std::string& accept);

// A metav1.Table of `objects` (each in `type`'s version). `include_object` is the query
// parameter includeObject: "" or "Metadata" (PartialObjectMetadata), "Object", "None".
boost::json::value BuildTable(const TypeInfo& type,
                              const std::vector<const boost::json::value*>& objects,
                              const std::string& table_api_version,
                              const std::string& include_object,
                              const std::string& resource_version,
                              const std::string& continue_token,
                              std::optional<int64_t> remaining_item_count);

}  // namespace kubesim
