#pragma once

// ControllerRevisions: the history StatefulSets and DaemonSets keep of their pod templates
// (k8s pkg/controller/history). A revision's data is the strategic merge patch
// {"spec":{"template":{...,"$patch":"replace"}}}; its name is <owner>-<hash of the data>.

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "kubesim/src/controllers/workloads/base.h"

namespace kubesim::workloads {

inline constexpr char kRevisionHashLabel[] = "controller.kubernetes.io/hash";
inline constexpr char kPodRevisionLabel[] = "controller-revision-hash";

struct RevisionInfo {
  std::string name;  // <owner>-<hash>
  std::string hash;
  int64_t revision = 0;
};

// The revision data for `owner`'s current spec.template.
json::value RevisionData(const json::value& owner);
// The pod template a revision object holds (its data without "$patch"), or null.
json::value TemplateOfRevision(const json::value& revision);

// The revisions `owner` controls (any order).
std::vector<ObjectPtr> OwnedRevisions(Writer& w, const json::value& owner);

// Finds or creates the revision of `owner`'s current template (bumping an equal older
// revision to the newest number, as k8s does on a rollback).
StatusOr<RevisionInfo> EnsureRevision(Writer& w, const json::value& owner, const std::string& kind);

// Deletes the oldest revisions beyond spec.revisionHistoryLimit (default 10), never one in
// `live` (names of revisions still used by pods or the status).
void TruncateHistory(Writer& w, const json::value& owner, const std::vector<std::string>& live);

}  // namespace kubesim::workloads
