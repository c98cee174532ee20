#pragma once

// The four patch types kube-apiserver accepts, with its semantics and errors, and the
// managedFields bookkeeping of server-side apply. Server-side apply is implemented here, on the
// schema facts of lifeboat/common/json_patch.h; the other three are that library's.
//
// Error codes (the handler maps them to HTTP statuses):
//   InvalidArgument      the patch document is malformed (400 BadRequest)
//   FailedPrecondition   the patch is well formed but cannot be applied, e.g. a JSON-patch
//                        `test` fails or a path does not exist (422 Invalid)
//   Aborted              server-side apply conflicts with another manager (409 Conflict); the
//                        message lists the conflicts as kube does:
//                        `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply"
//                        using apps/v1: .spec.replicas`
//
// Objects are unstructured (Boost.JSON). Nothing here touches metadata.resourceVersion,
// uid or other server-set fields beyond what the patch itself says.

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "lifeboat/common/json_patch.h"
#include "lifeboat/common/status.h"

namespace kubesim {

using lifeboat::Status;
using lifeboat::StatusOr;

// JSON merge patch, JSON patch and strategic merge patch live in lifeboat/common/json_patch.h
// (shared with the restore engine); kubesim serves them under its own names.
using lifeboat::jsonpatch::ApplyJsonPatch;
using lifeboat::jsonpatch::ApplyMergePatch;
using lifeboat::jsonpatch::ApplyStrategicMergePatch;
using lifeboat::jsonpatch::SupportsStrategicMerge;

struct ApplyOptions {
  std::string field_manager;  // required for apply
  bool force = false;
  std::string api_version;  // "apps/v1": recorded in managedFields
  std::string time;         // RFC 3339, recorded in managedFields
};

// Server-side apply (application/apply-patch+yaml, already parsed to JSON). `live` is the
// current object or nullptr when it does not exist. Returns the merged object with
// metadata.managedFields updated: the applier's `Apply` entry owns exactly the fields in
// `applied` (fieldsV1 format, `f:` keys, `k:{...}` for keyed list items, `v:` for set items,
// `.` for the item itself); fields that the applier owned before and no longer applies are
// removed when nobody else owns them; fields owned by other managers whose values would
// change are conflicts (Aborted) unless `force`, which takes ownership.
StatusOr<boost::json::value> ServerSideApply(const boost::json::value* live,
                                             const boost::json::value& applied,
                                             std::string_view group, std::string_view kind,
                                             const ApplyOptions& options);

// After a create/update/patch by `manager` (operation Update), records in updated's
// metadata.managedFields the fields whose values differ from `old` (all fields when `old` is
// nullptr), and removes them from other managers' sets; entries left empty are dropped. Keeps
// managedFields as kube does: one entry per (manager, operation, apiVersion, subresource).
// A request that sets managedFields to [] clears them; one that leaves them unset keeps them.
void RecordUpdateManagedFields(const boost::json::value* old, boost::json::value& updated,
                               std::string_view manager, std::string_view api_version,
                               std::string_view time);

}  // namespace kubesim
