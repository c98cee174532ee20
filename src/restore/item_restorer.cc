// The per-item restore pipeline (Velero §6.5): read, skip rules, PV/PVC handling, metadata
// reset, item actions (and their additional items), resource modifiers, namespace mapping and
// restore labels, create, the existing-resource policy, status and managedFields.

#include <algorithm>


#include "lifeboat/common/json.h"
#include "lifeboat/kube/object.h"
#include "src/restore/object_util.h"
#include "src/restore/priorities.h"
#include "src/restore/restore_run.h"

namespace lifeboat::restore {
namespace json = boost::json;
namespace {

// Attempts of one create that fails with a server error (5xx, a dropped connection).
constexpr int kCreateAttempts = 5;

bool IsCompletedWorkload(const std::string& gr, const json::value& item) {
  if (gr == "pods") {
    std::string phase = JsonString(item, {"status", "phase"}).value_or("");
    return phase == "Succeeded" || phase == "Failed";
  }
  if (gr == "jobs.batch") return JsonFind(item, {"status", "completionTime"}) != nullptr;
  return false;
}

std::string Gvk(const json::value& obj) {
  return std::string(kube::ObjectApiVersion(obj)) + "/" + std::string(kube::ObjectKind(obj));
}

std::string ResourceId(const std::string& gr, const std::string& ns, const std::string& name) {
  return ns.empty() ? gr + "/" + name : gr + "/" + ns + "/" + name;
}

std::string Message(const Status& s) { return std::string(s.message()); }

// Resuming: `live` carries the velero.io/restore-name label of `restore` (AddRestoreLabels).
bool RestoredBy(const json::value& live, const std::string& restore) {
  const auto labels = kube::ObjectLabels(live);
  auto it = labels.find("velero.io/restore-name");
  return it != labels.end() && it->second == LabelSafe(restore);
}

}  // namespace

void ResourceList::Add(std::string gvk, std::string entry) {
  std::lock_guard lock(mu_);
  items_[std::move(gvk)].push_back(std::move(entry));
}

json::object ResourceList::ToJson() const {
  std::lock_guard lock(mu_);
  json::object out;
  for (auto [gvk, entries] : items_) {
    std::sort(entries.begin(), entries.end());
    json::array a;
    for (auto& e : entries) a.emplace_back(json::string(e));
    out[gvk] = std::move(a);
  }
  return out;
}

void RestoreRun::Record(const json::value& obj, const std::string& ns, const std::string& action) {
  std::string name(kube::ObjectName(obj));
  list_.Add(Gvk(obj), (ns.empty() ? name : ns + "/" + name) + "(" + action + ")");
}

bool RestoreRun::Claim(const std::string& gr, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  return claimed_.insert(gr + "/" + ns + "/" + name).second;
}

void RestoreRun::RestoreItem(const ItemRef& ref, bool additional) {
  if (cancel_.IsCancelled()) return;
  const std::string target_ns = ref.ns.empty() ? "" : TargetNamespace(ref.ns);
  engine::LogFields f{ref.gr, target_ns, ref.name};
  const bool namespaced = !ref.ns.empty();
  if (!ResourceIncluded(ref.gr, namespaced)) {
    if (additional) log_.Info("Skipping additional item: its resource is excluded", f);
    return;
  }
  if (namespaced && !namespaces_.ShouldInclude(ref.ns)) {
    log_.Info("Skipping item: its namespace is excluded", f);
    return;
  }
  auto text = contents_.ReadItem(ref.gr, ref.version_dir, ref.ns, ref.name);
  auto read = text.ok() ? ParseJson(*text) : StatusOr<json::value>(text.status());
  if (!read.ok()) {
    if (additional) {
      log_.Warn("Additional item was not found in the backup", f);
    } else {
      log_.Error("error reading item from the backup", f, read.status());
    }
    return;
  }
  const json::value original = std::move(*read);
  if (!original.is_object()) {
    log_.Error("error reading item from the backup: not a JSON object", f);
    return;
  }
  if (!additional && !IsMustHave(ref.gr) && !ItemSelected(original)) return;
  if (!Claim(ref.gr, target_ns, ref.name)) return;
  if (IsCompletedWorkload(ref.gr, original)) {
    log_.Info("is a completed workload; skipping restore", f);
    return;
  }
  if (ref.gr == "pods" && kube::ObjectAnnotations(original).count("kubernetes.io/config.mirror")) {
    log_.Info("is a mirror pod; skipping restore", f);
    return;
  }
  json::value obj = original;
  if (ref.gr == "persistentvolumes" && !PreparePersistentVolume(ref, obj)) return;
  const json::value status = ResetMetadataAndStatus(obj);

  bool skip = false;
  Status action_error;
  RunActions(ref, obj, original, &skip, &action_error);
  if (!action_error.ok()) {
    log_.Error("error preparing " + ResourceId(ref.gr, target_ns, ref.name), f, action_error);
    Record(original, target_ns, "failed");
    return;
  }
  if (skip) {
    log_.Info("Skipping restore because a registered plugin discarded it", f);
    Record(original, target_ns, "skipped");
    return;
  }
  if (ref.gr == "persistentvolumeclaims") PreparePersistentVolumeClaim(obj);
  if (Status s = ApplyModifiers(obj, ref.gr); !s.ok()) {
    log_.Error("error applying resource modifiers to " + ResourceId(ref.gr, target_ns, ref.name), f,
               s);
    Record(original, target_ns, "failed");
    return;
  }
  SetNamespace(obj, target_ns);
  AddRestoreLabels(obj, backup_.metadata.name, restore_.metadata.name);

  const std::string api_version(kube::ObjectApiVersion(obj));
  const size_t slash = api_version.find('/');
  const std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  const std::string version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  const size_t dot = ref.gr.find('.');
  std::optional<kube::ApiResource> res = ResolveResource(
      group, version, dot == std::string::npos ? ref.gr : ref.gr.substr(0, dot),
      std::string(kube::ObjectKind(obj)));
  if (!res) {
    log_.Error("error restoring " + ResourceId(ref.gr, target_ns, ref.name) +
                   ": the target cluster does not serve " + api_version + " " +
                   std::string(kube::ObjectKind(obj)),
               f);
    Record(original, target_ns, "failed");
    return;
  }
  if (!target_ns.empty()) {
    if (Status s = EnsureNamespace(ref.ns, target_ns); !s.ok()) {
      log_.Error("error restoring " + ResourceId(ref.gr, target_ns, ref.name), f, s);
      Record(original, target_ns, "failed");
      return;
    }
  }
  log_.Info("Attempting to restore " + std::string(kube::ObjectKind(obj)) + ": " + ref.name, f);
  kube::WriteOptions write;
  write.cancel = cancel_;
  // A create that failed with a server error (5xx, a dropped connection) may or may not have
  // happened: it is sent again a few times, and an "already exists" answer after that is
  // checked for this restore's label below, like a resumed restore's.
  auto created = deps_.client->Create(res->gvr(), target_ns, obj, write);
  bool retried = false;
  for (int attempt = 1; attempt < kCreateAttempts && !created.ok() &&
                        absl::IsUnavailable(created.status()) && !cancel_.IsCancelled();
       ++attempt) {
    if (cancel_.WaitFor(std::chrono::milliseconds(100 << attempt))) break;
    retried = true;
    created = deps_.client->Create(res->gvr(), target_ns, obj, write);
  }
  if (!created.ok() && ref.gr == "services" &&
      Message(created.status()).find("provided port is already allocated") != std::string::npos &&
      deps_.client->Get(res->gvr(), target_ns, ref.name).ok()) {
    created = absl::AlreadyExistsError("the service exists");
  }
  if (!created.ok() && (options_.resume || retried) && absl::IsAlreadyExists(created.status())) {
    // Resuming (or after a retried create): what this restore created before is its own, not
    // a conflict.
    auto live = deps_.client->Get(res->gvr(), target_ns, std::string(kube::ObjectName(obj)));
    if (live.ok() && RestoredBy(*live, restore_.metadata.name)) {
      log_.Info(std::string(kube::ObjectKind(obj)) + " " + std::string(kube::ObjectName(obj)) +
                    " was restored by this restore before it was interrupted",
                f);
      Record(*live, target_ns, "created");
      items_restored_.fetch_add(1);
      RestoreStatusAndManagedFields(*res, target_ns, std::move(*live), status, original, f);
      if (ref.gr == kCrdResource) {
        if (Status s = WaitForCrdEstablished(ref.name); !s.ok()) {
          log_.Error("error restoring " + ResourceId(ref.gr, "", ref.name), f, s);
        }
      }
      return;
    }
  }
  if (!created.ok()) {
    if (absl::IsAlreadyExists(created.status())) {
      Record(obj, target_ns, HandleExisting(*res, target_ns, obj, f));
    } else {
      log_.Error("error restoring " + ResourceId(ref.gr, target_ns, ref.name), f, created.status());
      Record(obj, target_ns, "failed");
    }
    items_restored_.fetch_add(1);
    return;
  }
  Record(*created, target_ns, "created");
  items_restored_.fetch_add(1);
  if (ref.gr == "pods") PodRestored(*created);
  RestoreStatusAndManagedFields(*res, target_ns, std::move(*created), status, original, f);
  if (ref.gr == kCrdResource) {
    if (Status s = WaitForCrdEstablished(ref.name); !s.ok()) {
      log_.Error("error restoring " + ResourceId(ref.gr, "", ref.name), f, s);
    }
  }
}

void RestoreRun::RunActions(const ItemRef& ref, json::value& obj, const json::value& original,
                            bool* skip, Status* error) {
  const auto labels = kube::ObjectLabels(obj);
  for (const auto& [action, selector] : actions_) {
    if (!plugin::SelectorApplies(selector, ref.gr, ref.ns, labels)) continue;
    plugin::RestoreItemActionInput input{std::move(obj), &original, &context_};
    auto out = action->Execute(std::move(input));
    if (!out.ok()) {
      *error = Annotate(out.status(), "restore item action " + action->Name());
      return;
    }
    obj = std::move(out->item);
    if (out->skip_restore) {
      *skip = true;
      return;
    }
    for (const plugin::ResourceIdentifier& id : out->additional_items) {
      const std::string gr = id.GroupResource();
      // Cluster-scoped additional items come back unless includeClusterResources is false.
      if (id.ns.empty() && restore_.spec.include_cluster_resources == false) continue;
      if (contents_.resources().count(gr) == 0) {
        log_.Warn("Additional item " + ResourceId(gr, id.ns, id.name) +
                      " named by " + action->Name() + " is not in the backup",
                  {gr, id.ns, id.name});
        continue;
      }
      RestoreItem(ItemRef{gr, "", id.ns, id.name}, /*additional=*/true);
    }
  }
}

std::string RestoreRun::HandleExisting(const kube::ApiResource& res, const std::string& ns,
                                       const json::value& desired, const engine::LogFields& f) {
  const std::string kind(kube::ObjectKind(desired));
  const std::string name(kube::ObjectName(desired));
  auto live = deps_.client->Get(res.gvr(), ns, name);
  if (!live.ok()) {
    log_.Error("error getting the existing " + kind + " " + name, f, live.status());
    return "failed";
  }
  json::value stripped = *live;  // the base of patches: what the cluster has
  ResetMetadataAndStatus(stripped);
  json::value in_cluster = stripped;  // compared with the backed-up item, labels and all
  AddRestoreLabels(in_cluster, backup_.metadata.name, restore_.metadata.name);
  const bool update = restore_.spec.existing_resource_policy == "update";
  kube::PatchOptions patch_options;
  patch_options.cancel = cancel_;
  auto patch = [&](const json::object& p) {
    return deps_.client->Patch(res.gvr(), ns, name, kube::PatchType::kMerge, json::serialize(p),
                               patch_options);
  };
  json::object labels_only{
      {"metadata", {{"labels", *JsonFind(in_cluster, {"metadata", "labels"})}}}};
  if (in_cluster == desired) {
    if (update) (void)patch(labels_only);
    log_.Info(kind + " " + name + " already exists in the cluster and is the same as the backed-up version", f);
    return "skipped";
  }
  if (res.group.empty() && res.name == "serviceaccounts") {
    json::value merged = MergeServiceAccounts(in_cluster, desired);
    json::object p = CreateMergePatch(stripped, merged);
    if (p.empty()) return "skipped";
    if (auto r = patch(p); !r.ok()) {
      log_.Warn("could not merge the backed-up ServiceAccount " + name + " into the existing one: " +
                    Message(r.status()), f);
      return "skipped";
    }
    return "updated";
  }
  if (!update) {
    log_.Warn("could not restore, " + kind + ":" + name +
                  " already exists. Warning: the in-cluster version is different than the "
                  "backed-up version",
              f);
    return "skipped";
  }
  if (auto r = patch(CreateMergePatch(stripped, desired)); !r.ok()) {
    log_.Warn("could not update existing " + kind + " " + name + ": " + Message(r.status()), f);
    (void)patch(labels_only);
    return "failed";
  }
  return "updated";
}

bool RestoreRun::ShouldRestoreStatus(const std::string& gr, const json::value& item) const {
  std::string annotation =
      JsonString(item, {"metadata", "annotations", "velero.io/restore-status"}).value_or("");
  if (annotation == "false") return false;
  if (annotation == "true") return true;
  return restore_status_.has_value() && restore_status_->ShouldInclude(gr);
}

void RestoreRun::RestoreStatusAndManagedFields(const kube::ApiResource& res, const std::string& ns,
                                               json::value created, const json::value& status,
                                               const json::value& original,
                                               const engine::LogFields& f) {
  const std::string name(kube::ObjectName(created));
  if (!status.is_null() && ShouldRestoreStatus(f.resource, original)) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      created.as_object()["status"] = status;
      kube::WriteOptions write;
      write.cancel = cancel_;
      auto updated = deps_.client->UpdateStatus(res.gvr(), ns, created, write);
      if (updated.ok()) {
        created = std::move(*updated);
        break;
      }
      if (!absl::IsAborted(updated.status()) || attempt == 2) {
        log_.Warn("could not restore the status of " + name + ": " + Message(updated.status()), f);
        break;
      }
      auto fresh = deps_.client->Get(res.gvr(), ns, name);
      if (!fresh.ok()) break;
      created = std::move(*fresh);
    }
  }
  const json::value* want = JsonFind(original, {"metadata", "managedFields"});
  if (want == nullptr || !want->is_array() || want->as_array().empty()) return;
  const json::value* have = JsonFind(created, {"metadata", "managedFields"});
  if (have != nullptr && *have == *want) return;
  json::object p{{"metadata", {{"managedFields", *want}}}};
  kube::PatchOptions options;
  options.cancel = cancel_;
  if (auto r = deps_.client->Patch(res.gvr(), ns, name, kube::PatchType::kMerge,
                                   json::serialize(p), options);
      !r.ok()) {
    log_.Warn("could not restore the managedFields of " + name + ": " + Message(r.status()), f);
  }
}

}  // namespace lifeboat::restore
