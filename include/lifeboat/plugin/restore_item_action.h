#pragma once

// RestoreItemAction: Velero's plugin kind that sees every item before it is created in the
// target cluster and may change it, skip it, or name other items of the backup that must be
// restored before it (a pod's PVCs, a PVC's PV). Built-in actions (src/restore/actions/)
// implement it in-process; out-of-process plugins will later be adapted to the same interface.
//
// What an action sees (Velero's restoreItem order): the item as read from the backup, with
// server-set metadata stripped (uid, resourceVersion, creationTimestamp, ownerReferences, ...)
// and `status` removed, still in its ORIGINAL namespace; the engine maps the namespace
// (spec.namespaceMapping), applies resource modifiers and adds the restore labels after the
// actions ran. So an action that writes a namespace into a reference (a PV's claimRef, a
// binding's subjects) maps it itself through RestoreContext::MapNamespace.
//
// Thread safety: Execute may be called from several threads at once.

#include <chrono>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/restore.h"
#include "lifeboat/common/status.h"
#include "lifeboat/plugin/backup_item_action.h"

namespace lifeboat::plugin {

// What the restore knows when an action runs. Everything is read-only and outlives the call.
struct RestoreContext {
  const api::Restore* restore = nullptr;  // spec (namespaceMapping, preserveNodePorts, ...)
  std::string restore_uid;                // metadata.uid of the Restore (may be generated)
  std::string velero_namespace;           // where the Restore object and plugin ConfigMaps live
  std::string backup_name;

  // spec.namespaceMapping[ns] if present, else ns.
  std::string MapNamespace(const std::string& ns) const {
    if (restore == nullptr) return ns;
    auto it = restore->spec.namespace_mapping.find(ns);
    return it == restore->spec.namespace_mapping.end() ? ns : it->second;
  }
};

struct RestoreItemActionInput {
  boost::json::value item;                     // as it will be created (mutable copy)
  const boost::json::value* item_from_backup;  // the item exactly as in the archive
  const RestoreContext* context;
};

struct RestoreItemActionOutput {
  boost::json::value item;  // the item to create (possibly changed)
  // Items of the backup (ORIGINAL namespace) to restore before this one; a missing one is a
  // warning. Cluster-scoped ones are restored unless includeClusterResources is false.
  std::vector<ResourceIdentifier> additional_items;
  bool skip_restore = false;  // do not create this item (recorded as skipped)
  // Asynchronous operations (v2 actions); empty for synchronous actions.
  std::string operation_id;
  bool wait_for_additional_items = false;
  std::chrono::seconds additional_items_ready_timeout{0};
};

class RestoreItemAction {
 public:
  virtual ~RestoreItemAction() = default;
  // "velero.io/pod": the name in logs and in item-operation records.
  virtual std::string Name() const = 0;
  virtual ResourceSelector AppliesTo() const = 0;
  // Errors are recorded against the item ("error preparing <item>: ..."): the item is not
  // restored and the restore ends PartiallyFailed.
  virtual StatusOr<RestoreItemActionOutput> Execute(RestoreItemActionInput input) = 0;
};

}  // namespace lifeboat::plugin
