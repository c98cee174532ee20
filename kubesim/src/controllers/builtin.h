#pragma once

#include "kubesim/src/controllers/context.h"
#include "kubesim/src/controllers/controller.h"

namespace kubesim {

// Every built-in controller kubesim runs (workloads, scheduling, kubelet, lifecycle, storage).
void AddBuiltinControllers(ControllerRunner& runner, const ControllerContext& ctx);

}  // namespace kubesim
