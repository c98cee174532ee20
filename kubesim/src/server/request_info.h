#pragma once

// Parses a request path the way kube-apiserver's RequestInfoFactory does: API prefix, group,
// version, namespace, resource, name, subresource, and the verb from method + query.

#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/http/server.h"

namespace kubesim {

struct RequestInfo {
  bool is_resource_request = false;
  std::string verb;  // get list watch create update patch delete deletecollection (or the method, lower-case)
  std::string api_prefix;  // "api" or "apis"
  std::string group;
  std::string version;
  std::string namespace_;
  std::string resource;
  std::string name;
  std::string subresource;
  std::vector<std::string> parts;  // path segments after the prefix
};

RequestInfo ParseRequestInfo(const lifeboat::http::Request& request);

// A boolean query parameter as Go's strconv.ParseBool reads it ("1", "t", "T", "true", "TRUE",
// "True" are true; anything else false), so clients sending watch=True work.
inline bool QueryTrue(std::string_view v) {
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}

}  // namespace kubesim
