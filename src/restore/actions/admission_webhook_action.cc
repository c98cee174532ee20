#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

plugin::ResourceSelector AdmissionWebhookConfigurationAction::AppliesTo() const {
  return Resources({"mutatingwebhookconfigurations", "validatingwebhookconfigurations"});
}

StatusOr<plugin::RestoreItemActionOutput> AdmissionWebhookConfigurationAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * config, ItemObject(input.item, Name()));
  // v1beta1 allowed Unknown and Some, which v1 rejects; other versions are left alone.
  if (StringAt(config, "apiVersion") != "admissionregistration.k8s.io/v1") {
    return Unchanged(std::move(input.item));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(json::array * webhooks,
                            OptionalArray(config, "webhooks", Name(), "webhooks"));
  if (webhooks == nullptr) return Unchanged(std::move(input.item));
  for (auto it = webhooks->begin(); it != webhooks->end();) {
    json::object* hook = it->if_object();
    if (hook == nullptr) {  // Velero drops an entry it cannot convert
      it = webhooks->erase(it);
      continue;
    }
    const std::string side_effects = StringAt(hook, "sideEffects");
    if (side_effects != "None" && side_effects != "NoneOnDryRun") (*hook)["sideEffects"] = "None";
    ++it;
  }
  return Unchanged(std::move(input.item));
}

}  // namespace lifeboat::restore
