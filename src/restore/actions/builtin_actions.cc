#include "src/restore/actions/builtin_actions.h"

#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

std::vector<std::shared_ptr<plugin::RestoreItemAction>> BuiltinRestoreItemActions(
    kube::DynamicClient* client, const std::string& velero_namespace) {
  return {
      std::make_shared<AddPvcFromPodAction>(),
      std::make_shared<AdmissionWebhookConfigurationAction>(),
      std::make_shared<ApiServiceAction>(),
      std::make_shared<ChangeImageNameAction>(client, velero_namespace),
      std::make_shared<ChangeStorageClassAction>(client, velero_namespace),
      std::make_shared<ClusterRoleBindingAction>(),
      std::make_shared<CrdPreserveFieldsAction>(),
      std::make_shared<CsiPvcRestorerAction>(client),
      std::make_shared<CsiVolumeSnapshotRestorerAction>(),
      std::make_shared<CsiVolumeSnapshotClassRestorerAction>(),
      std::make_shared<CsiVolumeSnapshotContentRestorerAction>(client),
      std::make_shared<JobAction>(),
      std::make_shared<PodAction>(),
      std::make_shared<PvcAction>(client, velero_namespace),
      std::make_shared<RoleBindingAction>(),
      std::make_shared<SecretAction>(client),
      std::make_shared<ServiceAction>(),
      std::make_shared<ServiceAccountAction>(),
  };
}

}  // namespace lifeboat::restore
