// The StatefulSet controller (apps/v1, k8s pkg/controller/statefulset): pods <set>-<ordinal>
// with stable names, hostnames and claims (one PersistentVolumeClaim per volumeClaimTemplate
// and ordinal, kept unless persistentVolumeClaimRetentionPolicy says Delete), created in order
// and each only when its predecessors are Running and Ready (OrderedReady) or all at once
// (Parallel), removed from the highest ordinal down, rolled one pod at a time from the highest
// ordinal down to spec.updateStrategy.rollingUpdate.partition, with ControllerRevisions for the
// template history and the status `kubectl rollout status` reads.

#include <algorithm>

#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/workloads/base.h"
#include "kubesim/src/controllers/workloads/revision.h"
#include "kubesim/src/controllers/workloads/workloads_internal.h"
#include "lifeboat/common/log.h"

namespace kubesim::workloads {
namespace {

constexpr char kPodNameLabel[] = "statefulset.kubernetes.io/pod-name";
constexpr char kPodIndexLabel[] = "apps.kubernetes.io/pod-index";

std::optional<Selector> SetSelector(const json::value& set) {
  return Selector::FromLabelSelector(Find(set, {"spec", "selector"}));
}

// The ordinal of `pod_name` in set `set_name`, or -1.
int64_t OrdinalOf(const std::string& set_name, const std::string& pod_name) {
  if (pod_name.size() <= set_name.size() + 1 || pod_name.compare(0, set_name.size(), set_name) != 0 ||
      pod_name[set_name.size()] != '-') {
    return -1;
  }
  std::string digits = pod_name.substr(set_name.size() + 1);
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      (digits.size() > 1 && digits[0] == '0')) {
    return -1;
  }
  return std::stoll(digits);
}

bool IsRunningAndReady(const json::value& pod) {
  return PodPhase(pod) == "Running" && IsPodReady(pod) && !IsDeleting(pod);
}

std::string ClaimName(const json::value& claim_template, const std::string& set, int64_t ordinal) {
  return GetString(claim_template, {"metadata", "name"}) + "-" + set + "-" + std::to_string(ordinal);
}

class StatefulSetController : public KeyedController {
 public:
  explicit StatefulSetController(const ControllerContext& ctx) : w_(ctx.cluster, "kube-controller-manager") {}

  std::string name() const override { return "statefulset"; }
  std::vector<std::string> Watches() const override { return {"statefulsets.apps", "pods"}; }

 protected:
  void KeysFor(const StoreEvent& e, std::set<Key>& keys) override {
    if (e.object->gr == "statefulsets.apps") {
      keys.insert({e.object->ns, e.object->name});
      return;
    }
    OwnerKeys(w_.store(), e, "StatefulSet", "statefulsets.apps", SetSelector, keys);
  }

  std::vector<Key> AllKeys() override { return AllKeysOf(w_.store(), "statefulsets.apps"); }

  void Reconcile(const Key& key) override;

 private:
  std::string EnsureClaims(const json::value& set, int64_t ordinal);
  void DeleteClaims(const json::value& set, int64_t ordinal);
  std::string CreatePod(const ResourceType& pods, const json::value& set, int64_t ordinal,
                        const std::string& revision);
  void UpdateStatus(const ResourceType& self, const Key& key, const std::string& current_rev,
                    const std::string& update_rev);

