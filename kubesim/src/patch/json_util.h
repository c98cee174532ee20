#pragma once

// Small helpers over Boost.JSON shared by the patch implementations.

#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace kubesim::patch_internal {

// JSON equality as RFC 6902 `test` defines it: numbers compare by value whatever their
// representation (1 == 1.0), objects regardless of member order.
bool JsonEqual(const boost::json::value& a, const boost::json::value& b);

// Compact serialization (for messages and fieldsV1 keys).
std::string Compact(const boost::json::value& v);

// A JSON string value.
inline boost::json::value Str(std::string_view s) { return boost::json::value(boost::json::string(s)); }

}  // namespace kubesim::patch_internal
