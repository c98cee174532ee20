#pragma once

// Accessors for the metadata every caller of the dynamic client needs, over unstructured
// objects (boost::json::value as the API server sent it). They never throw and never allocate
// more than the returned value: a missing or mistyped field reads as empty.
//
// Thread safety: pure functions over the value passed in.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace lifeboat::kube {

struct OwnerReference {
  std::string api_version, kind, name, uid;
  bool controller = false;
  bool block_owner_deletion = false;
};

std::string_view ObjectName(const boost::json::value& obj);
std::string_view ObjectNamespace(const boost::json::value& obj);
std::string_view ObjectUid(const boost::json::value& obj);
std::string_view ObjectResourceVersion(const boost::json::value& obj);
std::string_view ObjectApiVersion(const boost::json::value& obj);
std::string_view ObjectKind(const boost::json::value& obj);
std::map<std::string, std::string> ObjectLabels(const boost::json::value& obj);
std::map<std::string, std::string> ObjectAnnotations(const boost::json::value& obj);
std::vector<OwnerReference> ObjectOwnerReferences(const boost::json::value& obj);
// client-go's cache key: "namespace/name", or "name" for cluster-scoped objects.
std::string ObjectKey(const boost::json::value& obj);

}  // namespace lifeboat::kube
