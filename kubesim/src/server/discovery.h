#pragma once

// Legacy discovery documents (/api, /apis, /apis/<g>, /apis/<g>/<v>, /api/v1) and /version.

#include <optional>
#include <string>

#include <boost/json.hpp>

#include "kubesim/src/api/registry.h"

namespace kubesim {

boost::json::value ApiVersionsDoc(const std::string& server_address);
boost::json::value ApiGroupListDoc(const Registry& registry);
std::optional<boost::json::value> ApiGroupDoc(const Registry& registry, const std::string& group);
std::optional<boost::json::value> ApiResourceListDoc(const Registry& registry,
                                                     const std::string& group,
                                                     const std::string& version);
boost::json::value VersionDoc();

}  // namespace kubesim
