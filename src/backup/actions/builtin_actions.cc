#include "src/backup/actions/builtin_actions.h"

#include "src/backup/actions/actions.h"

namespace lifeboat::backup {

std::vector<std::shared_ptr<plugin::BackupItemAction>> BuiltinBackupItemActions(
    kube::DynamicClient* client) {
  return {
      std::make_shared<PodAction>(),
      std::make_shared<PvcAction>(),
      std::make_shared<ServiceAccountAction>(client),
  };
}

}  // namespace lifeboat::backup
