#include "src/backup/item_backupper.h"

#include <algorithm>
#include <optional>

#include "absl/strings/escaping.h"
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

// A string array of `state[key]`, or DataLoss.
StatusOr<std::vector<std::string>> Strings(const boost::json::object& state, std::string_view key) {
  const boost::json::value* v = state.if_contains(key);
  if (v == nullptr || !v->is_array()) {
    return absl::DataLossError("checkpoint items: \"" + std::string(key) + "\" is not an array");
  }
  std::vector<std::string> out;
  for (const auto& e : v->as_array()) {
    if (!e.is_string()) {
      return absl::DataLossError("checkpoint items: \"" + std::string(key) +
                                 "\" holds a non-string");
    }
    out.emplace_back(e.as_string());
  }
  return out;
}

StatusOr<int64_t> Count(const boost::json::object& state, std::string_view key,
                        bool optional = false) {
  const boost::json::value* v = state.if_contains(key);
  if (v == nullptr && optional) return 0;  // a checkpoint written before the field existed
  if (v == nullptr || !v->is_int64() || v->as_int64() < 0) {
    return absl::DataLossError("checkpoint items: \"" + std::string(key) + "\" is not a count");
  }
  return v->as_int64();
}

}  // namespace

namespace {

// 64-bit FNV-1a, continued from `h`.
uint64_t Fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

constexpr uint64_t kFnvOffset = 14695981039346656037ull;

}  // namespace

uint64_t ItemKeyHash(std::string_view key) { return Fnv1a(kFnvOffset, key); }

uint64_t ItemKeyHash(std::string_view gr, std::string_view ns, std::string_view name) {
  return Fnv1a(Fnv1a(Fnv1a(Fnv1a(Fnv1a(kFnvOffset, gr), "/"), ns), "/"), name);
}

boost::json::object ItemBackupper::SaveState() const {
  State state;
  state.counts = counts_;
  state.written.assign(written_.begin(), written_.end());
  state.namespaces_used = namespaces_used_;
  state.group_resources_used = group_resources_used_;
  for (const auto& [kind, names] : resource_list_) state.resource_list[kind] = names.joined;
  state.volume_snapshots = volume_snapshots_;
  state.volume_infos = volume_infos_;
  state.snapshot_blocked = snapshot_blocked_;
  return StateToJson(state);
}

boost::json::object ItemBackupper::StateToJson(const State& state) {
  // Sorted, so the same state always gives the same file.
  std::vector<uint64_t> hashes = state.written;
  std::sort(hashes.begin(), hashes.end());
  std::string raw;
  raw.reserve(hashes.size() * 8);
  for (uint64_t h : hashes) {
    for (int i = 0; i < 8; ++i) raw.push_back(static_cast<char>((h >> (8 * i)) & 0xff));
  }
  boost::json::object list;
  for (const auto& [kind, names] : state.resource_list) {
    boost::json::array a;
    for (size_t start = 0; start < names.size();) {
      size_t end = names.find('\n', start);
      if (end == std::string::npos) end = names.size();
      a.emplace_back(std::string_view(names.data() + start, end - start));
      start = end + 1;
    }
    list[kind] = std::move(a);
  }
  boost::json::array ns(state.namespaces_used.begin(), state.namespaces_used.end());
  boost::json::array gr(state.group_resources_used.begin(), state.group_resources_used.end());
  boost::json::object out{{"items", state.counts.items},
          {"snapshotsAttempted", state.counts.snapshots_attempted},
          {"snapshotsCompleted", state.counts.snapshots_completed},
          {"written", absl::Base64Escape(raw)},
          {"namespacesUsed", std::move(ns)},
          {"groupResourcesUsed", std::move(gr)},
          {"resourceList", std::move(list)},
          {"volumeSnapshots", state.volume_snapshots},
          {"volumeInfos", state.volume_infos}};
  // The CSI fields are written only when set, so a checkpoint without CSI work reads as before.
  if (state.counts.csi_snapshots_attempted > 0 || state.counts.csi_snapshots_completed > 0) {
    out["csiSnapshotsAttempted"] = state.counts.csi_snapshots_attempted;
    out["csiSnapshotsCompleted"] = state.counts.csi_snapshots_completed;
  }
  if (!state.snapshot_blocked.empty()) {
    boost::json::object blocked;
    for (const auto& [claim, why] : state.snapshot_blocked) blocked[claim] = why;
    out["snapshotBlocked"] = std::move(blocked);
  }
  return out;
}

