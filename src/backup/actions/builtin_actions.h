#pragma once

// The built-in BackupItemActions Velero ships (§5.7), each its own small unit:
//   velero.io/pod              pods: the PVCs its volumes use and its PriorityClass
//   velero.io/pv               persistentvolumeclaims: the bound PV (and Velero's clean-ups of
//                              the PVC: dataSource, selector, stale velero.io labels)
//   velero.io/service-account  serviceaccounts: the ClusterRoleBindings naming it and their
//                              ClusterRoles
// The CSI actions come with the volume-snapshot work. Registered explicitly, in this order.

#include <memory>
#include <vector>

#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/plugin/backup_item_action.h"

namespace lifeboat::backup {

// `client` is borrowed (the service-account action lists ClusterRoleBindings through it).
std::vector<std::shared_ptr<plugin::BackupItemAction>> BuiltinBackupItemActions(
    kube::DynamicClient* client);

}  // namespace lifeboat::backup
