#pragma once

// velero.io/v1 DeleteBackupRequest with its JSON codec; unknown fields preserved via `raw`.

#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/meta.h"
#include "lifeboat/common/status.h"

namespace lifeboat::api {

enum class DeleteBackupRequestPhase { kUnset, kNew, kInProgress, kProcessed };
std::string_view ToString(DeleteBackupRequestPhase p);

struct DeleteBackupRequest {
  ObjectMeta metadata;
  struct Spec {
    std::string backup_name;
    bool operator==(const Spec&) const = default;
  } spec;
  struct Status {
    DeleteBackupRequestPhase phase = DeleteBackupRequestPhase::kUnset;
    std::vector<std::string> errors;
    bool operator==(const Status&) const = default;
  } status;
  boost::json::object raw;
};

StatusOr<DeleteBackupRequest> DeleteBackupRequestFromJson(const boost::json::value& v);
boost::json::value ToJson(const DeleteBackupRequest& r);

}  // namespace lifeboat::api