StatusOr<ItemBackupper::State> ItemBackupper::ParseState(const boost::json::value& value) {
  if (!value.is_object()) return absl::DataLossError("checkpoint items: not an object");
  const boost::json::object& state = value.as_object();
  State out;
  LIFEBOAT_ASSIGN_OR_RETURN(out.counts.items, Count(state, "items"));
  LIFEBOAT_ASSIGN_OR_RETURN(out.counts.snapshots_attempted, Count(state, "snapshotsAttempted"));
  LIFEBOAT_ASSIGN_OR_RETURN(out.counts.snapshots_completed, Count(state, "snapshotsCompleted"));
  LIFEBOAT_ASSIGN_OR_RETURN(out.counts.csi_snapshots_attempted,
                            Count(state, "csiSnapshotsAttempted", /*optional=*/true));
  LIFEBOAT_ASSIGN_OR_RETURN(out.counts.csi_snapshots_completed,
                            Count(state, "csiSnapshotsCompleted", /*optional=*/true));
  if (const boost::json::value* blocked = state.if_contains("snapshotBlocked")) {
    if (!blocked->is_object()) {
      return absl::DataLossError("checkpoint items: \"snapshotBlocked\" is not an object");
    }
    for (const auto& [claim, why] : blocked->as_object()) {
      if (!why.is_string()) {
        return absl::DataLossError("checkpoint items: \"snapshotBlocked\" holds a non-string");
      }
      out.snapshot_blocked[std::string(claim)] = std::string(why.as_string());
    }
  }
  const boost::json::value* written = state.if_contains("written");
  std::string raw;
  if (written == nullptr || !written->is_string() ||
      !absl::Base64Unescape(std::string(written->as_string()), &raw) || raw.size() % 8 != 0) {
    return absl::DataLossError("checkpoint items: \"written\" is not base64 of 8-byte hashes");
  }
  out.written.reserve(raw.size() / 8);
  for (size_t i = 0; i < raw.size(); i += 8) {
    uint64_t h = 0;
    for (int k = 0; k < 8; ++k) h |= uint64_t{static_cast<unsigned char>(raw[i + k])} << (8 * k);
    out.written.push_back(h);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> ns, Strings(state, "namespacesUsed"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> gr, Strings(state, "groupResourcesUsed"));
  out.namespaces_used = std::set<std::string>(ns.begin(), ns.end());
  out.group_resources_used = std::set<std::string>(gr.begin(), gr.end());
  const boost::json::value* list = state.if_contains("resourceList");
  const boost::json::value* snapshots = state.if_contains("volumeSnapshots");
  const boost::json::value* infos = state.if_contains("volumeInfos");
  if (list == nullptr || !list->is_object() || snapshots == nullptr || !snapshots->is_array() ||
      infos == nullptr || !infos->is_array()) {
    return absl::DataLossError(
        "checkpoint items: resourceList, volumeSnapshots or volumeInfos missing");
  }
  for (const auto& [kind, names] : list->as_object()) {
    if (!names.is_array()) {
      return absl::DataLossError("checkpoint items: a resourceList entry is not an array");
    }
    std::string& joined = out.resource_list[std::string(kind)];
    for (const auto& n : names.as_array()) {
      if (!n.is_string() || n.as_string().empty() ||
          n.as_string().find('\n') != boost::json::string::npos) {
        return absl::DataLossError("checkpoint items: resourceList holds a bad name");
      }
      joined.append(n.as_string().data(), n.as_string().size()).append("\n");
    }
  }
  out.volume_snapshots = snapshots->as_array();
  out.volume_infos = infos->as_array();
  return out;
}

void ItemBackupper::RestoreState(State state) {
  written_.clear();
  written_.insert(state.written.begin(), state.written.end());
  namespaces_used_ = std::move(state.namespaces_used);
  group_resources_used_ = std::move(state.group_resources_used);
  resource_list_.clear();
  for (auto& [kind, joined] : state.resource_list) {
    ListedNames& names = resource_list_[kind];
    for (size_t start = 0; start < joined.size();) {
      const size_t end = joined.find('\n', start);
      const std::string_view name(joined.data() + start, end - start);
      const size_t slash = name.find('/');
      if (slash == std::string_view::npos) {
        names.Add({}, name);
      } else {
        names.Add(name.substr(0, slash), name.substr(slash + 1));
      }
      start = end + 1;
    }
  }
  write_cache_ = {};
  volume_snapshots_ = std::move(state.volume_snapshots);
  volume_infos_ = std::move(state.volume_infos);
  snapshot_blocked_ = std::move(state.snapshot_blocked);
  counts_ = state.counts;
}

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

bool ItemBackupper::NeedsDom(const std::string& gr, std::string_view ns,
                             const kube::LazyItem& item) {
  if (gr == "pods" || gr == "persistentvolumes" || gr == kVolumeSnapshotsGR) return true;
  // An action that applies needs the DOM. Labels are read only for selectors that use them.
  // Only the actions whose resource filter admits `gr` are tried (worked out once per resource).
  ListedCache& c = listed_cache_;
  if (!c.actions_valid || c.actions_gr != gr) {
    c.actions.clear();
    static const std::map<std::string, std::string> kAny;
    for (size_t k = 0; k < actions_.size(); ++k) {
      plugin::ResourceSelector by_resource;
      by_resource.included_resources = actions_[k].second.included_resources;
      by_resource.excluded_resources = actions_[k].second.excluded_resources;
      if (plugin::SelectorApplies(by_resource, gr, {}, kAny)) c.actions.push_back(k);
    }
    c.actions_gr = gr;
    c.actions_valid = true;
  }
  std::optional<std::map<std::string, std::string>> labels;
  static const std::map<std::string, std::string> kNoLabels;
  for (size_t a : c.actions) {
    const plugin::ResourceSelector& selector = actions_[a].second;
    if (!selector.label_selector.empty() && !labels) {
      labels.emplace();
      item.Labels().ForEachMember([&](std::string_view k, JsonNode v) {
        if (auto s = v.String()) (*labels)[std::string(k)] = std::string(*s);
      });
    }
    if (plugin::SelectorApplies(selector, gr, ns, labels ? *labels : kNoLabels)) return true;
  }
  return false;
}

Status ItemBackupper::BackupListed(const kube::ApiResource& resource, const kube::LazyItem& item,
                                   std::string_view encoded) {
  if (cancel_.IsCancelled()) return cancel_.status();
  ListedCache& c = listed_cache_;
  if (!c.valid || c.resource != resource.name || c.group != resource.group) {
    c.resource = resource.name;
    c.group = resource.group;
    c.gr = GroupResource(resource);
    c.valid = true;
  }
  const std::string& gr = c.gr;
  const std::string_view ns = item.Namespace();
  if (NeedsDom(gr, ns, item)) {
    std::string bytes(encoded);
    if (bytes.empty() && !item.Raw().empty()) item.AppendAsServed(bytes);
    return Backup(resource, item.Json(), /*listed=*/true, /*must_include=*/false, std::move(bytes));
  }
  // What Backup does for an item no action, hook or snapshot applies to, read from the tape.
  const std::string_view name = item.Name();
  const uint64_t key = ItemKeyHash(gr, ns, name);
  if (!written_.insert(key).second) return absl::OkStatus();
  const bool excluded = item.Labels().Find(kExcludeLabel).String() == std::optional<std::string_view>("true");
  const JsonNode deletion = item.Metadata().Find("deletionTimestamp");
  const char* skip = nullptr;
  if (excluded) {
    skip = "Excluding item because it has label velero.io/exclude-from-backup=true";
  } else if (!ns.empty() && !filters_.NamespaceIncluded(ns)) {
    skip = "";
  } else if (deletion.valid() && deletion.type() != JsonType::kNull) {
    skip = "Skipping item because it's being deleted.";
  }
  if (skip != nullptr) {
    if (*skip != '\0') log_.Info(skip, gr, ns, name);
    written_.erase(key);
    return absl::OkStatus();
  }
  log_.Info("Backing up item", gr, ns, name);
  if (!encoded.empty()) return Write(resource, ns, name, encoded);
  if (!item.Raw().empty()) {
    // As the API server sent it: written from the page's text, nothing copied before the tar.
    const kube::LazyItem::Pieces p = item.AsServed(scratch_);
    return Write(resource, ns, name, p.head, p.body);
  }
  return Write(resource, ns, name, item.Canonical());
}

bool ItemBackupper::Included(const kube::ApiResource& resource, const boost::json::value& item,
                             bool listed, bool must_include) {
  if (must_include) return true;
  const LogFields f{GroupResource(resource), std::string(kube::ObjectNamespace(item)),
                    std::string(kube::ObjectName(item))};
  if (JsonString(item, {"metadata", "labels", kExcludeLabel}) == "true") {
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
  if (!written_.insert(ItemKeyHash(key)).second) return absl::OkStatus();
  if (!Included(resource, item, listed, must_include)) {
    written_.erase(ItemKeyHash(key));
    return absl::OkStatus();
  }
  const LogFields f{gr, ns, name};
  log_.Info("Backing up item", f);
  const bool is_pod = gr == "pods";
  if (is_pod) {
    std::string why;
    if (!hooks_.Run(HookPhase::kPre, item, &why)) {
      log_.Info("Pod is left out of the backup because a pre hook failed with onError Fail", f);
      BlockClaims(item, why);
      return absl::OkStatus();
    }
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
  if (gr == kVolumeSnapshotsGR) FinalizeSnapshot(item, f);
  if (is_pod) hooks_.Run(HookPhase::kPost, item);
  return absl::OkStatus();
}

bool ItemBackupper::RunActions(const kube::ApiResource& resource, boost::json::value& item,
                               std::vector<plugin::ResourceIdentifier>& additional,
                               bool& must_include_more, bool& changed) {
  const std::string gr = GroupResource(resource);
  const LogFields f{gr, std::string(kube::ObjectNamespace(item)), std::string(kube::ObjectName(item))};
  // The item's labels, read once and again only after an action has run (it may change them).
  std::optional<std::map<std::string, std::string>> labels;
  for (const auto& [action, selector] : actions_) {
    if (!labels) labels = kube::ObjectLabels(item);
    if (!plugin::SelectorApplies(selector, gr, f.ns, *labels)) continue;
    labels.reset();
    log_.Info("Executing custom action " + action->Name(), f);
    changed = true;
    auto* csi = dynamic_cast<CsiPvcAction*>(action.get());
    auto out = csi != nullptr ? RunCsiAction(*csi, item, f) : action->Execute(item, context_);
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

StatusOr<plugin::ExecuteOutput> ItemBackupper::RunCsiAction(CsiPvcAction& action,
                                                            boost::json::value item,
                                                            const LogFields& f) {
  const std::string claim = f.ns + "/" + f.name;
  if (auto it = snapshot_blocked_.find(claim); it != snapshot_blocked_.end()) {
    // The pod using this claim was left out because its pre hook failed: a snapshot now would
    // not be the consistent one the hook was there to make.
    log_.Error("Volume of the claim is not snapshotted: " + it->second, f);
    blocked_reported_.insert(claim);
    plugin::ExecuteOutput out;
    out.item = std::move(item);
    return out;
  }
  CsiSnapshotOutcome outcome;
  auto out = action.Snapshot(std::move(item), context_, cancel_, &outcome);
  if (outcome.attempted) ++counts_.csi_snapshots_attempted;
  if (outcome.completed) {
    ++counts_.csi_snapshots_completed;
    log_.Info("VolumeSnapshot " + outcome.vs_namespace + "/" + outcome.vs_name +
                  " is ready (handle " + outcome.snapshot_handle + ")",
              f);
  }
  if (!outcome.pv_name.empty()) csi_outcomes_[outcome.pv_name] = std::move(outcome);
  return out;
}

void ItemBackupper::BlockClaims(const boost::json::value& pod, const std::string& why) {
  const std::string ns(kube::ObjectNamespace(pod));
  const std::string reason = "the pre hook of pod " + ns + "/" + std::string(kube::ObjectName(pod)) +
                             " failed with onError Fail (" + why + ")";
  const boost::json::value* volumes = JsonFind(pod, {"spec", "volumes"});
  if (volumes == nullptr || !volumes->is_array()) return;
  for (const auto& v : volumes->as_array()) {
    if (auto claim = JsonString(v, {"persistentVolumeClaim", "claimName"}); claim && !claim->empty()) {
      snapshot_blocked_.emplace(ns + "/" + *claim, reason);
    }
  }
}

void ItemBackupper::FinalizeSnapshot(const boost::json::value& vs, const LogFields& f) {
  auto labels = kube::ObjectLabels(vs);
  auto it = labels.find("velero.io/backup-name");
  if (it == labels.end() || it->second != backup_.metadata.name || deps_.client == nullptr) return;
  Status s = ReleaseSnapshot(*deps_.client, vs);
  if (!s.ok()) {
    log_.Error("error finalizing the VolumeSnapshot (deletionPolicy Retain, then delete)", f, s);
    return;
  }
  log_.Info("VolumeSnapshot deleted; its VolumeSnapshotContent is retained for the backup", f);
}

// Velero's BackupVolumeInfo for a PV (field order as Velero's struct): its claim, how its data
// was kept (a CSI snapshot taken by the claim's action, else a native snapshot), and the PV's
// reclaim policy and labels, which a restore uses to decide what to do with the volume.
void ItemBackupper::SnapshotVolume(const boost::json::value& pv) {
  const LogFields f{"persistentvolumes", "", std::string(kube::ObjectName(pv))};
  boost::json::object info;
  const auto claim = JsonString(pv, {"spec", "claimRef", "name"});
  const auto claim_ns = JsonString(pv, {"spec", "claimRef", "namespace"});
  if (claim) info["pvcName"] = *claim;
  if (claim_ns) info["pvcNamespace"] = *claim_ns;
  info["pvName"] = f.name;
  std::optional<CsiSnapshotOutcome> csi;
  if (auto it = csi_outcomes_.find(f.name); it != csi_outcomes_.end()) {
    csi = std::move(it->second);
    csi_outcomes_.erase(it);
  }
  const std::string claim_key = claim_ns.value_or("") + "/" + claim.value_or("");
  auto blocked = claim ? snapshot_blocked_.find(claim_key) : snapshot_blocked_.end();
  if (blocked != snapshot_blocked_.end()) {
    if (blocked_reported_.insert(claim_key).second) {
      log_.Error("Volume is not snapshotted: " + blocked->second, f);
    }
    info["snapshotDataMoved"] = false;
    info["preserveLocalSnapshot"] = false;
    info["skipped"] = true;
    info["skippedReason"] = "any: " + blocked->second + ";";
  } else if (csi && csi->attempted) {
    info["backupMethod"] = "CSISnapshot";
    info["snapshotDataMoved"] = false;
    info["preserveLocalSnapshot"] = true;
    info["skipped"] = false;
    if (!csi->start_timestamp.empty()) info["startTimestamp"] = csi->start_timestamp;
    if (csi->completed && !csi->completion_timestamp.empty()) {
      info["completionTimestamp"] = csi->completion_timestamp;
    }
    info["result"] = csi->completed ? "succeeded" : "failed";
    info["csiSnapshotInfo"] = boost::json::object{{"snapshotHandle", csi->snapshot_handle},
                                                  {"size", csi->size},
                                                  {"driver", csi->driver},
                                                  {"vscName", csi->vsc_name},
                                                  {"ReadyToUse", csi->completed}};
  } else {
    SnapshotOutcome outcome = TakeSnapshot(pv, f);
    if (outcome.attempted) info["backupMethod"] = "NativeSnapshot";
    info["snapshotDataMoved"] = false;
    info["preserveLocalSnapshot"] = false;
    info["skipped"] = !outcome.attempted;
    if (!outcome.attempted) {
      info["skippedReason"] = (csi ? csi->skipped_reason : std::string()) + outcome.skipped_reason;
    }
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
                            std::string_view bytes) {
  return Write(resource, kube::ObjectNamespace(item), kube::ObjectName(item), bytes);
}

Status ItemBackupper::Write(const kube::ApiResource& resource, std::string_view item_ns,
                            std::string_view name, std::string_view head, std::string_view body) {
  // Items come a list page at a time: what depends only on the resource is worked out once per
  // run of items of one resource.
  WriteCache& c = write_cache_;
  if (c.names == nullptr || resource.group != c.group || resource.version != c.version ||
      resource.name != c.resource || resource.kind != c.kind) {
    c.group = resource.group;
    c.version = resource.version;
    c.resource = resource.name;
    c.kind = resource.kind;
    c.gr = GroupResource(resource);
    group_resources_used_.insert(c.gr);
    const std::string gv = resource.group.empty() ? resource.version : resource.group + "/" + resource.version;
    c.names = &resource_list_[gv + "/" + resource.kind];
    c.preferred_dir = resource.version + std::string(archive::kPreferredVersionSuffix);
  }
  const std::string_view ns = resource.namespaced ? item_ns : std::string_view();
  // archive::ItemPath and archive::PreferredVersionItemPath, in reused buffers.
  c.path.clear();
  archive::AppendVersionedItemPath(c.path, c.gr, "", ns, name);
  LIFEBOAT_RETURN_IF_ERROR(writer_.Add(c.path, head, body));
  c.path.clear();
  archive::AppendVersionedItemPath(c.path, c.gr, c.preferred_dir, ns, name);
  LIFEBOAT_RETURN_IF_ERROR(writer_.Add(c.path, head, body));
  ++counts_.items;
  if (!ns.empty() && ns != c.last_ns) {
    namespaces_used_.emplace(ns);
    c.last_ns = ns;
  }
  c.names->Add(ns, name);
  return absl::OkStatus();
}

void ItemBackupper::ListedNames::Add(std::string_view ns, std::string_view name) {
  auto is_plain = [](std::string_view s) {
    for (char ch : s) {
      const auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u >= 0x7f || ch == '"' || ch == '\\') return false;
    }
    return true;
  };
  plain = plain && is_plain(ns) && is_plain(name);
  const size_t start = joined.size();
  if (!ns.empty()) joined.append(ns).append("/");
  joined.append(name);
  if (sorted && start > 0) {
    const std::string_view previous(joined.data() + last, start - 1 - last);
    sorted = previous <= std::string_view(joined.data() + start, joined.size() - start);
  }
  joined += '\n';
  last = start;
}

namespace {

// The names of one resource_list_ entry, sorted.
std::vector<std::string_view> SortedNames(const std::string& names) {
  std::vector<std::string_view> sorted;
  for (size_t start = 0; start < names.size();) {
    size_t end = names.find('\n', start);
    sorted.emplace_back(names.data() + start, end - start);
    start = end + 1;
  }
  if (!std::is_sorted(sorted.begin(), sorted.end())) std::sort(sorted.begin(), sorted.end());
  return sorted;
}

// A JSON string as boost::json::serialize writes it; names and kinds need no escaping, so they
// are copied.
void AppendJsonString(std::string& out, std::string_view s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f && c != '"' && c != '\\';
  });
  if (plain) {
    out.append("\"").append(s).append("\"");
  } else {
    out.append(boost::json::serialize(boost::json::string_view(s.data(), s.size())));
  }
}

}  // namespace

boost::json::object ItemBackupper::ResourceList() const {
  boost::json::object out;
  for (const auto& [key, names] : resource_list_) {
    const std::vector<std::string_view> sorted = SortedNames(names.joined);
    boost::json::array a;
    a.reserve(sorted.size());
    for (auto n : sorted) a.emplace_back(n);
    out[key] = std::move(a);
  }
  return out;
}

Status ItemBackupper::WriteResourceListJson(
    const std::function<Status(std::string_view piece)>& out) const {
  std::string piece;
  bool first_kind = true;
  for (const auto& [key, names] : resource_list_) {
    piece.clear();
    piece.reserve(key.size() + names.joined.size() + 2 * (names.joined.size() / 8) + 8);
    piece += first_kind ? '{' : ',';
    first_kind = false;
    AppendJsonString(piece, key);
    piece.append(":[");
    if (names.sorted && names.plain) {
      // A list arrives in namespace/name order: each '\n' becomes "," in one pass.
      const std::string& j = names.joined;
      for (size_t start = 0; start < j.size();) {
        const size_t end = j.find('\n', start);
        if (start > 0) piece += ',';
        piece += '"';
        piece.append(j, start, end - start);
        piece += '"';
        start = end + 1;
      }
    } else {
      bool first = true;
      for (std::string_view n : SortedNames(names.joined)) {
        if (!first) piece += ',';
        first = false;
        AppendJsonString(piece, n);
      }
    }
    piece += ']';
    LIFEBOAT_RETURN_IF_ERROR(out(piece));
  }
  return out(first_kind ? "{}" : "}");
}

boost::json::value ItemBackupper::VolumeSnapshots() const {
  if (volume_snapshots_.empty()) return nullptr;
  return volume_snapshots_;
}

}  // namespace lifeboat::backup
