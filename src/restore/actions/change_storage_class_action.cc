#include "absl/strings/str_cat.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

namespace {
constexpr char kPlugin[] = "velero.io/change-storage-class";
const kube::GroupVersionResource kStorageClasses{"storage.k8s.io", "v1", "storageclasses"};
}  // namespace

ChangeStorageClassAction::ChangeStorageClassAction(kube::DynamicClient* client,
                                                   const std::string& velero_namespace)
    : config_(client, velero_namespace, kPlugin), classes_(client, kStorageClasses) {}

ChangeStorageClassAction::ChangeStorageClassAction(kube::DynamicClient* client,
                                                   std::optional<PluginConfigMap> config)
    : config_(std::move(config)), classes_(client, kStorageClasses) {}

plugin::ResourceSelector ChangeStorageClassAction::AppliesTo() const {
  return Resources({"persistentvolumeclaims", "persistentvolumes", "statefulsets"});
}

Status ChangeStorageClassAction::ChangeClass(json::object* spec, const PluginConfigMap& config) {
  const std::string old_class = StringAt(spec, "storageClassName");
  if (old_class.empty()) return absl::OkStatus();
  auto it = config.data.find(old_class);
  if (it == config.data.end()) return absl::OkStatus();
  const std::string& new_class = it->second;
  if (new_class.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Name(), ": ConfigMap ", config.name, ": data[\"",
                                                   old_class,
                                                   "\"] is empty (want a storage class name)"));
  }
  auto exists = classes_.Exists(new_class);
  if (!exists.ok()) {
    return Annotate(exists.status(), absl::StrCat(Name(), ": getting storage class ", new_class));
  }
  if (!*exists) {
    return absl::NotFoundError(absl::StrCat(Name(), ": storage class \"", new_class,
                                            "\" (mapped from \"", old_class, "\" by ConfigMap ",
                                            config.name, ") does not exist in the cluster"));
  }
  (*spec)["storageClassName"] = json::string(new_class);
  return absl::OkStatus();
}

StatusOr<plugin::RestoreItemActionOutput> ChangeStorageClassAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * obj, ItemObject(input.item, Name()));
  LIFEBOAT_ASSIGN_OR_RETURN(const PluginConfigMap* config, config_.Get());
  if (config == nullptr || config->data.empty()) return Unchanged(std::move(input.item));
  json::object* spec = ObjectAt(obj, "spec");
  if (StringAt(obj, "kind") == "StatefulSet") {
    LIFEBOAT_ASSIGN_OR_RETURN(
        json::array * templates,
        OptionalArray(spec, "volumeClaimTemplates", Name(), "spec.volumeClaimTemplates"));
    if (templates != nullptr) {
      for (json::value& t : *templates) {
        LIFEBOAT_RETURN_IF_ERROR(ChangeClass(ObjectAt(t.if_object(), "spec"), *config));
      }
    }
  } else {
    LIFEBOAT_RETURN_IF_ERROR(ChangeClass(spec, *config));
  }
  return Unchanged(std::move(input.item));
}

}  // namespace lifeboat::restore
