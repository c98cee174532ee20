#include "kubesim/src/controllers/workloads/workloads.h"

#include "kubesim/src/controllers/workloads/workloads_internal.h"

namespace kubesim {

void AddWorkloadControllers(ControllerRunner& runner, const ControllerContext& ctx) {
  runner.Add(workloads::NewNodeController(ctx));
  runner.Add(workloads::NewScheduler(ctx));
  runner.Add(workloads::NewKubelet(ctx));
  runner.Add(workloads::NewReplicaSetController(ctx));
  runner.Add(workloads::NewReplicationControllerController(ctx));
  runner.Add(workloads::NewDeploymentController(ctx));
  runner.Add(workloads::NewStatefulSetController(ctx));
  runner.Add(workloads::NewDaemonSetController(ctx));
  runner.Add(workloads::NewJobController(ctx));
}

}  // namespace kubesim
