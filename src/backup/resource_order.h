#pragma once

// Which resources a backup lists, and in what order (Velero's backup collection order): every
// served resource of each group's preferred version that supports list, create, get and delete;
// groups in the server's order with `extensions` last; in the core group pods, then
// persistentvolumeclaims, then persistentvolumes, then the rest in server order; resources that
// "cohabit" two groups (deployments, daemonsets, replicasets in extensions/apps, networkpolicies
// in extensions/networking.k8s.io, events in core/events.k8s.io) taken once, from the group seen
// first.

#include <string>
#include <vector>

#include "lifeboat/kube/discovery.h"

namespace lifeboat::backup {

// "pods" or "deployments.apps".
std::string GroupResource(const kube::ApiResource& r);

// `resources`: Discovery::Resources() (all versions); `groups`: Discovery::Groups(), for the
// server's group order and preferred versions.
std::vector<kube::ApiResource> BackupOrder(const std::vector<kube::ApiGroup>& groups,
                                           const std::vector<kube::ApiResource>& resources);

}  // namespace lifeboat::backup
