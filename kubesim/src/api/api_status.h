#pragma once

// Kubernetes API errors. Inside kubesim an error is an absl::Status whose payload carries the
// HTTP code, the StatusReason and the details of the metav1.Status the client will receive;
// StatusBody() turns any Status into that JSON, so every error a client sees is a proper Status.

#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "kubesim/src/meta/validation.h"
#include "lifeboat/common/status.h"

namespace kubesim {

struct ApiErrorInfo {
  int code = 500;
  std::string reason;  // "NotFound", "AlreadyExists", "Conflict", "Invalid", ...
  boost::json::object details;  // name, group, kind, causes, retryAfterSeconds
};

// An error with an explicit HTTP code, reason and message.
absl::Status ApiError(int code, std::string_view reason, std::string_view message,
                      boost::json::object details = {});

// The canonical errors, worded as kube-apiserver words them. `gr` is the group/resource as
// {"group", "resource"}; kube-apiserver prints "deployments.apps" or "pods".
struct GroupResource {
  std::string group;
  std::string resource;
  std::string String() const { return group.empty() ? resource : resource + "." + group; }
};
absl::Status NotFoundError(const GroupResource& gr, std::string_view name);
absl::Status AlreadyExistsError(const GroupResource& gr, std::string_view name);
absl::Status ConflictError(const GroupResource& gr, std::string_view name, std::string_view why);
absl::Status InvalidError(std::string_view group, std::string_view kind, std::string_view name,
                          const std::vector<FieldCause>& causes);
absl::Status BadRequestError(std::string_view message);
absl::Status MethodNotSupportedError(const GroupResource& gr, std::string_view verb);
absl::Status ForbiddenError(const GroupResource& gr, std::string_view name, std::string_view why);
absl::Status GoneError(std::string_view message);      // 410, reason Gone
absl::Status ExpiredError(std::string_view message);   // 410, reason Expired
absl::Status UnsupportedMediaTypeError(std::string_view content_type);
absl::Status TooLargeError(std::string_view message);  // 413, RequestEntityTooLarge
absl::Status TooManyRequestsError(int retry_after_seconds);
absl::Status InternalError(std::string_view message);

// The details of `status` (a plain absl::Status without payload maps by its code).
ApiErrorInfo ErrorInfo(const absl::Status& status);
// The metav1.Status object for `status` (OK gives a Success status).
boost::json::object StatusBody(const absl::Status& status);

}  // namespace kubesim
