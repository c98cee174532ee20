#include "src/backup/actions/csi_actions.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/ascii.h"
#include "lifeboat/api/duration.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/object.h"

namespace lifeboat::backup {
namespace {

namespace json = boost::json;

const kube::GroupVersionResource kVsGvr{"snapshot.storage.k8s.io", "v1", "volumesnapshots"};
const kube::GroupVersionResource kVscGvr{"snapshot.storage.k8s.io", "v1",
                                         "volumesnapshotcontents"};
const kube::GroupVersionResource kClassGvr{"snapshot.storage.k8s.io", "v1",
                                           "volumesnapshotclasses"};
const kube::GroupVersionResource kPvGvr{"", "v1", "persistentvolumes"};

constexpr std::string_view kClassLabel = "velero.io/csi-volumesnapshot-class";
constexpr std::string_view kDefaultClassAnnotation = "snapshot.storage.kubernetes.io/is-default-class";
constexpr std::string_view kMustInclude = "backup.velero.io/must-include-additional-items";
constexpr std::string_view kSnapshotNameKey = "velero.io/volume-snapshot-name";
constexpr std::string_view kBackupNameLabel = "velero.io/backup-name";

std::string Str(const json::value& v, std::initializer_list<std::string_view> path) {
  return JsonString(v, path).value_or("");
}

std::string Msg(const Status& s) { return std::string(s.message()); }

// Guards against a "metadata" that is not an object before MetaMap.
void EnsureMetadata(json::value& item) {
  json::value& md = item.as_object()["metadata"];
  if (!md.is_object()) md = json::object();
}

void SetAnnotation(json::value& item, std::string_view k, std::string_view v) {
  EnsureMetadata(item);
  json::value& m = item.as_object()["metadata"].as_object()["annotations"];
  if (!m.is_object()) m = json::object();
  m.as_object()[k] = v;
}

void SetLabel(json::value& item, std::string_view k, std::string_view v) {
  EnsureMetadata(item);
  json::value& m = item.as_object()["metadata"].as_object()["labels"];
  if (!m.is_object()) m = json::object();
  m.as_object()[k] = v;
}

// The secret named by `<prefix>-name` / `<prefix>-namespace` annotations, if both are set.
std::vector<plugin::ResourceIdentifier> SecretFrom(const json::value& item, std::string_view prefix) {
  auto ann = kube::ObjectAnnotations(item);
  auto name = ann.find(std::string(prefix) + "-name");
  auto ns = ann.find(std::string(prefix) + "-namespace");
  if (name == ann.end() || ns == ann.end() || name->second.empty() || ns->second.empty()) return {};
  return {{"", "secrets", ns->second, name->second}};
}

// Velero's GetVolumeSnapshotClass: the class for `driver`, in the documented order. NotFound
// when the driver has none.
StatusOr<std::string> ChooseClass(kube::DynamicClient& client, const std::string& driver,
                                  const json::value& pvc, const plugin::BackupContext& backup) {
  kube::ListAllOptions lo;
  std::vector<json::value> classes;
  lo.on_restart = [&classes] { classes.clear(); };
  LIFEBOAT_RETURN_IF_ERROR(kube::ListAll(client, kClassGvr, "", lo, [&](json::value&& c) {
                             if (Str(c, {"driver"}) == driver) classes.emplace_back(std::move(c));
                             return absl::OkStatus();
                           }).status());
  auto named = [&](const std::string& name) -> StatusOr<std::string> {
    for (const auto& c : classes) {
      if (kube::ObjectName(c) == name) return name;
    }
    return absl::InvalidArgumentError("VolumeSnapshotClass " + name + " does not exist for driver " +
                                      driver);
  };
  auto pvc_ann = kube::ObjectAnnotations(pvc);
  if (auto it = pvc_ann.find(std::string(kClassLabel)); it != pvc_ann.end() && !it->second.empty()) {
    return named(it->second);
  }
  const json::value backup_value(backup.backup);
  const std::string backup_key = std::string(kClassLabel) + "_" + absl::AsciiStrToLower(driver);
  auto backup_ann = kube::ObjectAnnotations(backup_value);
  if (auto it = backup_ann.find(backup_key); it != backup_ann.end() && !it->second.empty()) {
    return named(it->second);
  }
  std::vector<std::string> labelled, defaults;
  for (const auto& c : classes) {
    auto labels = kube::ObjectLabels(c);
    if (auto it = labels.find(std::string(kClassLabel)); it != labels.end() && it->second == "true") {
      labelled.emplace_back(kube::ObjectName(c));
    }
    auto ann = kube::ObjectAnnotations(c);
    if (auto it = ann.find(std::string(kDefaultClassAnnotation));
        it != ann.end() && it->second == "true") {
      defaults.emplace_back(kube::ObjectName(c));
    }
  }
  if (labelled.size() > 1) {
    return absl::FailedPreconditionError("more than one VolumeSnapshotClass for driver " + driver +
                                         " has label " + std::string(kClassLabel));
  }
  if (labelled.size() == 1) return labelled[0];
  if (defaults.size() > 1) {
    return absl::FailedPreconditionError("more than one default VolumeSnapshotClass for driver " +
                                         driver);
  }
  if (defaults.size() == 1) return defaults[0];
  if (classes.size() == 1) return std::string(kube::ObjectName(classes[0]));
  if (classes.empty()) return absl::NotFoundError("no VolumeSnapshotClass for driver " + driver);
  return absl::FailedPreconditionError(
      "several VolumeSnapshotClasses for driver " + driver + " and none is labelled " +
      std::string(kClassLabel) + "=true or is the default");
}

std::chrono::nanoseconds SnapshotTimeout(const plugin::BackupContext& backup) {
  const json::value b(backup.backup);
  auto text = JsonString(b, {"spec", "csiSnapshotTimeout"});
  if (text && !text->empty()) {
    auto d = api::ParseGoDuration(*text);
    if (d.ok() && d->count() > 0) return *d;
  }
  return std::chrono::minutes(10);
}

// Polls the VolumeSnapshot until it is ready and its content has a handle (fills `out`). As in
// Velero, an error in either status is not final (the snapshot controller retries): the wait
// goes on until the timeout, whose message then carries the last error seen.
Status WaitReady(kube::DynamicClient& client, Clock& clock, const std::string& ns,
                 const std::string& name, std::chrono::nanoseconds timeout,
                 const CancellationToken& cancel, CsiSnapshotOutcome& out) {
  const auto deadline = clock.Now() + timeout;
  std::chrono::milliseconds interval(100);
  std::string last = "not ready";
  while (true) {
    auto vs = client.Get(kVsGvr, ns, name, {.cancel = cancel});
    if (!vs.ok() && absl::IsNotFound(vs.status())) {
      return absl::NotFoundError("VolumeSnapshot " + ns + "/" + name + " disappeared");
    }
    if (vs.ok()) {
      out.vsc_name = Str(*vs, {"status", "boundVolumeSnapshotContentName"});
      out.completion_timestamp = Str(*vs, {"status", "creationTime"});
      const bool ready = JsonBool(*vs, {"status", "readyToUse"}).value_or(false);
      last = out.vsc_name.empty() ? "not bound to a VolumeSnapshotContent" : "not readyToUse";
      if (auto err = JsonString(*vs, {"status", "error", "message"})) last += ": " + *err;
      if (ready && !out.vsc_name.empty()) {
        auto vsc = client.Get(kVscGvr, "", out.vsc_name, {.cancel = cancel});
        if (vsc.ok()) {
          out.snapshot_handle = Str(*vsc, {"status", "snapshotHandle"});
          out.size = JsonInt(*vsc, {"status", "restoreSize"}).value_or(0);
          if (auto d = JsonString(*vsc, {"spec", "driver"})) out.driver = *d;
          if (!out.snapshot_handle.empty()) return absl::OkStatus();
          last = "its VolumeSnapshotContent has no snapshotHandle";
          if (auto err = JsonString(*vsc, {"status", "error", "message"})) last += ": " + *err;
        } else {
          last = "reading VolumeSnapshotContent " + out.vsc_name + ": " + Msg(vsc.status());
        }
      }
    } else {
      last = Msg(vs.status());
    }
    if (cancel.IsCancelled()) return cancel.status();
    if (clock.Now() >= deadline) {
      return absl::DeadlineExceededError("timed out after " + api::FormatGoDuration(timeout) +
                                         " waiting for VolumeSnapshot " + ns + "/" + name +
                                         " to be ready (" + last + ")");
    }
    if (cancel.WaitFor(interval)) return cancel.status();
    interval = std::min(interval * 2, std::chrono::milliseconds(1000));
  }
}

}  // namespace

std::string BinarySiQuantity(int64_t bytes) {
  static constexpr const char* kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (bytes == 0 || bytes % 1024 != 0 || (bytes < 1024 && bytes > -1024)) {
    return std::to_string(bytes);
  }
  int exp = 0;
  while (exp < 6 && bytes % 1024 == 0 && bytes != 0) {
    bytes /= 1024;
    ++exp;
  }
  return std::to_string(bytes) + kSuffixes[exp];
}

plugin::ResourceSelector CsiPvcAction::AppliesTo() const {
  plugin::ResourceSelector s;
  s.included_resources = {"persistentvolumeclaims"};
  return s;
}

StatusOr<plugin::ExecuteOutput> CsiPvcAction::Snapshot(json::value item,
                                                       const plugin::BackupContext& backup,
                                                       const CancellationToken& cancel,
                                                       CsiSnapshotOutcome* outcome) {
  if (!item.is_object()) {
    return absl::InvalidArgumentError("velero.io/csi-pvc-backupper: the item is not an object");
  }
  CsiSnapshotOutcome local;
  CsiSnapshotOutcome& out = outcome != nullptr ? *outcome : local;
  plugin::ExecuteOutput result;
  const std::string ns(kube::ObjectNamespace(item));
  const std::string pvc_name(kube::ObjectName(item));
  const std::string volume = Str(item, {"spec", "volumeName"});
  if (Str(item, {"status", "phase"}) != "Bound" || volume.empty()) {
    result.item = std::move(item);
    return result;
  }
  out.pv_name = volume;
  // Velero's order; these two leave the reason to the native path's record.
  const json::value backup_value(backup.backup);
  if (JsonBool(backup_value, {"spec", "snapshotVolumes"}) == false ||
      Str(item, {"spec", "storageClassName"}).empty()) {
    result.item = std::move(item);
    return result;
  }
  if (client_ == nullptr) return absl::FailedPreconditionError("no Kubernetes client");
  auto pv = client_->Get(kPvGvr, "", volume, {.cancel = cancel});
  if (!pv.ok()) return Annotate(pv.status(), "getting PersistentVolume " + volume);
  const std::string driver = Str(*pv, {"spec", "csi", "driver"});
  if (driver.empty()) {
    SetAnnotation(item, "backup.velero.io/skipped-no-csi-pv", "true");
    result.item = std::move(item);
    return result;
  }
  out.driver = driver;
  if (!client_->discovery()->ResourceFor(kVsGvr).ok()) {
    out.skipped_reason = "csiSnapshot: the cluster does not serve snapshot.storage.k8s.io/v1;";
    result.item = std::move(item);
    return result;
  }
  auto cls = ChooseClass(*client_, driver, item, backup);
  if (absl::IsNotFound(cls.status())) {
    out.skipped_reason = "csiSnapshot: " + Msg(cls.status()) + ";";
    result.item = std::move(item);
    return result;
  }
  if (!cls.ok()) return Annotate(cls.status(), "choosing a VolumeSnapshotClass");

  json::object labels;
  for (const auto& [k, v] : kube::ObjectLabels(item)) labels[k] = v;
  labels[kBackupNameLabel] = backup.backup_name;
  json::value vs = json::object{
      {"apiVersion", "snapshot.storage.k8s.io/v1"},
      {"kind", "VolumeSnapshot"},
      {"metadata", json::object{{"generateName", "velero-" + pvc_name + "-"},
                                {"namespace", ns},
                                {"labels", std::move(labels)}}},
      {"spec", json::object{{"source", json::object{{"persistentVolumeClaimName", pvc_name}}},
                            {"volumeSnapshotClassName", *cls}}}};
  auto created = client_->Create(kVsGvr, ns, vs, {.cancel = cancel});
  if (!created.ok()) return Annotate(created.status(), "creating a VolumeSnapshot");
  out.attempted = true;
  out.vs_namespace = ns;
  out.vs_name = std::string(kube::ObjectName(*created));
  out.start_timestamp = Str(*created, {"metadata", "creationTimestamp"});
  Clock& clock = clock_ != nullptr ? *clock_ : RealClock();
  Status ready = WaitReady(*client_, clock, ns, out.vs_name, SnapshotTimeout(backup), cancel, out);
  if (!ready.ok()) {
    out.error = Msg(ready);
    // A snapshot that never became usable is not kept (with its content, when it has one).
    auto del = client_->Delete(kVsGvr, ns, out.vs_name);
    if (!del.ok() && !absl::IsNotFound(del.status())) {
      out.error += "; deleting it failed too: " + Msg(del.status());
    }
    return absl::Status(ready.code(), out.error);
  }
  out.completed = true;
  SetLabel(item, kSnapshotNameKey, out.vs_name);
  SetAnnotation(item, kSnapshotNameKey, out.vs_name);
  SetAnnotation(item, kMustInclude, "true");
  result.additional_items.push_back({std::string(kSnapshotGroup), "volumesnapshots", ns, out.vs_name});
  result.item = std::move(item);
  return result;
}

plugin::ResourceSelector CsiVolumeSnapshotAction::AppliesTo() const {
  plugin::ResourceSelector s;
  s.included_resources = {std::string(kVolumeSnapshotsGR)};
  return s;
}

StatusOr<plugin::ExecuteOutput> CsiVolumeSnapshotAction::Execute(
    json::value item, const plugin::BackupContext& backup) {
  if (!item.is_object()) {
    return absl::InvalidArgumentError(
        "velero.io/csi-volumesnapshot-backupper: the item is not an object");
  }
  plugin::ExecuteOutput out;
  const std::string cls = Str(item, {"spec", "volumeSnapshotClassName"});
  if (!cls.empty()) {
    out.additional_items.push_back({std::string(kSnapshotGroup), "volumesnapshotclasses", "", cls});
  }
  const std::string vsc_name = Str(item, {"status", "boundVolumeSnapshotContentName"});
  if (!vsc_name.empty() && client_ != nullptr) {
    auto vsc = client_->Get(kVscGvr, "", vsc_name);
    if (!vsc.ok()) return Annotate(vsc.status(), "getting VolumeSnapshotContent " + vsc_name);
    if (auto h = JsonString(*vsc, {"status", "snapshotHandle"})) {
      SetAnnotation(item, "velero.io/csi-volumesnapshot-handle", *h);
    }
    SetAnnotation(item, "velero.io/csi-driver-name", Str(*vsc, {"spec", "driver"}));
    SetAnnotation(item, "velero.io/csi-vsc-deletion-policy", Str(*vsc, {"spec", "deletionPolicy"}));
    if (auto size = JsonInt(*vsc, {"status", "restoreSize"})) {
      SetAnnotation(item, "velero.io/csi-volumesnapshot-restore-size", BinarySiQuantity(*size));
    }
    // The content is labelled with the backup in the cluster, so it is archived with the label.
    const json::value patch = json::object{
        {"metadata", json::object{{"labels", json::object{{kBackupNameLabel, backup.backup_name}}}}}};
    auto patched = client_->Patch(kVscGvr, "", vsc_name, kube::PatchType::kMerge,
                                  json::serialize(patch));
    if (!patched.ok()) {
      return Annotate(patched.status(), "labelling VolumeSnapshotContent " + vsc_name);
    }
    out.additional_items.push_back({std::string(kSnapshotGroup), "volumesnapshotcontents", "", vsc_name});
  }
  SetAnnotation(item, kMustInclude, "true");
  out.item = std::move(item);
  return out;
}

plugin::ResourceSelector CsiVolumeSnapshotContentAction::AppliesTo() const {
  plugin::ResourceSelector s;
  s.included_resources = {std::string(kVolumeSnapshotContentsGR)};
  return s;
}

StatusOr<plugin::ExecuteOutput> CsiVolumeSnapshotContentAction::Execute(
    json::value item, const plugin::BackupContext&) {
  plugin::ExecuteOutput out;
  out.additional_items = SecretFrom(item, "csi.storage.k8s.io/snapshotter-secret");
  out.item = std::move(item);
  return out;
}

plugin::ResourceSelector CsiVolumeSnapshotClassAction::AppliesTo() const {
  plugin::ResourceSelector s;
  s.included_resources = {std::string(kVolumeSnapshotClassesGR)};
  return s;
}

StatusOr<plugin::ExecuteOutput> CsiVolumeSnapshotClassAction::Execute(
    json::value item, const plugin::BackupContext&) {
  plugin::ExecuteOutput out;
  out.additional_items = SecretFrom(item, "csi.storage.k8s.io/snapshotter-list-secret");
  out.item = std::move(item);
  return out;
}

Status ReleaseSnapshot(kube::DynamicClient& client, const json::value& vs) {
  const std::string ns(kube::ObjectNamespace(vs));
  const std::string name(kube::ObjectName(vs));
  const std::string vsc = Str(vs, {"status", "boundVolumeSnapshotContentName"});
  if (vsc.empty()) {
    return absl::FailedPreconditionError("VolumeSnapshot " + ns + "/" + name +
                                         " is not bound to a VolumeSnapshotContent");
  }
  auto patched = client.Patch(kVscGvr, "", vsc, kube::PatchType::kMerge,
                              R"({"spec":{"deletionPolicy":"Retain"}})");
  if (!patched.ok()) {
    return Annotate(patched.status(), "setting deletionPolicy Retain on VolumeSnapshotContent " + vsc);
  }
  auto deleted = client.Delete(kVsGvr, ns, name);
  if (!deleted.ok() && !absl::IsNotFound(deleted.status())) {
    return Annotate(deleted.status(), "deleting VolumeSnapshot " + ns + "/" + name);
  }
  return absl::OkStatus();
}

}  // namespace lifeboat::backup
