// velero.io/csi-volumesnapshot-restorer, csi-volumesnapshotcontent-restorer and
// csi-volumesnapshotclass-restorer (actions.h): the backed-up snapshot comes back as a
// pre-provisioned VolumeSnapshotContent of its snapshot handle and a VolumeSnapshot bound to it.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lifeboat/common/json.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

namespace {

constexpr char kSnapshotGroup[] = "snapshot.storage.k8s.io";
const kube::GroupVersionResource kClasses{kSnapshotGroup, "v1", "volumesnapshotclasses"};

bool RestorePvsOff(const plugin::RestoreItemActionInput& input) {
  return input.context != nullptr && input.context->restore != nullptr &&
         input.context->restore->spec.restore_pvs == false;
}

plugin::RestoreItemActionOutput Skipped(json::value item) {
  plugin::RestoreItemActionOutput out = Unchanged(std::move(item));
  out.skip_restore = true;
  return out;
}

// The secret named by the annotations <prefix>-name / <prefix>-namespace, as an additional item.
void AddSecret(const json::object* annotations, const std::string& prefix,
               std::vector<plugin::ResourceIdentifier>* items) {
  const std::string name = StringAt(annotations, prefix + "-name");
  const std::string ns = StringAt(annotations, prefix + "-namespace");
  if (!name.empty() && !ns.empty()) items->push_back({"", "secrets", ns, name});
}

json::object& SpecOf(json::object& o) {
  json::value& spec = o["spec"];
  if (!spec.is_object()) spec = json::object();
  return spec.as_object();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// velero.io/csi-volumesnapshot-restorer

plugin::ResourceSelector CsiVolumeSnapshotRestorerAction::AppliesTo() const {
  return Resources({"volumesnapshots.snapshot.storage.k8s.io"});
}

StatusOr<plugin::RestoreItemActionOutput> CsiVolumeSnapshotRestorerAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * vs, ItemObject(input.item, Name()));
  if (RestorePvsOff(input)) return Skipped(std::move(input.item));
  const json::value& backed_up =
      input.item_from_backup != nullptr ? *input.item_from_backup : input.item;
  const std::string original = JsonString(backed_up, {"metadata", "name"}).value_or("");
  const std::string bound =
      JsonString(backed_up, {"status", "boundVolumeSnapshotContentName"}).value_or("");
  if (bound.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        Name(), ": VolumeSnapshot ", original, " has no bound VolumeSnapshotContent in the backup"));
  }
  const std::string restore_uid = input.context != nullptr ? input.context->restore_uid : "";
  const std::string new_name = CsiRestoreName(restore_uid, original);
  json::value& md = (*vs)["metadata"];
  if (!md.is_object()) md = json::object();
  md.as_object()["name"] = json::string(new_name);
  json::value& ann = md.as_object()["annotations"];
  if (!ann.is_object()) ann = json::object();
  ann.as_object()["velero.io/csi-vsc-deletion-policy"] = "Retain";
  json::object& spec = SpecOf(*vs);
  spec["source"] = json::object{{"volumeSnapshotContentName", new_name}};
  spec.erase("volumeSnapshotClassName");
  plugin::RestoreItemActionOutput out;
  out.additional_items.push_back({kSnapshotGroup, "volumesnapshotcontents", "", bound});
  out.item = std::move(input.item);
  return out;
}

// ---------------------------------------------------------------------------------------------
// velero.io/csi-volumesnapshotcontent-restorer

plugin::ResourceSelector CsiVolumeSnapshotContentRestorerAction::AppliesTo() const {
  return Resources({"volumesnapshotcontents.snapshot.storage.k8s.io"});
}

