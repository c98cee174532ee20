#pragma once

// Constructors of the individual workload controllers (tests build them one by one).

#include <memory>

#include "kubesim/src/controllers/context.h"
#include "kubesim/src/controllers/controller.h"

namespace kubesim::workloads {

std::unique_ptr<Controller> NewNodeController(const ControllerContext& ctx);
std::unique_ptr<Controller> NewScheduler(const ControllerContext& ctx);
std::unique_ptr<Controller> NewKubelet(const ControllerContext& ctx);
std::unique_ptr<Controller> NewReplicaSetController(const ControllerContext& ctx);
std::unique_ptr<Controller> NewReplicationControllerController(const ControllerContext& ctx);
std::unique_ptr<Controller> NewDeploymentController(const ControllerContext& ctx);
std::unique_ptr<Controller> NewStatefulSetController(const ControllerContext& ctx);
std::unique_ptr<Controller> NewDaemonSetController(const ControllerContext& ctx);
std::unique_ptr<Controller> NewJobController(const ControllerContext& ctx);

}  // namespace kubesim::workloads
