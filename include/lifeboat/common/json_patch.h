#pragma once

// The three patch algorithms kube-apiserver accepts besides server-side apply, with its
// semantics and error wording, over unstructured objects (Boost.JSON): RFC 7386 JSON merge
// patch, RFC 6902 JSON patch and Kubernetes' strategic merge patch. Used by kubesim (which
// serves them) and by the restore engine (Velero's resource modifiers).
//
// Error codes:
//   InvalidArgument      the patch document is malformed (kube-apiserver: 400 BadRequest)
//   FailedPrecondition   the patch is well formed but cannot be applied, e.g. a JSON-patch
//                        `test` fails or a path does not exist (422 Invalid);
//                        IsJsonPatchTestFailure() tells a failed `test` from other failures
//
// Nothing here touches metadata.resourceVersion, uid or other server-set fields beyond what the
// patch itself says. The target is never modified: results are new values.
//
// Thread safety: all functions are pure and may be called concurrently; the schema table is
// built once, on first use, and immutable afterwards.

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/status.h"

namespace lifeboat::jsonpatch {

// RFC 7386 JSON merge patch (application/merge-patch+json). Never fails.
StatusOr<boost::json::value> ApplyMergePatch(const boost::json::value& target,
                                             const boost::json::value& patch);

// RFC 6902 JSON patch (application/json-patch+json): add, remove, replace, move, copy, test;
// RFC 6901 pointers with ~0/~1 escapes and "-" for appending. All or nothing: on failure the
// target is unchanged (the result is not returned).
StatusOr<boost::json::value> ApplyJsonPatch(const boost::json::value& target,
                                            const boost::json::value& patch);

// Whether `status` is ApplyJsonPatch's failure of a `test` operation (the value differs or the
// path does not exist), as opposed to a malformed patch or another operation failing.
bool IsJsonPatchTestFailure(const Status& status);

// Strategic merge patch (application/strategic-merge-patch+json) for built-in kinds, driven by
// the patchMergeKey/patchStrategy tags of the Kubernetes types: e.g. containers,
// initContainers, ephemeralContainers, volumes, env, volumeMounts (mountPath), imagePullSecrets
// and hostAliases merge by their key (name, ip, ...), container ports by containerPort,
// service ports by port, conditions by type, ownerReferences by uid; finalizers merge as a set
// of primitives; lists without a strategy (tolerations, args, ...) are replaced.
// Directives: `$patch: replace|merge|delete` (on maps and list elements),
// `$retainKeys`, `$setElementOrder/<field>`, `$deleteFromPrimitiveList/<field>`; null deletes.
// `group`/`kind` select the schema (e.g. "apps"/"Deployment").
StatusOr<boost::json::value> ApplyStrategicMergePatch(const boost::json::value& target,
                                                      const boost::json::value& patch,
                                                      std::string_view group,
                                                      std::string_view kind);

// Whether kube-apiserver accepts strategic merge patches for the kind: true for built-in
// kinds, false for custom resources (which get 415 UnsupportedMediaType).
bool SupportsStrategicMerge(std::string_view group, std::string_view kind);

// JSON equality as RFC 6902 `test` defines it: numbers compare by value whatever their
// representation (1 == 1.0), objects regardless of member order.
bool JsonEqual(const boost::json::value& a, const boost::json::value& b);

// ---------------------------------------------------------------------------------------------
// The few facts about the built-in Kubernetes types that patching needs: which lists merge by
// key (strategic merge patch's patchMergeKey/patchStrategy tags, and server-side apply's
// listType/listMapKeys, which kubesim uses), which lists of primitives merge as sets, and which
// maps are atomic. Everything not described here behaves like an untyped object: maps merge
// field by field, lists are replaced whole (atomic).

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

// The untyped node: maps merge recursively, lists are atomic. Never null; process lifetime.
const SchemaNode* UntypedNode();

// The root schema of a kind; the generic node (metadata only) for kinds not described.
// Never null; process lifetime.
const SchemaNode* RootSchema(std::string_view group, std::string_view kind);

// Whether `group` is served by kube-apiserver itself (not a custom resource).
bool IsBuiltinGroup(std::string_view group);

}  // namespace lifeboat::jsonpatch
