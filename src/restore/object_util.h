#pragma once

// Small pure functions over unstructured objects that the restore engine applies to every item
// (Velero's resetMetadataAndStatus, restore labels, merge-patch computation).
//
// Thread safety: pure functions.

#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace lifeboat::restore {

// Removes what the source cluster set and the target must set anew: metadata.generateName,
// selfLink, uid, resourceVersion, generation, creationTimestamp, deletionTimestamp,
// deletionGracePeriodSeconds, ownerReferences, and `status`. Returns the status that was removed
// (null when there was none). Labels, annotations, finalizers and managedFields stay.
boost::json::value ResetMetadataAndStatus(boost::json::value& item);

// Velero's label.GetValidName: values longer than 63 characters become their first 57
// characters followed by the first 6 hex digits of their SHA-256.
std::string LabelSafe(std::string_view value);

// Sets metadata.labels[velero.io/backup-name] and [velero.io/restore-name] (label-safe).
void AddRestoreLabels(boost::json::value& item, std::string_view backup, std::string_view restore);

// An RFC 7386 merge patch that turns `from` into `to` (removed keys become null, arrays and
// scalars are replaced whole). An empty object when they are equal.
boost::json::object CreateMergePatch(const boost::json::value& from, const boost::json::value& to);

// Velero's ServiceAccount merge for an existing account: `live` plus the backed-up account's
// secrets and imagePullSecrets (by name) and labels and annotations (keys `live` lacks).
boost::json::value MergeServiceAccounts(const boost::json::value& live,
                                        const boost::json::value& backed_up);

// Sets (or, with an empty value, removes) metadata.namespace.
void SetNamespace(boost::json::value& item, std::string_view ns);

}  // namespace lifeboat::restore
