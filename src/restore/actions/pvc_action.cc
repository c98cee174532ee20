#include "absl/strings/str_cat.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

namespace {

constexpr char kSelectedNode[] = "volume.kubernetes.io/selected-node";
// Binding and provisioning state of the source cluster, and Velero's own markers.
constexpr std::string_view kDroppedAnnotations[] = {
    "pv.kubernetes.io/bind-completed",          "pv.kubernetes.io/bound-by-controller",
    "volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner",
    "velero.io/volume-snapshot-name",           "velero.io/data-upload-name",
};

}  // namespace

PvcAction::PvcAction(kube::DynamicClient* client, const std::string& velero_namespace)
    : node_mapping_(client, velero_namespace, "velero.io/change-pvc-node-selector"),
      nodes_(client, {"", "v1", "nodes"}) {}

PvcAction::PvcAction(kube::DynamicClient* client, std::optional<PluginConfigMap> node_mapping)
    : node_mapping_(std::move(node_mapping)), nodes_(client, {"", "v1", "nodes"}) {}

plugin::ResourceSelector PvcAction::AppliesTo() const {
  return Resources({"persistentvolumeclaims"});
}

Status PvcAction::MapSelectedNode(json::object& annotations) {
  const json::value* v = annotations.if_contains(kSelectedNode);
  if (v == nullptr || !v->is_string()) return absl::OkStatus();
  const std::string node(v->get_string());
  LIFEBOAT_ASSIGN_OR_RETURN(const PluginConfigMap* mapping, node_mapping_.Get());
  std::string mapped;
  if (mapping != nullptr) {
    auto it = mapping->data.find(node);
    if (it != mapping->data.end()) mapped = it->second;
  }
  if (!mapped.empty()) {
    auto exists = nodes_.Exists(mapped);
    if (!exists.ok()) {
      return Annotate(exists.status(), absl::StrCat(Name(), ": checking node ", mapped,
                                                    " (mapped from ", node, ")"));
    }
    if (!*exists) {
      LB_LOG_WARN(
          "{}: selected node {} is mapped to {}, which does not exist; check the ConfigMap "
          "labelled velero.io/change-pvc-node-selector",
          Name(), node, mapped);
    }
    annotations[kSelectedNode] = json::string(mapped);
    return absl::OkStatus();
  }
  auto exists = nodes_.Exists(node);
  if (!exists.ok())
    return Annotate(exists.status(), absl::StrCat(Name(), ": checking node ", node));
  if (!*exists) annotations.erase(kSelectedNode);  // the scheduler picks a node afresh
  return absl::OkStatus();
}

StatusOr<plugin::RestoreItemActionOutput> PvcAction::Execute(plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * pvc, ItemObject(input.item, Name()));
  json::object* metadata = ObjectAt(pvc, "metadata");
  if (json::object* annotations = ObjectAt(metadata, "annotations"); annotations != nullptr) {
    LIFEBOAT_RETURN_IF_ERROR(MapSelectedNode(*annotations));
    for (std::string_view key : kDroppedAnnotations) annotations->erase(key);
    if (annotations->empty()) metadata->erase("annotations");
  }
  plugin::RestoreItemActionOutput out;
  // The status is gone from the item; the backed-up claim still has it.
  const json::value& backed_up =
      input.item_from_backup != nullptr ? *input.item_from_backup : input.item;
  const std::string volume = JsonString(backed_up, {"spec", "volumeName"}).value_or("");
  if (JsonString(backed_up, {"status", "phase"}).value_or("") == "Bound" && !volume.empty()) {
    out.additional_items.push_back({"", "persistentvolumes", "", volume});
  }
  out.item = std::move(input.item);
  return out;
}

}  // namespace lifeboat::restore
