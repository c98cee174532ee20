#include "kubesim/src/controllers/builtin.h"

#include "kubesim/src/controllers/lifecycle/lifecycle.h"
#include "kubesim/src/controllers/snapshots/snapshots.h"
#include "kubesim/src/controllers/workloads/workloads.h"

namespace kubesim {

void AddBuiltinControllers(ControllerRunner& runner, const ControllerContext& ctx) {
  AddLifecycleControllers(runner, ctx);
  AddWorkloadControllers(runner, ctx);
  snapshots::AddSnapshotControllers(runner, ctx);
}

}  // namespace kubesim
