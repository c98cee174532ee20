#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

plugin::ResourceSelector CrdPreserveFieldsAction::AppliesTo() const {
  return Resources({"customresourcedefinitions.apiextensions.k8s.io"});
}

StatusOr<plugin::RestoreItemActionOutput> CrdPreserveFieldsAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * crd, ItemObject(input.item, Name()));
  // v1beta1 CRDs are left alone, as Velero does.
  if (StringAt(crd, "apiVersion") != "apiextensions.k8s.io/v1")
    return Unchanged(std::move(input.item));
  json::object* spec = ObjectAt(crd, "spec");
  const json::value* preserve =
      spec != nullptr ? spec->if_contains("preserveUnknownFields") : nullptr;
  if (preserve == nullptr || !preserve->is_bool() || !preserve->get_bool()) {
    return Unchanged(std::move(input.item));
  }
  // v1 rejects preserveUnknownFields: true; the per-schema flag says the same thing. false is
  // the default, so the field goes (Velero's typed round trip omits it too).
  spec->erase("preserveUnknownFields");
  LIFEBOAT_ASSIGN_OR_RETURN(json::array * versions,
                            OptionalArray(spec, "versions", Name(), "spec.versions"));
  if (versions != nullptr) {
    for (json::value& v : *versions) {
      json::object* schema = ObjectAtPath(v.if_object(), {"schema", "openAPIV3Schema"});
      if (schema != nullptr) (*schema)["x-kubernetes-preserve-unknown-fields"] = true;
    }
  }
  return Unchanged(std::move(input.item));
}

}  // namespace lifeboat::restore
