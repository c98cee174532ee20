#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

namespace {

// The label the job controller sets (Kubernetes ≥ 1.27) and its legacy spelling; a restored
// job gets a new UID, so a selector pinned to the old one would match nothing.
constexpr std::string_view kControllerUidLabels[] = {"batch.kubernetes.io/controller-uid",
                                                     "controller-uid"};

void EraseControllerUid(json::object* labels) {
  if (labels == nullptr) return;
  for (std::string_view key : kControllerUidLabels) labels->erase(key);
}

}  // namespace

plugin::ResourceSelector JobAction::AppliesTo() const { return Resources({"jobs"}); }

StatusOr<plugin::RestoreItemActionOutput> JobAction::Execute(plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * job, ItemObject(input.item, Name()));
  json::object* spec = ObjectAt(job, "spec");
  EraseControllerUid(ObjectAtPath(spec, {"selector", "matchLabels"}));
  EraseControllerUid(ObjectAtPath(spec, {"template", "metadata", "labels"}));
  return Unchanged(std::move(input.item));
}

}  // namespace lifeboat::restore
