#include "src/backup/actions/actions.h"

namespace lifeboat::backup {
namespace {

namespace json = boost::json;

std::string StringAt(const json::object* o, std::string_view key) {
  if (o == nullptr) return {};
  const json::value* v = o->if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::object* ObjectAt(const json::object* o, std::string_view key) {
  if (o == nullptr) return nullptr;
  const json::value* v = o->if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

}  // namespace

plugin::ResourceSelector PodAction::AppliesTo() const {
  plugin::ResourceSelector s;
  s.included_resources = {"pods"};
  return s;
}

StatusOr<plugin::ExecuteOutput> PodAction::Execute(json::value item,
                                                   const plugin::BackupContext& backup) {
  const json::object* pod = item.if_object();
  if (pod == nullptr) return absl::InvalidArgumentError("velero.io/pod: the item is not an object");
  const json::object* spec = ObjectAt(pod, "spec");
  const std::string ns = StringAt(ObjectAt(pod, "metadata"), "namespace");

  plugin::ExecuteOutput out;
  if (std::string pc = StringAt(spec, "priorityClassName"); !pc.empty()) {
    out.additional_items.push_back({"scheduling.k8s.io", "priorityclasses", "", std::move(pc)});
  }
  const json::value* volumes = spec != nullptr ? spec->if_contains("volumes") : nullptr;
  if (volumes != nullptr && !volumes->is_null() && !volumes->is_array()) {
    return absl::InvalidArgumentError("velero.io/pod: spec.volumes is not an array");
  }
  if (volumes != nullptr && volumes->is_array()) {
    for (const json::value& v : volumes->get_array()) {
      std::string claim = StringAt(ObjectAt(v.if_object(), "persistentVolumeClaim"), "claimName");
      if (!claim.empty()) {
        out.additional_items.push_back({"", "persistentvolumeclaims", ns, std::move(claim)});
      }
    }
  }
  out.item = std::move(item);
  return out;
}

}  // namespace lifeboat::backup
