#pragma once

// The built-in BackupItemActions (builtin_actions.h lists them in registration order). Each is
// Velero's action of the same name (pkg/backup/actions, pkg/util/actionhelpers): same
// AppliesTo, same changes to the item, same additional items.
//
// Thread safety: Execute may be called from several threads at once on one instance.

#include <boost/json.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/plugin/backup_item_action.h"

namespace lifeboat::backup {

// velero.io/pod: a pod's PriorityClass (spec.priorityClassName) and the PVCs its volumes name
// (spec.volumes[].persistentVolumeClaim.claimName, in the pod's namespace), in that order. The
// item is returned unchanged. InvalidArgument when the item is not a JSON object.
class PodAction : public plugin::BackupItemAction {
 public:
  std::string Name() const override { return "velero.io/pod"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::ExecuteOutput> Execute(boost::json::value item,
                                          const plugin::BackupContext& backup) override;
};

// velero.io/pv (it applies to persistentvolumeclaims): for a claim that is Bound with
// spec.volumeName set, the PV is the additional item and the claim is cleaned as Velero does
// so that a restore provisions it afresh: spec.dataSource and spec.dataSourceRef removed,
// spec.selector removed unless spec.storageClassName is explicitly "", "velero.io/" keys
// removed from the selector's matchLabels, and the stale labels velero.io/restore-name,
// velero.io/volume-snapshot-name and a velero.io/backup-name naming another backup removed.
// Other claims are returned unchanged. InvalidArgument when the item is not a JSON object.
class PvcAction : public plugin::BackupItemAction {
 public:
  std::string Name() const override { return "velero.io/pv"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::ExecuteOutput> Execute(boost::json::value item,
                                          const plugin::BackupContext& backup) override;
};

// velero.io/service-account: every ClusterRoleBinding with a ServiceAccount subject of the
// account's name and namespace, and the ClusterRole each refers to (bindings sorted by name,
// then roles sorted by name, each once). The bindings are listed once per instance (the first
// Execute; Velero lists them when the action is created for a backup), through the preferred
// version of rbac.authorization.k8s.io; a cluster that does not serve that group has none. A
// failed list is returned (annotated) and retried by the next Execute.
class ServiceAccountAction : public plugin::BackupItemAction {
 public:
  // `client` is borrowed and must outlive the action.
  explicit ServiceAccountAction(kube::DynamicClient* client) : client_(client) {}
  std::string Name() const override { return "velero.io/service-account"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::ExecuteOutput> Execute(boost::json::value item,
                                          const plugin::BackupContext& backup) override;

  // What the action keeps of one ClusterRoleBinding.
  struct Binding {
    std::string name;
    std::string role;                                           // roleRef.name
    std::vector<std::pair<std::string, std::string>> accounts;  // ServiceAccount subjects: ns, name
  };

 private:
  // The cached list (loaded on first use). Errors as DynamicClient::List.
  StatusOr<const std::vector<Binding>*> Bindings();

  kube::DynamicClient* client_;
  std::mutex mu_;  // guards bindings_; held while listing so the list is fetched once
  std::optional<std::vector<Binding>> bindings_;
};

}  // namespace lifeboat::backup
