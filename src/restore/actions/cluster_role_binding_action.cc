#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

plugin::ResourceSelector ClusterRoleBindingAction::AppliesTo() const {
  return Resources({"clusterrolebindings"});
}

StatusOr<plugin::RestoreItemActionOutput> ClusterRoleBindingAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * binding, ItemObject(input.item, Name()));
  LIFEBOAT_RETURN_IF_ERROR(MapSubjectNamespaces(*binding, input.context, Name()));
  return Unchanged(std::move(input.item));
}

}  // namespace lifeboat::restore
