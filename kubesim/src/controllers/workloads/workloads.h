#pragma once

// kubesim's simulated cluster machinery for workloads: the nodes, the scheduler, the kubelet
// (pod status and volume directories under the data dir) and kube-controller-manager's
// ReplicaSet, ReplicationController, Deployment, StatefulSet, DaemonSet and Job controllers.

#include "kubesim/src/controllers/context.h"
#include "kubesim/src/controllers/controller.h"

namespace kubesim {

// Adds the workload controllers to `runner`. `ctx.cluster` must outlive the runner.
void AddWorkloadControllers(ControllerRunner& runner, const ControllerContext& ctx);

}  // namespace kubesim
