#pragma once

// The built-in RestoreItemActions Velero ships (velero-inventory §6.7), each its own small unit
// (actions.h), in the order Velero runs them: its plugin server lists the actions of one kind
// sorted by name, so they run in name order. The engine may merge in the pod-volume-restore and
// init-restore-hook actions by sorting the whole list by Name().
//   velero.io/add-pvc-from-pod, velero.io/admission-webhook-configuration, velero.io/apiservice,
//   velero.io/change-image-name, velero.io/change-storage-class,
//   velero.io/cluster-role-bindings, velero.io/crd-preserve-fields,
//   velero.io/csi-pvc-restorer, velero.io/csi-volumesnapshot-restorer,
//   velero.io/csi-volumesnapshotclass-restorer, velero.io/csi-volumesnapshotcontent-restorer,
//   velero.io/job,
//   velero.io/pod, velero.io/pvc, velero.io/role-bindings, velero.io/secret, velero.io/service,
//   velero.io/service-account
// docs/restore-actions.md describes them.

#include <memory>
#include <string>
#include <vector>

#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/plugin/restore_item_action.h"

namespace lifeboat::restore {

// One set of actions per restore: the plugin ConfigMaps (change-storage-class,
// change-image-name, change-pvc-node-selector) in `velero_namespace`, the storage classes
// and nodes they name, and the VolumeSnapshotClasses, are read on first use and kept for the
// life of the returned actions.
// `client` is borrowed and must outlive them; it may be null (unit tests): the actions that
// would need the cluster then fail with FailedPrecondition.
std::vector<std::shared_ptr<plugin::RestoreItemAction>> BuiltinRestoreItemActions(
    kube::DynamicClient* client, const std::string& velero_namespace);

}  // namespace lifeboat::restore
