#include "kubesim/src/api/api_status.h"

#include "absl/strings/cord.h"

namespace kubesim {
namespace {

constexpr char kPayloadUrl[] = "type.kubesim.dev/metav1.Status";

int CodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists: return 409;
    case absl::StatusCode::kAborted: return 409;
    case absl::StatusCode::kFailedPrecondition: return 422;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    case absl::StatusCode::kUnimplemented: return 405;
    default: return 500;
  }
}

std::string_view ReasonFor(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "InternalError";
  }
}

absl::StatusCode AbslCodeFor(int code, std::string_view reason) {
  switch (code) {
    case 400: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404: return absl::StatusCode::kNotFound;
    case 405: return absl::StatusCode::kUnimplemented;
    case 409:
      return reason == "AlreadyExists" ? absl::StatusCode::kAlreadyExists
                                       : absl::StatusCode::kAborted;
    case 410: return absl::StatusCode::kOutOfRange;
    case 413:
    case 415:
    case 422: return absl::StatusCode::kFailedPrecondition;
    case 429: return absl::StatusCode::kResourceExhausted;
    case 503: return absl::StatusCode::kUnavailable;
    case 504: return absl::StatusCode::kDeadlineExceeded;
    default: return absl::StatusCode::kInternal;
  }
}

boost::json::object Details(const GroupResource& gr, std::string_view name, std::string_view kind_key) {
  boost::json::object d;
  d["name"] = name;
  d["group"] = gr.group;
  d["kind"] = gr.resource;
  return d;
}

}  // namespace

absl::Status ApiError(int code, std::string_view reason, std::string_view message,
                      boost::json::object details) {
  absl::Status s(AbslCodeFor(code, reason), std::string(message));
  boost::json::object payload;
  payload["code"] = code;
  payload["reason"] = reason;
  payload["details"] = std::move(details);
  s.SetPayload(kPayloadUrl, absl::Cord(boost::json::serialize(payload)));
  return s;
}

absl::Status NotFoundError(const GroupResource& gr, std::string_view name) {
  return ApiError(404, "NotFound", gr.String() + " \"" + std::string(name) + "\" not found",
                  Details(gr, name, ""));
}

absl::Status AlreadyExistsError(const GroupResource& gr, std::string_view name) {
  return ApiError(409, "AlreadyExists",
                  gr.String() + " \"" + std::string(name) + "\" already exists",
                  Details(gr, name, ""));
}

absl::Status ConflictError(const GroupResource& gr, std::string_view name, std::string_view why) {
  return ApiError(409, "Conflict",
                  "Operation cannot be fulfilled on " + gr.String() + " \"" + std::string(name) +
                      "\": " + std::string(why),
                  Details(gr, name, ""));
}

absl::Status InvalidError(std::string_view group, std::string_view kind, std::string_view name,
                          const std::vector<FieldCause>& causes) {
  boost::json::object d;
  d["name"] = name;
  d["group"] = group;
  d["kind"] = kind;
  boost::json::array arr;
  for (const auto& c : causes) {
    arr.push_back(boost::json::object{{"reason", c.reason}, {"message", c.message}, {"field", c.field}});
  }
  d["causes"] = std::move(arr);
  std::string qualified = group.empty() ? std::string(kind) : std::string(kind) + "." + std::string(group);
  return ApiError(422, "Invalid", FormatInvalidMessage(qualified, name, causes), std::move(d));
}

absl::Status BadRequestError(std::string_view message) {
  return ApiError(400, "BadRequest", message);
}

absl::Status MethodNotSupportedError(const GroupResource& gr, std::string_view verb) {
  boost::json::object d;
  d["group"] = gr.group;
  d["kind"] = gr.resource;
  return ApiError(405, "MethodNotAllowed",
                  "the server does not allow this method on the requested resource", std::move(d));
}

absl::Status ForbiddenError(const GroupResource& gr, std::string_view name, std::string_view why) {
  std::string msg = gr.String();
  if (!name.empty()) msg += " \"" + std::string(name) + "\"";
  msg += " is forbidden: " + std::string(why);
  return ApiError(403, "Forbidden", msg, Details(gr, name, ""));
}

absl::Status GoneError(std::string_view message) { return ApiError(410, "Gone", message); }
absl::Status ExpiredError(std::string_view message) { return ApiError(410, "Expired", message); }

absl::Status UnsupportedMediaTypeError(std::string_view content_type) {
  return ApiError(415, "UnsupportedMediaType",
                  "the body of the request was in an unknown format - accepted media types "
                  "include: application/json-patch+json, application/merge-patch+json, "
                  "application/apply-patch+yaml, application/strategic-merge-patch+json"
                  " (got \"" + std::string(content_type) + "\")");
}

absl::Status TooLargeError(std::string_view message) {
  return ApiError(413, "RequestEntityTooLarge", message);
}

absl::Status TooManyRequestsError(int retry_after_seconds) {
  boost::json::object d;
  d["retryAfterSeconds"] = retry_after_seconds;
  d["causes"] = boost::json::array{boost::json::object{
      {"reason", "TooManyRequests"},
      {"message", "kubesim fault injection: too many requests"}}};
  return ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                  std::move(d));
}

absl::Status InternalError(std::string_view message) {
  return ApiError(500, "InternalError",
                  "Internal error occurred: " + std::string(message));
}

ApiErrorInfo ErrorInfo(const absl::Status& status) {
  ApiErrorInfo info;
  auto payload = status.GetPayload(kPayloadUrl);
  if (payload) {
    boost::system::error_code ec;
    auto v = boost::json::parse(std::string(*payload), ec);
    if (!ec && v.is_object()) {
      const auto& o = v.as_object();
      info.code = static_cast<int>(o.at("code").to_number<int64_t>());
      info.reason = std::string(o.at("reason").as_string());
      info.details = o.at("details").as_object();
      return info;
    }
  }
  info.code = CodeFor(status.code());
  info.reason = std::string(ReasonFor(info.code));
  return info;
}

boost::json::object StatusBody(const absl::Status& status) {
  boost::json::object o;
  o["kind"] = "Status";
  o["apiVersion"] = "v1";
  o["metadata"] = boost::json::object();
  if (status.ok()) {
    o["status"] = "Success";
    return o;
  }
  ApiErrorInfo info = ErrorInfo(status);
  o["status"] = "Failure";
  o["message"] = std::string(status.message());
  o["reason"] = info.reason;
  if (!info.details.empty()) o["details"] = info.details;
  o["code"] = info.code;
  return o;
}

}  // namespace kubesim