StatusOr<std::string> CsiVolumeSnapshotContentRestorerAction::ClassFor(
    const std::string& driver, const std::string& preferred) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!classes_.has_value()) {
    auto page = client_->List(kClasses, "");
    if (!page.ok() && !absl::IsNotFound(page.status())) {
      return Annotate(page.status(), absl::StrCat(Name(), ": listing VolumeSnapshotClasses"));
    }
    classes_.emplace();
    if (page.ok()) classes_->assign(page->items.begin(), page->items.end());
  }
  std::vector<const json::value*> same;
  for (const json::value& c : *classes_) {
    if (JsonString(c, {"driver"}).value_or("") == driver) same.push_back(&c);
  }
  std::sort(same.begin(), same.end(), [](const json::value* a, const json::value* b) {
    return JsonString(*a, {"metadata", "name"}).value_or("") <
           JsonString(*b, {"metadata", "name"}).value_or("");
  });
  auto name = [](const json::value* c) {
    return JsonString(*c, {"metadata", "name"}).value_or("");
  };
  for (const json::value* c : same) {
    if (!preferred.empty() && name(c) == preferred) return preferred;
  }
  for (const json::value* c : same) {
    if (JsonString(*c, {"metadata", "labels", "velero.io/csi-volumesnapshot-class"})
            .value_or("") == "true") {
      return name(c);
    }
  }
  for (const json::value* c : same) {
    if (JsonString(*c, {"metadata", "annotations",
                        "snapshot.storage.kubernetes.io/is-default-class"})
            .value_or("") == "true") {
      return name(c);
    }
  }
  return same.empty() ? std::string() : name(same.front());
}

StatusOr<plugin::RestoreItemActionOutput> CsiVolumeSnapshotContentRestorerAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * vsc, ItemObject(input.item, Name()));
  if (RestorePvsOff(input)) return Skipped(std::move(input.item));
  if (client_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        Name(), ": choosing the content's VolumeSnapshotClass needs a cluster client"));
  }
  const json::value& backed_up =
      input.item_from_backup != nullptr ? *input.item_from_backup : input.item;
  const std::string original = JsonString(backed_up, {"metadata", "name"}).value_or("");
  std::string handle = JsonString(backed_up, {"status", "snapshotHandle"}).value_or("");
  if (handle.empty()) {
    handle = JsonString(backed_up, {"spec", "source", "snapshotHandle"}).value_or("");
  }
  if (handle.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        Name(), ": VolumeSnapshotContent ", original, " has no snapshot handle in the backup"));
  }
  json::object& spec = SpecOf(*vsc);
  json::value& ref_value = spec["volumeSnapshotRef"];
  if (!ref_value.is_object()) ref_value = json::object();
  json::object& ref = ref_value.as_object();
  const std::string vs_name = StringAt(&ref, "name");
  if (vs_name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        Name(), ": VolumeSnapshotContent ", original, " names no VolumeSnapshot"));
  }
  const std::string restore_uid = input.context != nullptr ? input.context->restore_uid : "";
  const std::string new_name = CsiRestoreName(restore_uid, vs_name);
  const std::string vs_ns = StringAt(&ref, "namespace");
  ref["name"] = json::string(new_name);
  if (!vs_ns.empty() && input.context != nullptr) {
    ref["namespace"] = json::string(input.context->MapNamespace(vs_ns));
  }
  ref.erase("uid");
  ref.erase("resourceVersion");
  spec["deletionPolicy"] = "Retain";
  spec["source"] = json::object{{"snapshotHandle", handle}};
  const std::string driver = StringAt(&spec, "driver");
  LIFEBOAT_ASSIGN_OR_RETURN(std::string cls,
                            ClassFor(driver, StringAt(&spec, "volumeSnapshotClassName")));
  if (cls.empty()) {
    spec.erase("volumeSnapshotClassName");
  } else {
    spec["volumeSnapshotClassName"] = json::string(cls);
  }
  json::value& md = (*vsc)["metadata"];
  if (!md.is_object()) md = json::object();
  md.as_object()["name"] = json::string(new_name);
  plugin::RestoreItemActionOutput out;
  AddSecret(ObjectAt(&md.as_object(), "annotations"), "csi.storage.k8s.io/deletion-secret",
            &out.additional_items);
  out.item = std::move(input.item);
  return out;
}

// ---------------------------------------------------------------------------------------------
// velero.io/csi-volumesnapshotclass-restorer

plugin::ResourceSelector CsiVolumeSnapshotClassRestorerAction::AppliesTo() const {
  return Resources({"volumesnapshotclasses.snapshot.storage.k8s.io"});
}

StatusOr<plugin::RestoreItemActionOutput> CsiVolumeSnapshotClassRestorerAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * cls, ItemObject(input.item, Name()));
  if (RestorePvsOff(input)) return Skipped(std::move(input.item));
  plugin::RestoreItemActionOutput out;
  AddSecret(ObjectAt(ObjectAt(cls, "metadata"), "annotations"),
            "csi.storage.k8s.io/snapshotter-list-secret", &out.additional_items);
  out.item = std::move(input.item);
  return out;
}

}  // namespace lifeboat::restore
