#pragma once

// The order a restore walks the backup's resources (Velero §6.3): custom resource definitions in
// a first pass; then the high priorities in their order, every other resource alphabetically by
// its "resource.group" spelling, and the low priorities last. Priority entries are resolved to
// canonical group-resources (a resolver maps "volumesnapshotclass.snapshot.storage.k8s.io" to
// "volumesnapshotclasses.snapshot.storage.k8s.io" through discovery); each resource appears once.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/restore/restorer.h"

namespace lifeboat::restore {

inline constexpr std::string_view kCrdResource = "customresourcedefinitions.apiextensions.k8s.io";

// Maps a priority entry to a canonical group-resource; nullopt: use the entry as written.
using PriorityResolver = std::function<std::optional<std::string>(std::string_view entry)>;

// `present`: the group-resources of the backup, in any order. Returns them in restore order
// (CRDs excluded: they are the first pass).
std::vector<std::string> RestoreOrder(const std::vector<std::string>& present,
                                      const std::vector<std::string>& high,
                                      const std::vector<std::string>& low,
                                      const PriorityResolver& resolve);


}  // namespace lifeboat::restore
