#pragma once

// Small, total helpers over Boost.JSON for data that comes from outside (API servers, buckets,
// users): parsing with a clear error instead of an exception, and typed lookups that return
// nothing instead of throwing when a field is missing or of another type.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "lifeboat/common/status.h"

namespace lifeboat {

struct JsonLimits {
  size_t max_depth = 1000;
  size_t max_bytes = 256u * 1024 * 1024;
};

// InvalidArgument "invalid JSON at offset N: <reason>" when malformed, too deep or too large.
StatusOr<boost::json::value> ParseJson(std::string_view text, const JsonLimits& limits = {});

// The value at a path of object keys, or nullptr.
const boost::json::value* JsonFind(const boost::json::value& v, std::initializer_list<std::string_view> path);
std::optional<std::string> JsonString(const boost::json::value& v, std::initializer_list<std::string_view> path);
// Integers, and doubles that hold a whole number.
std::optional<int64_t> JsonInt(const boost::json::value& v, std::initializer_list<std::string_view> path);
std::optional<bool> JsonBool(const boost::json::value& v, std::initializer_list<std::string_view> path);

// What Go's json.Marshal writes for the same unstructured object (how Velero writes every item
// of a backup): compact, object keys sorted by their bytes at every level, Go's string escaping
// (including <, >, & and U+2028/9 as \uXXXX, invalid UTF-8 as \ufffd) and Go's number
// formatting (integers as such, floats in shortest form, 'e' notation outside [1e-6, 1e21)).
std::string CanonicalJson(const boost::json::value& v);

// What the Kubernetes JSON serializer writes in pretty mode (Go's json.MarshalIndent with two
// spaces, and no newline after it): keys in the object's own order, Go's escaping and numbers. Velero
// writes velero-backup.json this way.
std::string GoJsonIndent(const boost::json::value& v);

}  // namespace lifeboat
