// Strategic merge patch, with the semantics of k8s.io/apimachinery/pkg/util/strategicpatch as
// kube-apiserver runs it (MergeParallelList and IgnoreUnmatchedNulls on).

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lifeboat/common/json_patch.h"

namespace lifeboat::jsonpatch {
namespace {

namespace json = boost::json;

constexpr std::string_view kDirective = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";

Status BadRequest(const std::string& msg) { return absl::InvalidArgumentError(msg); }
Status Unprocessable(const std::string& msg) { return absl::FailedPreconditionError(msg); }

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

StatusOr<json::object> MergeMap(json::object original, const json::object& patch,
                                const SchemaNode* schema);

// The identity of a list item for merging and ordering: its merge key's value, or the item
// itself for lists of primitives.
const json::value* ItemKey(const json::value& item, const std::string& merge_key) {
  if (merge_key.empty()) return &item;
  if (!item.is_object()) return nullptr;
  auto it = item.get_object().find(merge_key);
  return it == item.get_object().end() ? nullptr : &it->value();
}

std::optional<size_t> IndexOf(const json::array& list, const json::value& key,
                              const std::string& merge_key) {
  for (size_t i = 0; i < list.size(); ++i) {
    const json::value* k = ItemKey(list[i], merge_key);
    if (k != nullptr && JsonEqual(*k, key)) return i;
  }
  return std::nullopt;
}

// Orders a merged list: items named by `order` (the patch list or $setElementOrder) in that
// order, the others ("server-only") in their live order, interleaved so that both keep their
// relative order and server-only items stay next to the live items they followed.
json::array NormalizeOrder(const json::array& merged, const json::array& order,
                           const json::array& server, const std::string& merge_key) {
  struct Item {
    const json::value* v;
    std::optional<size_t> order_pos;
    std::optional<size_t> server_pos;
  };
  std::vector<Item> patch_items, server_only;
  for (const json::value& v : merged) {
    const json::value* key = ItemKey(v, merge_key);
    std::optional<size_t> op = key ? IndexOf(order, *key, merge_key) : std::nullopt;
    std::optional<size_t> sp = key ? IndexOf(server, *key, merge_key) : std::nullopt;
    (op ? patch_items : server_only).push_back(Item{&v, op, sp});
  }
  std::stable_sort(patch_items.begin(), patch_items.end(),
                   [](const Item& a, const Item& b) { return *a.order_pos < *b.order_pos; });
  std::stable_sort(server_only.begin(), server_only.end(), [](const Item& a, const Item& b) {
    if (a.server_pos && b.server_pos) return *a.server_pos < *b.server_pos;
    return a.server_pos.has_value() && !b.server_pos.has_value();
  });
  // A patch item goes before a server-only one only when both are live and it was earlier.
  auto less = [](const Item& l, const Item& r) {
    if (l.server_pos && r.server_pos) return *l.server_pos < *r.server_pos;
    return l.server_pos.has_value() && !r.server_pos.has_value();
  };
  json::array out;
  size_t i = 0, j = 0;
  while (i < patch_items.size() && j < server_only.size()) {
    if (less(patch_items[i], server_only[j]))
      out.push_back(*patch_items[i++].v);
    else
      out.push_back(*server_only[j++].v);
  }
  for (; i < patch_items.size(); ++i) out.push_back(*patch_items[i].v);
  for (; j < server_only.size(); ++j) out.push_back(*server_only[j].v);
  return out;
}

// A patch value merged into nothing: directives are processed and dropped.
StatusOr<json::value> Fresh(const json::value& patch, const SchemaNode* schema);

StatusOr<json::array> MergeList(const json::array& original, const json::array& patch,
                                const SchemaNode* list) {
  if (!list->smp_merge) {
    json::array out;
    for (const json::value& v : patch) {
      if (v.is_object()) {
        LIFEBOAT_ASSIGN_OR_RETURN(json::value fresh, Fresh(v, list->Elem()));
        out.push_back(std::move(fresh));
      } else {
        out.push_back(v);
      }
    }
    return out;
  }
  const std::string& key = list->smp_key;
  if (key.empty()) {
    json::array merged;
    for (const json::array* src : {&original, &patch}) {
      for (const json::value& v : *src) {
        if (!IndexOf(merged, v, "")) merged.push_back(v);
      }
    }
    return NormalizeOrder(merged, patch, original, "");
  }
  json::array merged = original;
  json::array plain;
  bool replace = false;
  for (const json::value& item : patch) {
    if (!item.is_object()) {
      return BadRequest("unable to merge list: item " + json::serialize(item) +
                        " is not a map with merge key \"" + key + "\"");
    }
    const json::object& obj = item.get_object();
    auto d = obj.find(kDirective);
    if (d == obj.end()) {
      if (!obj.contains(key)) {
        return BadRequest("map: " + json::serialize(item) +
                          " does not contain declared merge key: " + key);
      }
      plain.push_back(item);
      continue;
    }
    if (d->value() == "delete") {
      auto k = obj.find(key);
      if (k == obj.end())
        return BadRequest("map: " + json::serialize(item) +
                          " does not contain declared merge key: " + key);
      json::array kept;
      for (const json::value& m : merged) {
        const json::value* mk = ItemKey(m, key);
        if (mk == nullptr || !JsonEqual(*mk, k->value())) kept.push_back(m);
      }
      merged = std::move(kept);
    } else if (d->value() == "replace") {
      replace = true;
    } else if (d->value() == "merge") {
      return BadRequest("merging lists cannot yet be specified in the patch");
    } else {
      return BadRequest("unknown patch type: " + json::serialize(d->value()) +
                        " in map: " + json::serialize(item));
    }
  }
  if (replace) merged.clear();
  for (const json::value& item : plain) {
    const json::value& k = item.get_object().at(key);
    std::optional<size_t> at = IndexOf(merged, k, key);
    if (at && merged[*at].is_object()) {
      LIFEBOAT_ASSIGN_OR_RETURN(
          json::object m, MergeMap(merged[*at].get_object(), item.get_object(), list->Elem()));
      merged[*at] = std::move(m);
    } else {
      LIFEBOAT_ASSIGN_OR_RETURN(json::value fresh, Fresh(item, list->Elem()));
      merged.push_back(std::move(fresh));
    }
  }
  if (replace) return merged;
  return NormalizeOrder(merged, plain, original, key);
}

StatusOr<json::value> Fresh(const json::value& patch, const SchemaNode* schema) {
  if (patch.is_object()) {
    LIFEBOAT_ASSIGN_OR_RETURN(json::object m, MergeMap(json::object(), patch.get_object(), schema));
    return json::value(std::move(m));
  }
  if (patch.is_array()) {
    LIFEBOAT_ASSIGN_OR_RETURN(json::array a, MergeList(json::array(), patch.get_array(), schema));
    return json::value(std::move(a));
  }
  return patch;
}

Status ApplyRetainKeys(json::object& original, const json::object& patch,
                       const json::value& retain) {
  if (!retain.is_array()) return BadRequest("invalid patch format of retainKeys");
  std::vector<std::string> keys;
  for (const json::value& k : retain.get_array()) {
    if (!k.is_string()) return BadRequest("invalid patch format of retainKeys");
    keys.emplace_back(k.get_string());
  }
  auto retained = [&](std::string_view k) {
    return std::find(keys.begin(), keys.end(), k) != keys.end();
  };
  for (const auto& kv : patch) {
    if (StartsWith(kv.key(), "$") || kv.value().is_null()) continue;
    if (!retained(kv.key())) return Unprocessable("patch content doesn't match retainKeys list");
  }
  std::vector<std::string> drop;
  for (const auto& kv : original) {
    if (!retained(kv.key())) drop.emplace_back(kv.key());
  }
  for (const std::string& k : drop) original.erase(k);
  return absl::OkStatus();
}

StatusOr<json::object> MergeMap(json::object original, const json::object& patch,
                                const SchemaNode* schema) {
  if (auto d = patch.find(kDirective); d != patch.end()) {
    if (d->value() == "delete") return json::object();
    if (d->value() == "replace") {
      json::object rest = patch;
      rest.erase(kDirective);
      return MergeMap(json::object(), rest, schema);
    }
    return BadRequest("unknown patch type: " + json::serialize(d->value()) +
                      " in map: " + json::serialize(patch));
  }
  if (auto r = patch.find(kRetainKeys); r != patch.end()) {
    LIFEBOAT_RETURN_IF_ERROR(ApplyRetainKeys(original, patch, r->value()));
  }
  // Deletions from primitive lists first, then the fields, then the orderings.
  for (const auto& kv : patch) {
    if (!StartsWith(kv.key(), kDeleteFromPrimitiveList)) continue;
    if (!kv.value().is_array()) return BadRequest("invalid patch format of primitive list");
    std::string field(std::string_view(kv.key()).substr(kDeleteFromPrimitiveList.size()));
    auto it = original.find(field);
    if (it == original.end() || !it->value().is_array()) continue;
    json::array kept;
    for (const json::value& v : it->value().get_array()) {
      if (!IndexOf(kv.value().get_array(), v, "")) kept.push_back(v);
    }
    it->value() = std::move(kept);
  }
  // $setElementOrder orders relative to the live list as it was before this patch.
  std::map<std::string, json::array, std::less<>> live_lists;
  for (const auto& kv : patch) {
    if (!StartsWith(kv.key(), kSetElementOrder)) continue;
    std::string_view field = std::string_view(kv.key()).substr(kSetElementOrder.size());
    auto it = original.find(field);
    if (it != original.end() && it->value().is_array())
      live_lists[std::string(field)] = it->value().get_array();
  }
  for (const auto& kv : patch) {
    std::string_view key = kv.key();
    if (key == kDirective || key == kRetainKeys || StartsWith(key, kDeleteFromPrimitiveList))
      continue;
    if (StartsWith(key, kSetElementOrder)) {
      if (!kv.value().is_array()) return BadRequest("invalid patch format of setElementOrder list");
      continue;
    }
    if (kv.value().is_null()) {
      original.erase(key);
      continue;
    }
    const SchemaNode* field = schema->Field(key);
    auto it = original.find(key);
    const json::value& pv = kv.value();
    if (it != original.end() && pv.is_object() && it->value().is_object()) {
      LIFEBOAT_ASSIGN_OR_RETURN(json::object m,
                                MergeMap(it->value().get_object(), pv.get_object(), field));
      it->value() = std::move(m);
    } else if (it != original.end() && pv.is_array() && it->value().is_array()) {
      LIFEBOAT_ASSIGN_OR_RETURN(json::array m,
                                MergeList(it->value().get_array(), pv.get_array(), field));
      it->value() = std::move(m);
    } else {
      LIFEBOAT_ASSIGN_OR_RETURN(json::value fresh, Fresh(pv, field));
      original[key] = std::move(fresh);
    }
  }
  for (const auto& kv : patch) {
    if (!StartsWith(kv.key(), kSetElementOrder)) continue;
    std::string_view field = std::string_view(kv.key()).substr(kSetElementOrder.size());
    auto it = original.find(field);
    if (it == original.end() || !it->value().is_array()) continue;
    const SchemaNode* list = schema->Field(field);
    std::string merge_key = list->smp_merge ? list->smp_key : std::string();
    auto live = live_lists.find(field);
    const json::array& server = live == live_lists.end() ? json::array() : live->second;
    it->value() =
        NormalizeOrder(it->value().get_array(), kv.value().get_array(), server, merge_key);
  }
  return original;
}

}  // namespace

bool SupportsStrategicMerge(std::string_view group, std::string_view kind) {
  return IsBuiltinGroup(group);
}

StatusOr<boost::json::value> ApplyStrategicMergePatch(const boost::json::value& target,
                                                      const boost::json::value& patch,
                                                      std::string_view group,
                                                      std::string_view kind) {
  if (!patch.is_object()) {
    return BadRequest("json: cannot unmarshal " +
                      std::string(patch.is_array() ? "array" : "value") +
                      " into Go value of type map[string]interface {}");
  }
  json::object original = target.is_object() ? target.get_object() : json::object();
  LIFEBOAT_ASSIGN_OR_RETURN(json::object merged, MergeMap(std::move(original), patch.get_object(),
                                                          RootSchema(group, kind)));
  return json::value(std::move(merged));
}

}  // namespace lifeboat::jsonpatch
