#include "absl/strings/match.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

plugin::ResourceSelector ServiceAccountAction::AppliesTo() const {
  return Resources({"serviceaccounts"});
}

StatusOr<plugin::RestoreItemActionOutput> ServiceAccountAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * sa, ItemObject(input.item, Name()));
  const std::string prefix = StringAt(ObjectAt(sa, "metadata"), "name") + "-token-";
  LIFEBOAT_ASSIGN_OR_RETURN(json::array * secrets, OptionalArray(sa, "secrets", Name(), "secrets"));
  if (secrets == nullptr) return Unchanged(std::move(input.item));
  // Velero drops one reference, the last that matches (the token controller made one).
  for (size_t i = secrets->size(); i-- > 0;) {
    if (absl::StartsWith(StringAt((*secrets)[i].if_object(), "name"), prefix)) {
      secrets->erase(secrets->begin() + i);
      break;
    }
  }
  if (secrets->empty()) sa->erase("secrets");
  return Unchanged(std::move(input.item));
}

}  // namespace lifeboat::restore
