#pragma once

// Defaulting, as kube-apiserver's per-type SetDefaults functions do it for the fields clients
// (and Lifeboat's restore) meet: pod spec and templates, workload specs, services, secrets'
// stringData, PVC/PV modes, namespaces' name label, job selectors.

#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "kubesim/src/meta/resource_type.h"

namespace kubesim {

// Fills defaults into `obj` (a built-in object; custom resources are left alone). `creating`
// is true on create (a Job then gets its generated selector from metadata.uid).
void ApplyDefaults(const ResourceType& type, boost::json::value& obj, bool creating);

std::string Base64Encode(std::string_view in);

}  // namespace kubesim
