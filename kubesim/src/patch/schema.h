#pragma once

// The few facts about the built-in Kubernetes types that patching needs: which lists merge by
// key (strategic merge patch's patchMergeKey/patchStrategy tags, and server-side apply's
// listType/listMapKeys), which lists of primitives merge as sets, and which maps are atomic.
// Everything not described here behaves like an untyped object: maps merge field by field,
// lists are replaced whole (atomic).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace kubesim::patch_internal {

// A key field of a server-side-apply list map, with the value the API server defaults it to
// (e.g. container port protocol "TCP"), used when an item omits it.
struct ListMapKey {
  std::string name;
  std::optional<boost::json::value> default_value;
};

struct SchemaNode {
  // Object fields with a schema of their own; unknown fields get an empty (untyped) node.
  std::map<std::string, const SchemaNode*, std::less<>> fields;
  // Schema of list items (or map values) when this node is a list (or a map of objects).
  const SchemaNode* elem = nullptr;

  // Strategic merge patch: patchStrategy "merge". With an empty smp_key the list holds
  // primitives and merges as a set; otherwise items merge by that key.
  bool smp_merge = false;
  std::string smp_key;

  // Server-side apply list type.
  enum class ListType { kAtomic, kMap, kSet };
  ListType list_type = ListType::kAtomic;
  std::vector<ListMapKey> keys;  // for kMap, sorted by name
  bool atomic_map = false;       // +structType=atomic / +mapType=atomic

  // The schema of field `name`, never null (an untyped node when unknown).
  const SchemaNode* Field(std::string_view name) const;
  // The schema of list items, never null.
  const SchemaNode* Elem() const;
};

// The untyped node: maps merge recursively, lists are atomic.
const SchemaNode* UntypedNode();

// The root schema of a kind; the untyped node for kinds we do not describe.
const SchemaNode* RootSchema(std::string_view group, std::string_view kind);

// Whether `group` is served by kube-apiserver itself (not a custom resource).
bool IsBuiltinGroup(std::string_view group);

}  // namespace kubesim::patch_internal
