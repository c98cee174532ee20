#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

namespace {

// Removes the entries of `o[key]` whose name starts with `prefix`; an array left empty is
// removed (Velero round-trips the pod through its Go type, whose slices are omitempty).
Status DropNamed(json::object* o, std::string_view key, const std::string& prefix,
                 const std::string& action, const std::string& what) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::array * entries, OptionalArray(o, key, action, what));
  if (entries == nullptr) return absl::OkStatus();
  for (auto it = entries->begin(); it != entries->end();) {
    if (absl::StartsWith(StringAt(it->if_object(), "name"), prefix)) {
      it = entries->erase(it);
    } else {
      ++it;
    }
  }
  if (entries->empty()) o->erase(key);
  return absl::OkStatus();
}

Status DropMounts(json::object* spec, const std::string& containers_key, const std::string& prefix,
                  const std::string& action) {
  LIFEBOAT_ASSIGN_OR_RETURN(
      json::array * containers,
      OptionalArray(spec, containers_key, action, absl::StrCat("spec.", containers_key)));
  if (containers == nullptr) return absl::OkStatus();
  for (json::value& c : *containers) {
    LIFEBOAT_RETURN_IF_ERROR(DropNamed(c.if_object(), "volumeMounts", prefix, action,
                                       absl::StrCat("spec.", containers_key, "[].volumeMounts")));
  }
  return absl::OkStatus();
}

}  // namespace

plugin::ResourceSelector PodAction::AppliesTo() const { return Resources({"pods"}); }

StatusOr<plugin::RestoreItemActionOutput> PodAction::Execute(plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * pod, ItemObject(input.item, Name()));
  plugin::RestoreItemActionOutput out;
  if (json::object* spec = ObjectAt(pod, "spec"); spec != nullptr) {
    // Set by the scheduler and the priority admission plugin: the new cluster decides again.
    spec->erase("nodeName");
    spec->erase("priority");
    const std::string prefix = StringAt(spec, "serviceAccountName") + "-token-";
    LIFEBOAT_RETURN_IF_ERROR(DropNamed(spec, "volumes", prefix, Name(), "spec.volumes"));
    LIFEBOAT_RETURN_IF_ERROR(DropMounts(spec, "containers", prefix, Name()));
    LIFEBOAT_RETURN_IF_ERROR(DropMounts(spec, "initContainers", prefix, Name()));
    if (std::string pc = StringAt(spec, "priorityClassName"); !pc.empty()) {
      out.additional_items.push_back({"scheduling.k8s.io", "priorityclasses", "", std::move(pc)});
    }
  }
  out.item = std::move(input.item);
  return out;
}

}  // namespace lifeboat::restore
