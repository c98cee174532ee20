// Namespaces (Velero §6.4: a target namespace is created from the backed-up Namespace before its
// first item, and waited for while it terminates) and persistent volumes (§6.6: native
// snapshots, dynamic re-provisioning, renamed clones, binding reset).

#include <random>
#include <thread>

#include "lifeboat/common/json.h"
#include "lifeboat/kube/object.h"
#include "src/restore/object_util.h"
#include "src/restore/restore_run.h"

namespace lifeboat::restore {
namespace json = boost::json;
namespace {

const kube::GroupVersionResource kNamespaces{"", "v1", "namespaces"};
const kube::GroupVersionResource kPersistentVolumes{"", "v1", "persistentvolumes"};

bool Terminating(const json::value& obj) {
  return JsonFind(obj, {"metadata", "deletionTimestamp"}) != nullptr ||
         JsonString(obj, {"status", "phase"}).value_or("") == "Terminating";
}

// Removes what ties a volume or claim to its old partner (Velero's resetVolumeBindingInfo).
void ResetVolumeBindingInfo(json::value& obj) {
  if (json::value* ref = const_cast<json::value*>(JsonFind(obj, {"spec", "claimRef"}));
      ref != nullptr && ref->is_object()) {
    ref->as_object().erase("uid");
    ref->as_object().erase("resourceVersion");
  }
  if (json::value* ann = const_cast<json::value*>(JsonFind(obj, {"metadata", "annotations"}));
      ann != nullptr && ann->is_object()) {
    ann->as_object().erase("pv.kubernetes.io/bind-completed");
    ann->as_object().erase("pv.kubernetes.io/bound-by-controller");
  }
}

std::string RandomUuid() {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  uint64_t a = gen(), b = gen();
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

}  // namespace

std::string RestoreRun::TargetNamespace(const std::string& ns) const {
  return context_.MapNamespace(ns);
}

Status RestoreRun::EnsureNamespace(const std::string& source_ns, const std::string& target_ns) {
  {
    std::unique_lock lock(mu_);
    auto [it, inserted] = namespaces_ensured_.try_emplace(target_ns);
    if (!inserted) {
      ns_cv_.wait(lock, [&] { return it->second.has_value(); });
      return *it->second;
    }
  }
  auto finish = [&](Status s) {
    std::lock_guard lock(mu_);
    namespaces_ensured_[target_ns] = s;
    ns_cv_.notify_all();
    return s;
  };
  const auto deadline = clock_->Now() + options_.terminating_timeout;
  int server_errors = 0;  // creates that failed with 5xx: sent again (the loop re-reads first)
  for (;;) {
    auto live = deps_.client->Get(kNamespaces, "", target_ns);
    if (live.ok() && !Terminating(*live)) return finish(absl::OkStatus());
    if (!live.ok() && !absl::IsNotFound(live.status())) {
      return finish(Annotate(live.status(), "getting namespace " + target_ns));
    }
    if (live.ok()) {  // terminating: wait for it to go
      if (clock_->Now() >= deadline || cancel_.IsCancelled()) {
        return finish(absl::DeadlineExceededError("namespace " + target_ns +
                                            " is still terminating; try the restore again later"));
      }
      clock_->SleepFor(std::chrono::milliseconds(200), cancel_);
      continue;
    }
    json::object ns{{"apiVersion", "v1"}, {"kind", "Namespace"},
                    {"metadata", {{"name", target_ns}}}};
    if (contents_.resources().count("namespaces")) {
      auto text = contents_.ReadItem("namespaces", "", "", source_ns);
      if (auto backed_up = text.ok() ? ParseJson(*text) : StatusOr<json::value>(text.status());
          backed_up.ok()) {
        for (std::string_view k : {"labels", "annotations"}) {
          if (const json::value* v = JsonFind(*backed_up, {"metadata", k})) {
            ns["metadata"].as_object()[k] = *v;
          }
        }
        if (const json::value* spec = JsonFind(*backed_up, {"spec"})) ns["spec"] = *spec;
      }
    }
    kube::WriteOptions write;
    write.cancel = cancel_;
    auto created = deps_.client->Create(kNamespaces, "", ns, write);
    if (created.ok()) {
      list_.Add("v1/Namespace", target_ns + "(created)");
      log_.Info("Created namespace " + target_ns, {"namespaces", "", target_ns});
      return finish(absl::OkStatus());
    }
    if (absl::IsUnavailable(created.status()) && ++server_errors < 5 && !cancel_.IsCancelled()) {
      clock_->SleepFor(std::chrono::milliseconds(100 << server_errors), cancel_);
      continue;
    }
    if (!absl::IsAlreadyExists(created.status())) {
      return finish(Annotate(created.status(), "creating namespace " + target_ns));
    }
  }
}

bool RestoreRun::PreparePersistentVolume(const ItemRef& ref, json::value& pv) {
  engine::LogFields f{ref.gr, "", ref.name};
  const std::string claim_ns = JsonString(pv, {"spec", "claimRef", "namespace"}).value_or("");
  auto remap_claim = [&] {
    if (claim_ns.empty()) return;
    const_cast<json::value*>(JsonFind(pv, {"spec", "claimRef"}))->as_object()["namespace"] =
        json::string(TargetNamespace(claim_ns));
  };
  if (data_elsewhere_.count(ref.name)) {
    std::lock_guard lock(mu_);
    pvs_to_provision_.insert(ref.name);
    // Velero: "...because it has a pod volume backup to be restored" / "...because it has a
    // related CSI VolumeSnapshot"; the claim is provisioned anew (from the restored
    // VolumeSnapshot: velero.io/csi-pvc-restorer), so the PV object itself is not created.
    log_.Info("Dynamically re-provisioning persistent volume because it has a pod volume backup or "
              "a CSI VolumeSnapshot to be restored.", f);
    return false;
  }
  auto snapshot = snapshots_.find(ref.name);
  if (snapshot == snapshots_.end()) {
    const std::string policy =
        JsonString(pv, {"spec", "persistentVolumeReclaimPolicy"}).value_or("");
    if (policy == "Delete") {
      std::lock_guard lock(mu_);
      pvs_to_provision_.insert(ref.name);
      log_.Info("Dynamically re-provisioning persistent volume because it doesn't have a snapshot "
                "and its reclaim policy is Delete.", f);
      return false;
    }
    // Retain (or Recycle): the PV points at a volume that outlived its claim; it comes back as it
    // was, bound to the claim of the (mapped) namespace.
    log_.Info("Restoring persistent volume as-is because it doesn't have a snapshot and its "
              "reclaim policy is not Delete.", f);
    remap_claim();
    ResetVolumeBindingInfo(pv);
    return true;
  }
  // A PV with a native snapshot: restore a volume from it unless the PV is still there.
  const bool remapped = !claim_ns.empty() && TargetNamespace(claim_ns) != claim_ns;
  auto existing = deps_.client->Get(kPersistentVolumes, "", ref.name);
  const auto deadline = clock_->Now() + options_.terminating_timeout;
  while (!remapped && existing.ok() && Terminating(*existing) && clock_->Now() < deadline &&
         !cancel_.IsCancelled()) {
    clock_->SleepFor(std::chrono::milliseconds(200), cancel_);
    existing = deps_.client->Get(kPersistentVolumes, "", ref.name);
  }
  remap_claim();
  if (existing.ok() && !remapped) {
    log_.Info("Persistent volume already exists in the cluster; not restoring it from its snapshot",
              f);
    return true;  // the create will find it and apply the existing-resource policy
  }
  ResetVolumeBindingInfo(pv);
  if (existing.ok() && remapped) {
    std::string new_name = "velero-clone-" + RandomUuid();
    json::object& md = pv.as_object()["metadata"].as_object();
    md["name"] = json::string(new_name);
    json::value& ann = md["annotations"];
    if (!ann.is_object()) ann = json::object();
    ann.as_object()["velero.io/original-pv-name"] = json::string(ref.name);
    std::lock_guard lock(mu_);
    renamed_pvs_[ref.name] = new_name;
  }
  if (restore_.spec.restore_pvs == false) {
    log_.Info("Restore is not restoring PVs; restoring the persistent volume without creating a "
              "volume from its snapshot", f);
    return true;
  }
  log_.Info("Restoring persistent volume from snapshot.", f);
  Status status = [&]() -> Status {
    if (!deps_.snapshotters) return absl::FailedPreconditionError("no volume snapshotter is configured");
    const RestoreSnapshotLocation* loc = nullptr;
    for (const auto& l : deps_.snapshot_locations) {
      if (l.name == snapshot->second.location) loc = &l;
    }
    if (loc == nullptr) {
      return absl::NotFoundError("volume snapshot location " + snapshot->second.location + " not found");
    }
    LIFEBOAT_ASSIGN_OR_RETURN(auto snapshotter, deps_.snapshotters(loc->provider, loc->config));
    const NativeSnapshot& s = snapshot->second;
    LIFEBOAT_ASSIGN_OR_RETURN(std::string volume_id, snapshotter->CreateVolumeFromSnapshot(
                                                         s.snapshot_id, s.volume_type, s.volume_az,
                                                         s.iops));
    LIFEBOAT_ASSIGN_OR_RETURN(pv, snapshotter->SetVolumeId(std::move(pv), volume_id));
    log_.Info("Restored persistent volume from snapshot " + s.snapshot_id + " as volume " +
                  volume_id, f);
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    log_.Error("error restoring persistent volume " + ref.name + " from its snapshot", f, status);
    return false;
  }
  return true;
}

void RestoreRun::PreparePersistentVolumeClaim(json::value& pvc) {
  const json::value* vn = JsonFind(pvc, {"spec", "volumeName"});
  if (vn == nullptr || !vn->is_string() || vn->as_string().empty()) return;
  const std::string volume(vn->as_string());
  ResetVolumeBindingInfo(pvc);
  std::lock_guard lock(mu_);
  json::object& spec = pvc.as_object()["spec"].as_object();
  if (pvs_to_provision_.count(volume)) {
    spec.erase("volumeName");
  } else if (auto it = renamed_pvs_.find(volume); it != renamed_pvs_.end()) {
    spec["volumeName"] = json::string(it->second);
  }
}

StatusOr<json::value> BuildRestoreVolumeInfo(kube::DynamicClient& client,
                                             const api::Restore& restore,
                                             const json::value& backup_volume_info) {
  json::array out;
  if (!backup_volume_info.is_array() || restore.spec.restore_pvs == false) return out;
  const kube::GroupVersionResource claims{"", "v1", "persistentvolumeclaims"};
  const kube::GroupVersionResource snapshots{"snapshot.storage.k8s.io", "v1", "volumesnapshots"};
  const kube::GroupVersionResource contents{"snapshot.storage.k8s.io", "v1",
                                            "volumesnapshotcontents"};
  const std::string label = LabelSafe(restore.metadata.name);
  auto ours = [&](const json::value& obj) {
    return JsonString(obj, {"metadata", "labels", "velero.io/restore-name"}).value_or("") == label;
  };
  // The object, or nullopt when it is missing or not this restore's.
  auto get = [&](const kube::GroupVersionResource& gvr, const std::string& ns,
                 const std::string& name) -> StatusOr<std::optional<json::value>> {
    if (name.empty()) return std::optional<json::value>();
    auto obj = client.Get(gvr, ns, name);
    if (absl::IsNotFound(obj.status())) return std::optional<json::value>();
    if (!obj.ok()) return obj.status();
    if (!ours(*obj)) return std::optional<json::value>();
    return std::optional<json::value>(std::move(*obj));
  };
  auto mapped = [&](const std::string& ns) {
    auto it = restore.spec.namespace_mapping.find(ns);
    return it == restore.spec.namespace_mapping.end() ? ns : it->second;
  };
  for (const json::value& v : backup_volume_info.as_array()) {
    const std::string method = JsonString(v, {"backupMethod"}).value_or("");
    const std::string pvc_name = JsonString(v, {"pvcName"}).value_or("");
    const std::string pvc_ns = mapped(JsonString(v, {"pvcNamespace"}).value_or(""));
    if (method == "CSISnapshot" && !JsonBool(v, {"snapshotDataMoved"}).value_or(false)) {
      LIFEBOAT_ASSIGN_OR_RETURN(auto pvc, get(claims, pvc_ns, pvc_name));
      if (!pvc || JsonString(*pvc, {"spec", "dataSource", "kind"}).value_or("") != "VolumeSnapshot") {
        continue;
      }
      LIFEBOAT_ASSIGN_OR_RETURN(
          auto vs, get(snapshots, pvc_ns,
                       JsonString(*pvc, {"spec", "dataSource", "name"}).value_or("")));
      const std::string vsc_name =
          vs ? JsonString(*vs, {"spec", "source", "volumeSnapshotContentName"}).value_or("") : "";
      LIFEBOAT_ASSIGN_OR_RETURN(auto vsc, get(contents, "", vsc_name));
      const json::value* ready = vsc ? JsonFind(*vsc, {"status", "readyToUse"}) : nullptr;
      json::object info{
          {"snapshotHandle", JsonString(v, {"csiSnapshotInfo", "snapshotHandle"}).value_or("")},
          {"size", JsonInt(v, {"csiSnapshotInfo", "size"}).value_or(0)},
          {"driver", JsonString(v, {"csiSnapshotInfo", "driver"}).value_or("")},
          {"vscName", vsc_name},
          {"ReadyToUse", ready != nullptr && ready->is_bool() ? *ready : json::value(nullptr)}};
      json::object entry{{"pvcName", pvc_name}, {"pvcNamespace", pvc_ns}};
      const std::string pv = JsonString(*pvc, {"spec", "volumeName"}).value_or("");
      if (!pv.empty()) entry["pvName"] = pv;
      entry["restoreMethod"] = "CSISnapshot";
      entry["snapshotDataMoved"] = false;
      entry["csiSnapshotInfo"] = std::move(info);
      out.push_back(std::move(entry));
    } else if (method == "NativeSnapshot") {
      std::string pv_name = JsonString(v, {"pvName"}).value_or("");
      if (!pvc_name.empty()) {
        LIFEBOAT_ASSIGN_OR_RETURN(auto pvc, get(claims, pvc_ns, pvc_name));
        if (pvc) pv_name = JsonString(*pvc, {"spec", "volumeName"}).value_or(pv_name);
      }
      LIFEBOAT_ASSIGN_OR_RETURN(auto pv, get(kPersistentVolumes, "", pv_name));
      if (!pv) continue;
      json::object entry;
      if (!pvc_name.empty()) {
        entry["pvcName"] = pvc_name;
        entry["pvcNamespace"] = pvc_ns;
      }
      entry["pvName"] = pv_name;
      entry["restoreMethod"] = "NativeSnapshot";
      entry["snapshotDataMoved"] = false;
      if (const json::value* n = JsonFind(v, {"nativeSnapshotInfo"})) entry["nativeSnapshotInfo"] = *n;
      out.push_back(std::move(entry));
    }
  }
  return out;
}

}  // namespace lifeboat::restore
