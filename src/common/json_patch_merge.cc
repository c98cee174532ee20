// RFC 7386 JSON merge patch.

#include "lifeboat/common/json_patch.h"

namespace lifeboat::jsonpatch {
namespace {

namespace json = boost::json;

json::value Merge(const json::value* target, const json::value& patch) {
  if (!patch.is_object()) return patch;
  json::object result =
      target != nullptr && target->is_object() ? target->get_object() : json::object();
  for (const auto& kv : patch.get_object()) {
    if (kv.value().is_null()) {
      result.erase(kv.key());
      continue;
    }
    auto it = result.find(kv.key());
    json::value merged = Merge(it == result.end() ? nullptr : &it->value(), kv.value());
    result[kv.key()] = std::move(merged);
  }
  return result;
}

}  // namespace

StatusOr<boost::json::value> ApplyMergePatch(const boost::json::value& target,
                                             const boost::json::value& patch) {
  return Merge(&target, patch);
}

}  // namespace lifeboat::jsonpatch
