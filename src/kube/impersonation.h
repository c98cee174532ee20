#pragma once

// The request headers that carry a RestConfig's impersonation (kube-apiserver's
// Impersonate-User / -Uid / -Group / -Extra-<key>), shared by RestClient and pod exec.

#include <string>
#include <utility>
#include <vector>

#include "lifeboat/kube/config.h"

namespace lifeboat::kube {

std::vector<std::pair<std::string, std::string>> ImpersonationHeaders(
    const RestConfig::Impersonation& as);

}  // namespace lifeboat::kube
