#pragma once

// Lifecycle controllers of kubesim (the parts of kube-controller-manager that keep objects'
// lives realistic): namespace deletion, per-namespace defaults (the "default" ServiceAccount
// and the kube-root-ca.crt ConfigMap), garbage collection by ownerReferences, the default
// StorageClass with a hostpath provisioner and PV/PVC binding, and Endpoints/EndpointSlices.

#include "kubesim/src/controllers/context.h"
#include "kubesim/src/controllers/controller.h"

namespace kubesim {

void AddLifecycleControllers(ControllerRunner& runner, const ControllerContext& ctx);

}  // namespace kubesim
