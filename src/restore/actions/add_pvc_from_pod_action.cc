#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

plugin::ResourceSelector AddPvcFromPodAction::AppliesTo() const { return Resources({"pods"}); }

StatusOr<plugin::RestoreItemActionOutput> AddPvcFromPodAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * pod, ItemObject(input.item, Name()));
  const std::string ns = StringAt(ObjectAt(pod, "metadata"), "namespace");
  LIFEBOAT_ASSIGN_OR_RETURN(json::array * volumes, OptionalArray(ObjectAt(pod, "spec"), "volumes",
                                                                 Name(), "spec.volumes"));
  plugin::RestoreItemActionOutput out;
  if (volumes != nullptr) {
    for (const json::value& v : *volumes) {
      const json::object* claim = ObjectAt(v.if_object(), "persistentVolumeClaim");
      if (claim == nullptr) continue;
      out.additional_items.push_back(
          {"", "persistentvolumeclaims", ns, StringAt(claim, "claimName")});
    }
  }
  out.item = std::move(input.item);
  return out;
}

}  // namespace lifeboat::restore
