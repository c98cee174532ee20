#include "src/backup/item_backupper.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lifeboat/api/label_selector.h"
#include "lifeboat/archive/layout.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/object.h"
#include "src/backup/resource_order.h"

namespace lifeboat::backup {
namespace {

constexpr std::string_view kExcludeLabel = "velero.io/exclude-from-backup";
constexpr std::string_view kSkipAnnotation = "velero.io/skip-from-backup";
constexpr std::string_view kMustIncludeAnnotation = "backup.velero.io/must-include-additional-items";

std::string Key(std::string_view gr, std::string_view ns, std::string_view name) {
  std::string k(gr);
  k.append("/").append(ns).append("/").append(name);
  return k;
}

bool HasDeletionTimestamp(const boost::json::value& item) {
  const boost::json::value* ts = JsonFind(item, {"metadata", "deletionTimestamp"});
  return ts != nullptr && !ts->is_null();
}

// Removes an annotation; drops the annotations map when it becomes empty.
void RemoveAnnotation(boost::json::value& item, std::string_view key) {
  auto* md = item.is_object() ? item.as_object().if_contains("metadata") : nullptr;
  if (md == nullptr || !md->is_object()) return;
  auto* ann = md->as_object().if_contains("annotations");
  if (ann == nullptr || !ann->is_object()) return;
  ann->as_object().erase(key);
  if (ann->as_object().empty()) md->as_object().erase("annotations");
}

}  // namespace

ItemBackupper::ItemBackupper(const BackupperDeps& deps, const api::Backup& backup,
                             const BackupFilters& filters, archive::ArchiveWriter& writer,
                             BackupLog& log, HookRunner& hooks, CancellationToken cancel)
    : deps_(deps), backup_(backup), filters_(filters), writer_(writer), log_(log), hooks_(hooks),
      cancel_(std::move(cancel)) {
  context_.backup_name = backup.metadata.name;
  context_.backup_uid = backup.metadata.uid;
  context_.backup_namespace = backup.metadata.namespace_;
  context_.backup = api::ToJson(backup).as_object();
  for (const auto& a : deps_.actions) actions_.emplace_back(a, a->AppliesTo());
}

Status ItemBackupper::BackupListed(const kube::ApiResource& resource, boost::json::value item,
                                   std::string encoded) {
  return Backup(resource, std::move(item), /*listed=*/true, /*must_include=*/false,
                std::move(encoded));
}

bool ItemBackupper::Included(const kube::ApiResource& resource, const boost::json::value& item,
                             bool listed, bool must_include) {
  if (must_include) return true;
  const LogFields f{GroupResource(resource), std::string(kube::ObjectNamespace(item)),
                    std::string(kube::ObjectName(item))};
  auto labels = kube::ObjectLabels(item);
  if (auto it = labels.find(std::string(kExcludeLabel)); it != labels.end() && it->second == "true") {
    log_.Info("Excluding item because it has label velero.io/exclude-from-backup=true", f);
    return false;
  }
  if (!f.ns.empty() && !filters_.NamespaceIncluded(f.ns)) return false;
  if (!listed && !filters_.AdditionalItemAllowed(f.resource, resource.namespaced)) {
    log_.Info("Skipping item because its resource is excluded from the backup", f);
    return false;
  }
  if (HasDeletionTimestamp(item)) {
    log_.Info("Skipping item because it's being deleted.", f);
    return false;
  }
  return true;
}

Status ItemBackupper::Backup(const kube::ApiResource& resource, boost::json::value item,
                             bool listed, bool must_include, std::string encoded) {
  if (cancel_.IsCancelled()) return cancel_.status();
  const std::string gr = GroupResource(resource);
  const std::string ns(kube::ObjectNamespace(item));
  const std::string name(kube::ObjectName(item));
  const std::string key = Key(gr, ns, name);
  // An item reached first as an additional item is not written again when listed, and the
  // reverse: every written item is remembered by a 64-bit hash (a few bytes per item).
  if (!written_.insert(std::hash<std::string>{}(key)).second) return absl::OkStatus();
  if (!Included(resource, item, listed, must_include)) {
    written_.erase(std::hash<std::string>{}(key));
    return absl::OkStatus();
  }
  const LogFields f{gr, ns, name};
  log_.Info("Backing up item", f);
  const bool is_pod = gr == "pods";
  if (is_pod && !hooks_.Run(HookPhase::kPre, item)) {
    log_.Info("Pod is left out of the backup because a pre hook failed with onError Fail", f);
    return absl::OkStatus();
  }
  std::vector<plugin::ResourceIdentifier> additional;
  bool must_include_more = false;
  bool changed = false;
  if (!RunActions(resource, item, additional, must_include_more, changed)) return absl::OkStatus();
  if (changed || encoded.empty()) encoded = CanonicalJson(item);
  for (const auto& id : additional) {
    LIFEBOAT_RETURN_IF_ERROR(BackupByName(id, must_include_more));
  }
  if (gr == "persistentvolumes") SnapshotVolume(item);
  LIFEBOAT_RETURN_IF_ERROR(Write(resource, item, encoded));
  if (is_pod) hooks_.Run(HookPhase::kPost, item);
  return absl::OkStatus();
}

bool ItemBackupper::RunActions(const kube::ApiResource& resource, boost::json::value& item,
                               std::vector<plugin::ResourceIdentifier>& additional,
                               bool& must_include_more, bool& changed) {
  const std::string gr = GroupResource(resource);
  const LogFields f{gr, std::string(kube::ObjectNamespace(item)), std::string(kube::ObjectName(item))};
  for (const auto& [action, selector] : actions_) {
    if (!plugin::SelectorApplies(selector, gr, f.ns, kube::ObjectLabels(item))) continue;
    log_.Info("Executing custom action " + action->Name(), f);
    changed = true;
    auto out = action->Execute(item, context_);
    if (!out.ok()) {
      log_.Error("error executing custom action " + action->Name(), f, out.status());
      continue;
    }
    item = std::move(out->item);
    auto ann = kube::ObjectAnnotations(item);
    if (ann.count(std::string(kSkipAnnotation)) > 0) {
      log_.Info("Item was skipped by action " + action->Name(), f);
      return false;
    }
    if (auto it = ann.find(std::string(kMustIncludeAnnotation)); it != ann.end()) {
      must_include_more = must_include_more || it->second == "true";
      RemoveAnnotation(item, kMustIncludeAnnotation);
    }
    additional.insert(additional.end(), out->additional_items.begin(), out->additional_items.end());
  }
  return true;
}

Status ItemBackupper::BackupByName(const plugin::ResourceIdentifier& id, bool must_include) {
  const std::string name = id.resource + (id.group.empty() ? "" : "." + id.group);
  const LogFields f{id.GroupResource(), id.ns, id.name};
  auto resource = deps_.discovery->Lookup(name);
  if (!resource.ok()) {
    log_.Error("unable to find the API resource of an additional item", f,
               resource.status());
    return absl::OkStatus();
  }
  auto item = deps_.client->Get(resource->gvr(), resource->namespaced ? id.ns : "", id.name);
  if (!item.ok()) {
    if (item.status().code() == absl::StatusCode::kNotFound) {
      log_.Warn("additional item was not found", f);
    } else {
      log_.Error("error getting an additional item", f, item.status());
    }
    return absl::OkStatus();
  }
  return Backup(*resource, std::move(*item), /*listed=*/false, must_include);
}

// Velero's BackupVolumeInfo for a PV (field order as Velero's struct): its claim, how its data
// was kept (only native snapshots so far; later CSI snapshots and file-system backups), and the
// PV's reclaim policy and labels, which a restore uses to decide what to do with the volume.
void ItemBackupper::SnapshotVolume(const boost::json::value& pv) {
  const LogFields f{"persistentvolumes", "", std::string(kube::ObjectName(pv))};
  SnapshotOutcome outcome = TakeSnapshot(pv, f);
  boost::json::object info;
  if (auto claim = JsonString(pv, {"spec", "claimRef", "name"})) info["pvcName"] = *claim;
  if (auto ns = JsonString(pv, {"spec", "claimRef", "namespace"})) info["pvcNamespace"] = *ns;
  info["pvName"] = f.name;
  if (outcome.attempted) info["backupMethod"] = "NativeSnapshot";
  info["snapshotDataMoved"] = false;
  info["preserveLocalSnapshot"] = false;
  info["skipped"] = !outcome.attempted;
  if (!outcome.attempted) info["skippedReason"] = outcome.skipped_reason;
  if (outcome.attempted) {
    const boost::json::object& spec = outcome.record.at("spec").as_object();
    const boost::json::object& status = outcome.record.at("status").as_object();
    const bool ok = status.at("phase") == "Completed";
    info["result"] = ok ? "succeeded" : "failed";
    boost::json::object native{
        {"snapshotHandle", status.contains("providerSnapshotID") ? status.at("providerSnapshotID")
                                                                  : boost::json::value("")},
        {"volumeType", spec.at("volumeType")},
        {"volumeAZ", spec.contains("volumeAZ") ? spec.at("volumeAZ") : boost::json::value("")},
        {"iops", spec.contains("volumeIOPS")
                     ? boost::json::value(std::to_string(spec.at("volumeIOPS").as_int64()))
                     : boost::json::value("")},
        {"Phase", status.at("phase")}};
    info["nativeSnapshotInfo"] = std::move(native);
    volume_snapshots_.push_back(std::move(outcome.record));
  }
  const boost::json::value* labels = JsonFind(pv, {"metadata", "labels"});
  info["pvInfo"] = boost::json::object{
      {"reclaimPolicy", JsonString(pv, {"spec", "persistentVolumeReclaimPolicy"}).value_or("")},
      {"labels", labels != nullptr ? *labels : boost::json::value(nullptr)}};
  volume_infos_.push_back(std::move(info));
}

ItemBackupper::SnapshotOutcome ItemBackupper::TakeSnapshot(const boost::json::value& pv,
                                                           const LogFields& f) {
  SnapshotOutcome out;
  if (backup_.spec.snapshot_volumes == false) {
    out.skipped_reason = "volumeSnapshot: backup has volume snapshots disabled;";
    return out;
  }
  out.skipped_reason = "volumeSnapshot: no applicable volumesnapshotter found;";
  if (deps_.snapshot_locations.empty() || !deps_.snapshotters) return out;
  for (const auto& loc : deps_.snapshot_locations) {
    auto snapshotter = deps_.snapshotters(loc.provider, loc.config);
    if (!snapshotter.ok()) {
      log_.Error("error initializing volume snapshotter for location " + loc.name, f,
                 snapshotter.status());
      continue;
    }
    auto volume_id = (*snapshotter)->GetVolumeId(pv);
    if (!volume_id.ok() || volume_id->empty()) continue;
    std::string zone = std::string(
        JsonString(pv, {"metadata", "labels", "topology.kubernetes.io/zone"}).value_or(""));
    ++counts_.snapshots_attempted;
    auto info = (*snapshotter)->GetVolumeInfo(*volume_id, zone);
    std::map<std::string, std::string> tags = backup_.metadata.labels;
    tags["velero.io/backup"] = backup_.metadata.name;
    tags["velero.io/pv"] = f.name;
    auto snapshot = (*snapshotter)->CreateSnapshot(*volume_id, zone, tags);
    boost::json::object spec{{"backupName", backup_.metadata.name},
                             {"backupUID", backup_.metadata.uid},
                             {"location", loc.name},
                             {"persistentVolumeName", f.name},
                             {"providerVolumeID", *volume_id},
                             {"volumeType", info.ok() ? info->volume_type : ""}};
    if (!zone.empty()) spec["volumeAZ"] = zone;
    if (info.ok() && info->iops) spec["volumeIOPS"] = *info->iops;
    boost::json::object status;
    if (snapshot.ok()) {
      ++counts_.snapshots_completed;
      status = {{"providerSnapshotID", *snapshot}, {"phase", "Completed"}};
      log_.Info("Snapshot of volume " + *volume_id + " completed", f);
    } else {
      status = {{"phase", "Failed"}};
      log_.Error("error taking snapshot of volume " + *volume_id, f, snapshot.status());
    }
    out.attempted = true;
    out.record = boost::json::object{{"spec", spec}, {"status", status}};
    return out;
  }
  return out;
}

Status ItemBackupper::Write(const kube::ApiResource& resource, const boost::json::value& item,
                            const std::string& bytes) {
  const std::string gr = GroupResource(resource);
  const std::string ns = resource.namespaced ? std::string(kube::ObjectNamespace(item)) : "";
  const std::string name(kube::ObjectName(item));
  LIFEBOAT_RETURN_IF_ERROR(writer_.Add(archive::ItemPath(gr, ns, name), bytes));
  LIFEBOAT_RETURN_IF_ERROR(
      writer_.Add(archive::PreferredVersionItemPath(gr, resource.version, ns, name), bytes));
  ++counts_.items;
  if (!ns.empty()) namespaces_used_.insert(ns);
  group_resources_used_.insert(gr);
  const std::string gv = resource.group.empty() ? resource.version : resource.group + "/" + resource.version;
  std::string& names = resource_list_[gv + "/" + resource.kind];
  if (!ns.empty()) names.append(ns).append("/");
  names.append(name).append("\n");
  return absl::OkStatus();
}

boost::json::object ItemBackupper::ResourceList() const {
  boost::json::object out;
  for (const auto& [key, names] : resource_list_) {
    std::vector<std::string_view> sorted;
    for (size_t start = 0; start < names.size();) {
      size_t end = names.find('\n', start);
      sorted.emplace_back(names.data() + start, end - start);
      start = end + 1;
    }
    std::sort(sorted.begin(), sorted.end());
    boost::json::array a;
    a.reserve(sorted.size());
    for (auto n : sorted) a.emplace_back(n);
    out[key] = std::move(a);
  }
  return out;
}

boost::json::value ItemBackupper::VolumeSnapshots() const {
  if (volume_snapshots_.empty()) return nullptr;
  return volume_snapshots_;
}

}  // namespace lifeboat::backup
