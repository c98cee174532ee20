#pragma once

// velero.io/v1 ServerStatusRequest with its JSON codec; unknown fields preserved via `raw`.

#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/meta.h"
#include "lifeboat/common/status.h"

namespace lifeboat::api {

enum class ServerStatusRequestPhase { kUnset, kNew, kProcessed };
std::string_view ToString(ServerStatusRequestPhase p);

struct PluginInfo {
  std::string name, kind;
  bool operator==(const PluginInfo&) const = default;
};

struct ServerStatusRequest {
  ObjectMeta metadata;  // spec is empty in Velero
  struct Status {
    ServerStatusRequestPhase phase = ServerStatusRequestPhase::kUnset;
    std::optional<std::string> processed_timestamp;  // RFC 3339
    std::string server_version;
    std::vector<PluginInfo> plugins;
    bool operator==(const Status&) const = default;
  } status;
  boost::json::object raw;
};

StatusOr<ServerStatusRequest> ServerStatusRequestFromJson(const boost::json::value& v);
boost::json::value ToJson(const ServerStatusRequest& r);

}  // namespace lifeboat::api
