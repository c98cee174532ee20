#pragma once

// The built-in BackupItemActions Velero ships (§5.7), each its own small unit:
//   velero.io/pod              pods: the PVCs its volumes use and its PriorityClass
//   velero.io/pv               persistentvolumeclaims: the bound PV (and Velero's clean-ups of
//                              the PVC: dataSource, selector, stale velero.io labels)
//   velero.io/service-account  serviceaccounts: the ClusterRoleBindings naming it and their
//                              ClusterRoles
//   velero.io/csi-pvc-backupper, velero.io/csi-volumesnapshot-backupper,
//   velero.io/csi-volumesnapshotcontent-backupper, velero.io/csi-volumesnapshotclass-backupper
//                              CSI snapshots of claims (csi_actions.h); Velero needs the
//                              EnableCSI feature flag for these, Lifeboat always registers them
// Registered explicitly, in this order (the CSI PVC action after velero.io/pv, so a claim's PV
// is backed up after its snapshot was cut).

#include <memory>
#include <vector>

#include "lifeboat/common/clock.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/plugin/backup_item_action.h"

namespace lifeboat::backup {

// `client` is borrowed (the service-account action lists ClusterRoleBindings through it; the
// CSI actions create, read and label snapshot objects). `clock` (null: the real clock) times
// the CSI snapshot wait.
std::vector<std::shared_ptr<plugin::BackupItemAction>> BuiltinBackupItemActions(
    kube::DynamicClient* client, Clock* clock = nullptr);

}  // namespace lifeboat::backup
