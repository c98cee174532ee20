#pragma once

// The resources the server reads and writes, and small helpers every reconciler uses to read
// an object and patch its status.
//
// Velero's CRDs have no status subresource, so a status change is a JSON merge patch of the
// whole object: {"status": {...}} (plus metadata changes when given).

#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"

namespace lifeboat::controller {

inline const kube::GroupVersionResource kBackups{"velero.io", "v1", "backups"};
inline const kube::GroupVersionResource kRestores{"velero.io", "v1", "restores"};
inline const kube::GroupVersionResource kSchedules{"velero.io", "v1", "schedules"};
inline const kube::GroupVersionResource kBackupStorageLocations{"velero.io", "v1",
                                                                "backupstoragelocations"};
inline const kube::GroupVersionResource kVolumeSnapshotLocations{"velero.io", "v1",
                                                                 "volumesnapshotlocations"};
inline const kube::GroupVersionResource kDeleteBackupRequests{"velero.io", "v1",
                                                              "deletebackuprequests"};
inline const kube::GroupVersionResource kDownloadRequests{"velero.io", "v1", "downloadrequests"};
inline const kube::GroupVersionResource kServerStatusRequests{"velero.io", "v1",
                                                              "serverstatusrequests"};
inline const kube::GroupVersionResource kSecrets{"", "v1", "secrets"};
inline const kube::GroupVersionResource kLeases{"coordination.k8s.io", "v1", "leases"};

// Lifeboat's own annotations on velero.io objects (docs/server.md).
// Set by a user (or `lifeboat backup cancel`) to "true": a running backup or restore stops.
inline constexpr std::string_view kCancelAnnotation = "lifeboat.io/cancel";
// Set by the server: how many times an interrupted backup or restore was resumed.
inline constexpr std::string_view kResumedAnnotation = "lifeboat.io/resumed";

// Get; std::nullopt (not an error) when the object does not exist.
StatusOr<std::optional<boost::json::value>> GetIfExists(kube::DynamicClient& client,
                                                        const kube::GroupVersionResource& gvr,
                                                        std::string_view ns,
                                                        std::string_view name,
                                                        const CancellationToken& cancel = {});

// Merge-patches `patch` (an object, e.g. {"status": {...}}) into ns/name and returns the object
// as stored. With `resource_version` non-empty the patch carries it, so a concurrent change
// makes it fail with Aborted (a conflict) instead of being overwritten.
StatusOr<boost::json::value> MergePatch(kube::DynamicClient& client,
                                        const kube::GroupVersionResource& gvr, std::string_view ns,
                                        std::string_view name, const boost::json::object& patch,
                                        std::string_view resource_version = "",
                                        const CancellationToken& cancel = {});

// {"status": status}: the whole status object replaces the fields it names (fields it lacks
// stay; a JSON null removes one).
StatusOr<boost::json::value> PatchStatus(kube::DynamicClient& client,
                                         const kube::GroupVersionResource& gvr,
                                         std::string_view ns, std::string_view name,
                                         const boost::json::value& status,
                                         std::string_view resource_version = "",
                                         const CancellationToken& cancel = {});

// metadata.annotations[key] of an object ("" when absent).
std::string Annotation(const boost::json::value& obj, std::string_view key);

}  // namespace lifeboat::controller
