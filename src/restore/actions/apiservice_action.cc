#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

namespace {
// Set by the kube-aggregator's autoregister controller on the APIServices it manages.
constexpr char kAutomanagedLabel[] = "kube-aggregator.kubernetes.io/automanaged";
}  // namespace

plugin::ResourceSelector ApiServiceAction::AppliesTo() const {
  plugin::ResourceSelector s = Resources({"apiservices"});
  s.label_selector = kAutomanagedLabel;
  return s;
}

StatusOr<plugin::RestoreItemActionOutput> ApiServiceAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * svc, ItemObject(input.item, Name()));
  // The engine only calls us for labelled items; checking again keeps Execute correct alone.
  const json::object* labels = ObjectAtPath(svc, {"metadata", "labels"});
  const bool automanaged = labels != nullptr && labels->contains(kAutomanagedLabel);
  plugin::RestoreItemActionOutput out = Unchanged(std::move(input.item));
  out.skip_restore = automanaged;
  return out;
}

}  // namespace lifeboat::restore
