#include "src/backup/actions/builtin_actions.h"

#include "src/backup/actions/actions.h"
#include "src/backup/actions/csi_actions.h"

namespace lifeboat::backup {

std::vector<std::shared_ptr<plugin::BackupItemAction>> BuiltinBackupItemActions(
    kube::DynamicClient* client, Clock* clock) {
  return {
      std::make_shared<PodAction>(),
      std::make_shared<PvcAction>(),
      std::make_shared<ServiceAccountAction>(client),
      std::make_shared<CsiPvcAction>(client, clock),
      std::make_shared<CsiVolumeSnapshotAction>(client),
      std::make_shared<CsiVolumeSnapshotContentAction>(),
      std::make_shared<CsiVolumeSnapshotClassAction>(),
  };
}

}  // namespace lifeboat::backup
