#pragma once

// BackupItemAction: Velero's plugin kind that sees every item before it is written to a backup
// and may change it, drop it, or name other items that must travel with it (a pod's PVCs, a
// PVC's PV, a custom resource's CRD). Built-in actions implement it in-process; out-of-process
// plugins will later be adapted to the same interface.
//
// Thread safety: Execute may be called from several threads at once.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/status.h"

namespace lifeboat::plugin {

// A group/resource and an object (Velero's velero.ResourceIdentifier). `group` is "" for core.
struct ResourceIdentifier {
  std::string group;
  std::string resource;  // plural, lower case: "persistentvolumeclaims"
  std::string ns;        // empty for cluster-scoped objects
  std::string name;
  // "persistentvolumeclaims" or "deployments.apps": Velero's group-resource spelling.
  std::string GroupResource() const { return group.empty() ? resource : resource + "." + group; }
  friend auto operator<=>(const ResourceIdentifier&, const ResourceIdentifier&) = default;
};

// Which items an action wants (Velero's ResourceSelector). Empty lists mean "all"; resources
// are group-resource strings ("pods", "persistentvolumeclaims", "serviceaccounts",
// "customresourcedefinitions.apiextensions.k8s.io") or "*".
struct ResourceSelector {
  std::vector<std::string> included_namespaces;
  std::vector<std::string> excluded_namespaces;
  std::vector<std::string> included_resources;
  std::vector<std::string> excluded_resources;
  std::string label_selector;  // kubectl form; empty: every item
};

// Velero's test of an action's selector against an item: its group-resource, namespace ("" for
// cluster-scoped items, which namespace lists do not filter) and labels. An unparsable
// label_selector matches nothing.
bool SelectorApplies(const ResourceSelector& selector, std::string_view group_resource,
                     std::string_view ns, const std::map<std::string, std::string>& labels);

// What the backup knows when an action runs.
struct BackupContext {
  std::string backup_name;
  std::string backup_uid;
  std::string backup_namespace;  // the namespace of the Backup object ("velero")
  boost::json::object backup;    // the Backup object (spec and metadata), read-only
};

struct ExecuteOutput {
  boost::json::value item;  // the item to write (possibly changed)
  std::vector<ResourceIdentifier> additional_items;
  // Asynchronous operations (v2 actions): an ID to poll later, and the items to re-read when
  // it completes. Empty for synchronous actions.
  std::string operation_id;
  std::vector<ResourceIdentifier> post_operation_items;
};

class BackupItemAction {
 public:
  virtual ~BackupItemAction() = default;
  // "velero.io/pod": the name in logs and in item-operation records.
  virtual std::string Name() const = 0;
  virtual ResourceSelector AppliesTo() const = 0;
  // Errors are recorded against the item (the backup goes on, PartiallyFailed); the item is then
  // written unchanged.
  virtual StatusOr<ExecuteOutput> Execute(boost::json::value item, const BackupContext& backup) = 0;
};

}  // namespace lifeboat::plugin