  Writer w_;
};

std::string StatefulSetController::EnsureClaims(const json::value& set, int64_t ordinal) {
  const ResourceType* pvcs = w_.Type("", "persistentvolumeclaims");
  if (pvcs == nullptr) return "";
  const std::string ns = MetaString(set, "namespace");
  const std::string set_name = MetaString(set, "name");
  const bool owned = GetString(set, {"spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"}) == "Delete";
  const StringMap match = ToStringMap(Find(set, {"spec", "selector", "matchLabels"}));
  for (const json::value& t : GetArray(set, {"spec", "volumeClaimTemplates"})) {
    if (GetString(t, {"metadata", "name"}).empty()) continue;
    const std::string name = ClaimName(t, set_name, ordinal);
    if (w_.store().Get("persistentvolumeclaims", ns, name) != nullptr) continue;
    StringMap labels = ToStringMap(Find(t, {"metadata", "labels"}));
    for (const auto& [k, v] : match) labels[k] = v;
    json::object meta{{"name", name}, {"namespace", ns}};
    if (!labels.empty()) meta["labels"] = FromStringMap(labels);
    if (const json::value* a = Find(t, {"metadata", "annotations"}); a && a->is_object()) meta["annotations"] = *a;
    if (owned) meta["ownerReferences"] = json::array{NewControllerRef(set, "apps/v1", "StatefulSet")};
    json::value spec = json::object();
    if (const json::value* s = Find(t, {"spec"}); s && s->is_object()) spec = *s;
    json::value pvc = json::object{{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"},
                                   {"metadata", std::move(meta)}, {"spec", std::move(spec)}};
    auto r = w_.Create(*pvcs, ns, std::move(pvc));
    if (!r.ok() && r.status().code() != absl::StatusCode::kAlreadyExists) {
      LB_LOG_DEBUG("kubesim: statefulset {}/{}: creating claim {}: {}", ns, set_name, name, r.status().ToString());
      return std::string(r.status().message());
    }
  }
  return "";
}

void StatefulSetController::DeleteClaims(const json::value& set, int64_t ordinal) {
  const ResourceType* pvcs = w_.Type("", "persistentvolumeclaims");
  if (pvcs == nullptr) return;
  for (const json::value& t : GetArray(set, {"spec", "volumeClaimTemplates"})) {
    const std::string name = ClaimName(t, MetaString(set, "name"), ordinal);
    Status s = w_.Delete(*pvcs, MetaString(set, "namespace"), name, "");
    if (!s.ok()) LB_LOG_DEBUG("kubesim: statefulset: deleting claim {}: {}", name, s.ToString());
  }
}

std::string StatefulSetController::CreatePod(const ResourceType& pods, const json::value& set, int64_t ordinal,
                                             const std::string& revision) {
  const std::string ns = MetaString(set, "namespace");
  const std::string set_name = MetaString(set, "name");
  const json::value* tmpl = Find(set, {"spec", "template"});
  if (tmpl == nullptr || !tmpl->is_object()) return "spec.template is missing";
  if (std::string err = EnsureClaims(set, ordinal); !err.empty()) return err;
  const std::string name = set_name + "-" + std::to_string(ordinal);
  json::value pod = PodFromTemplate(*tmpl, ns, NewControllerRef(set, "apps/v1", "StatefulSet"));
  json::object& meta = Meta(pod);
  meta["name"] = name;
  json::object& labels = Child(meta, "labels");
  labels[kPodRevisionLabel] = revision;
  labels[kPodNameLabel] = name;
  labels[kPodIndexLabel] = std::to_string(ordinal);
  json::object& spec = Child(pod.as_object(), "spec");
  spec["hostname"] = name;
  if (std::string svc = GetString(set, {"spec", "serviceName"}); !svc.empty()) spec["subdomain"] = svc;
  const json::array& claims = GetArray(set, {"spec", "volumeClaimTemplates"});
  if (!claims.empty()) {
    json::array volumes;
    std::set<std::string> claimed;
    for (const json::value& t : claims) claimed.insert(GetString(t, {"metadata", "name"}));
    if (json::value* v = spec.if_contains("volumes"); v && v->is_array()) {
      for (const json::value& vol : v->as_array()) {
        if (!claimed.contains(GetString(vol, {"name"}))) volumes.push_back(vol);
      }
    }
    for (const json::value& t : claims) {
      const std::string vname = GetString(t, {"metadata", "name"});
      if (vname.empty()) continue;
      volumes.push_back(json::object{
          {"name", vname},
          {"persistentVolumeClaim", json::object{{"claimName", ClaimName(t, set_name, ordinal)}}}});
    }
    spec["volumes"] = std::move(volumes);
  }
  auto r = w_.Create(pods, ns, std::move(pod));
  if (!r.ok() && r.status().code() != absl::StatusCode::kAlreadyExists) {
    LB_LOG_DEBUG("kubesim: statefulset {}/{}: creating pod {}: {}", ns, set_name, name, r.status().ToString());
    return std::string(r.status().message());
  }
  return "";
}

void StatefulSetController::Reconcile(const Key& key) {
  ObjectPtr sp = w_.store().Get("statefulsets.apps", key.ns, key.name);
  const ResourceType* pods = w_.Type("", "pods");
  const ResourceType* self = w_.Type("apps", "statefulsets");
  if (sp == nullptr || pods == nullptr || self == nullptr) return;
  const json::value set = sp->object;
  std::optional<Selector> sel = SetSelector(set);
  if (!sel || sel->empty()) {
    LB_LOG_DEBUG("kubesim: statefulset {}/{} has no usable selector", key.ns, key.name);
    return;
  }
  std::vector<ObjectPtr> owned = ClaimObjects(w_, *pods, set, "apps/v1", "StatefulSet", *sel);
  if (IsDeleting(set)) return;
  auto rev = EnsureRevision(w_, set, "StatefulSet");
  if (!rev.ok()) {
    LB_LOG_DEBUG("kubesim: statefulset {}/{}: revision: {}", key.ns, key.name, rev.status().ToString());
    return;
  }
  const std::string update_rev = rev->name;
  std::string current_rev = GetString(set, {"status", "currentRevision"});
  if (current_rev.empty()) current_rev = update_rev;

  const int64_t replicas = std::max<int64_t>(0, GetInt(set, {"spec", "replicas"}, 1));
  const int64_t start = std::max<int64_t>(0, GetInt(set, {"spec", "ordinals", "start"}, 0));
  const bool parallel = GetString(set, {"spec", "podManagementPolicy"}) == "Parallel";
  const bool rolling = GetString(set, {"spec", "updateStrategy", "type"}, "RollingUpdate") == "RollingUpdate";
  const int64_t partition = GetInt(set, {"spec", "updateStrategy", "rollingUpdate", "partition"}, 0);
  const bool delete_scaled_claims =
      GetString(set, {"spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"}) == "Delete";

  std::map<int64_t, ObjectPtr> by_ordinal;
  std::vector<ObjectPtr> condemned;  // beyond the wanted range, highest ordinal first
  for (const ObjectPtr& p : owned) {
    int64_t ord = OrdinalOf(key.name, p->name);
    if (ord < 0) continue;
    if (ord >= start && ord < start + replicas) by_ordinal[ord] = p;
    else condemned.push_back(p);
  }
  std::sort(condemned.begin(), condemned.end(), [&](const ObjectPtr& a, const ObjectPtr& b) {
    return OrdinalOf(key.name, a->name) > OrdinalOf(key.name, b->name);
  });

  bool blocked = false;  // OrderedReady: a predecessor is not Running and Ready
  bool any_deleting = false;
  for (int64_t ord = start; ord < start + replicas; ++ord) {
    auto it = by_ordinal.find(ord);
    if (it == by_ordinal.end()) {
      if (blocked) break;
      CreatePod(*pods, set, ord, update_rev);
      if (!parallel) blocked = true;
      continue;
    }
    const json::value& pod = it->second->object;
    if (IsDeleting(pod)) {
      any_deleting = true;
      if (!parallel) blocked = true;
      continue;
    }
    const std::string phase = PodPhase(pod);
    if (phase == "Failed" || phase == "Succeeded") {
      // Recreated at the next reconcile (the delete event brings it).
      Status s = w_.Delete(*pods, key.ns, it->second->name, MetaString(pod, "uid"));
      if (!s.ok()) LB_LOG_DEBUG("kubesim: statefulset: deleting pod {}: {}", it->second->name, s.ToString());
      if (!parallel) blocked = true;
      continue;
    }
    if (!parallel && !IsRunningAndReady(pod)) blocked = true;
    if (!blocked) EnsureClaims(set, ord);
  }

  // Scale down: the highest ordinals go first; OrderedReady removes one at a time, and only
  // while the others are healthy.
  bool all_healthy = !blocked && !any_deleting;
  for (const ObjectPtr& p : condemned) {
    if (!parallel && (!all_healthy || IsDeleting(p->object))) break;
    if (IsDeleting(p->object)) continue;
    const int64_t ord = OrdinalOf(key.name, p->name);
    Status s = w_.Delete(*pods, key.ns, p->name, MetaString(p->object, "uid"));
    if (!s.ok()) {
      LB_LOG_DEBUG("kubesim: statefulset: deleting pod {}: {}", p->name, s.ToString());
      break;
    }
    if (delete_scaled_claims) DeleteClaims(set, ord);
    if (!parallel) {
      all_healthy = false;
      break;
    }
  }

  // Rolling update: when every pod is Running and Ready, the highest-ordinal pod at or above
  // the partition that runs an old revision is deleted (and recreated at the new one).
  if (rolling && all_healthy && condemned.empty() && static_cast<int64_t>(by_ordinal.size()) == replicas) {
    bool healthy = std::all_of(by_ordinal.begin(), by_ordinal.end(),
                               [](const auto& kv) { return IsRunningAndReady(kv.second->object); });
    if (healthy) {
      for (auto it = by_ordinal.rbegin(); it != by_ordinal.rend(); ++it) {
        if (it->first < partition) break;
        if (GetString(it->second->object, {"metadata", "labels", kPodRevisionLabel}) == update_rev) continue;
        Status s = w_.Delete(*pods, key.ns, it->second->name, MetaString(it->second->object, "uid"));
        if (!s.ok()) LB_LOG_DEBUG("kubesim: statefulset: updating pod {}: {}", it->second->name, s.ToString());
        break;
      }
    }
  }

  UpdateStatus(*self, key, current_rev, update_rev);
}

void StatefulSetController::UpdateStatus(const ResourceType& self, const Key& key, const std::string& current_rev,
                                         const std::string& update_rev) {
  std::vector<std::string> live{current_rev, update_rev};
  Status s = w_.Update(self, key.ns, key.name, [&](json::value& set) {
    const std::string uid = MetaString(set, "uid");
    std::vector<ObjectPtr> pods = ListObjects(w_.store(), "pods", key.ns,
                                              [&](const StoredObject& o) { return IsControlledBy(o.object, uid); });
    const int64_t min_ready = GetInt(set, {"spec", "minReadySeconds"}, 0);
    const int64_t now = NowUnix();
    const int64_t want = std::max<int64_t>(0, GetInt(set, {"spec", "replicas"}, 1));
    int64_t replicas = 0, ready = 0, available = 0, current = 0, updated = 0;
    for (const ObjectPtr& p : pods) {
      const std::string phase = PodPhase(p->object);
      if (phase == "Failed" || phase == "Succeeded" || IsDeleting(p->object)) continue;
      ++replicas;
      if (IsPodReady(p->object)) ++ready;
      if (IsPodAvailable(p->object, min_ready, now)) ++available;
      const std::string r = GetString(p->object, {"metadata", "labels", kPodRevisionLabel});
      if (r == current_rev) ++current;
      if (r == update_rev) ++updated;
      if (std::find(live.begin(), live.end(), r) == live.end()) live.push_back(r);
    }
    std::string cur = current_rev;
    // The update is complete: the update revision becomes the current one.
    if (cur != update_rev && updated == want && ready == want && replicas == want) {
      cur = update_rev;
      current = updated;
    }
    json::object status;
    const int64_t gen = GetInt(set, {"metadata", "generation"}, 0);
    if (gen > 0) status["observedGeneration"] = gen;
    status["replicas"] = replicas;
    status["readyReplicas"] = ready;
    status["currentReplicas"] = current;
    status["updatedReplicas"] = updated;
    status["availableReplicas"] = available;
    status["currentRevision"] = cur;
    status["updateRevision"] = update_rev;
    status["collisionCount"] = GetInt(set, {"status", "collisionCount"}, 0);
    if (const json::value* c = Find(set, {"status", "conditions"}); c && c->is_array() && !c->as_array().empty()) {
      status["conditions"] = *c;
    }
    json::value next = std::move(status);
    const json::value* old = Find(set, {"status"});
    if (old != nullptr && *old == next) return false;
    set.as_object()["status"] = std::move(next);
    return true;
  }, "status");
  if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
    LB_LOG_DEBUG("kubesim: statefulset {}/{}: status: {}", key.ns, key.name, s.ToString());
  }
  if (ObjectPtr set = w_.store().Get("statefulsets.apps", key.ns, key.name)) TruncateHistory(w_, set->object, live);
}

}  // namespace

std::unique_ptr<Controller> NewStatefulSetController(const ControllerContext& ctx) {
  return std::make_unique<StatefulSetController>(ctx);
}

}  // namespace kubesim::workloads
