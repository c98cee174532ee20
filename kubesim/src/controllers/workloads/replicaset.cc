// The ReplicaSet controller (apps/v1) and the ReplicationController manager (core v1): keep
// spec.replicas active pods stamped from the template, adopt matching orphans, and report
// replicas / fullyLabeledReplicas / readyReplicas / availableReplicas / observedGeneration
// (k8s pkg/controller/replicaset, which serves both kinds).

#include <algorithm>

#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/workloads/base.h"
#include "kubesim/src/controllers/workloads/workloads_internal.h"
#include "lifeboat/common/log.h"

namespace kubesim::workloads {
namespace {

struct ReplicaKind {
  std::string group, resource, api_version, kind, name;
  bool map_selector;  // core v1: spec.selector is a plain map (defaulting to the template labels)
};

std::optional<Selector> SelectorOf(const ReplicaKind& k, const json::value& obj) {
  if (!k.map_selector) return Selector::FromLabelSelector(Find(obj, {"spec", "selector"}));
  StringMap m = ToStringMap(Find(obj, {"spec", "selector"}));
  if (m.empty()) m = ToStringMap(Find(obj, {"spec", "template", "metadata", "labels"}));
  if (m.empty()) return std::nullopt;
  return Selector::FromMap(m);
}

// Pods to delete first when scaling down (k8s ActivePods ordering): unscheduled before
// scheduled, pending before running, not ready before ready, newer before older.
bool DeleteBefore(const ObjectPtr& a, const ObjectPtr& b) {
  auto rank = [](const json::value& p) {
    int phase = PodPhase(p) == "Pending" ? 0 : (PodPhase(p) == "Running" ? 2 : 1);
    return std::make_tuple(GetString(p, {"spec", "nodeName"}).empty() ? 0 : 1, phase,
                           IsPodReady(p) ? 1 : 0);
  };
  auto ra = rank(a->object), rb = rank(b->object);
  if (ra != rb) return ra < rb;
  std::string ta = MetaString(a->object, "creationTimestamp"), tb = MetaString(b->object, "creationTimestamp");
  if (ta != tb) return ta > tb;
  return a->name > b->name;
}

class ReplicaSetController : public KeyedController {
 public:
  ReplicaSetController(const ControllerContext& ctx, ReplicaKind kind)
      : w_(ctx.cluster, "kube-controller-manager"), kind_(std::move(kind)) {}

  std::string name() const override { return kind_.name; }
  std::vector<std::string> Watches() const override { return {Gr(), "pods"}; }

 protected:
  std::string Gr() const { return kind_.group.empty() ? kind_.resource : kind_.resource + "." + kind_.group; }

  void KeysFor(const StoreEvent& e, std::set<Key>& keys) override {
    if (e.object->gr == Gr()) {
      keys.insert({e.object->ns, e.object->name});
      return;
    }
    OwnerKeys(w_.store(), e, kind_.kind, Gr(),
              [this](const json::value& o) { return SelectorOf(kind_, o); }, keys);
  }

  std::vector<Key> AllKeys() override { return AllKeysOf(w_.store(), Gr()); }

  void Reconcile(const Key& key) override {
    ObjectPtr rs = w_.store().Get(Gr(), key.ns, key.name);
    const ResourceType* pods = w_.Type("", "pods");
    const ResourceType* self = w_.Type(kind_.group, kind_.resource);
    if (rs == nullptr || pods == nullptr || self == nullptr) return;
    const json::value& obj = rs->object;
    std::optional<Selector> sel = SelectorOf(kind_, obj);
    if (!sel || sel->empty()) {
      LB_LOG_DEBUG("kubesim: {} {}/{} has no usable selector", kind_.kind, key.ns, key.name);
      return;
    }
    std::vector<ObjectPtr> owned = ClaimObjects(w_, *pods, obj, kind_.api_version, kind_.kind, *sel);
    std::vector<ObjectPtr> active;
    for (auto& p : owned) {
      if (IsPodActive(p->object)) active.push_back(p);
    }
    std::string failure;
    if (!IsDeleting(obj)) failure = ManageReplicas(*pods, obj, active);
    UpdateStatus(*self, *pods, key, failure);
  }

 private:
  // Creates or deletes pods; returns the error of a failed create ("" if none).
  std::string ManageReplicas(const ResourceType& pods, const json::value& rs,
                             std::vector<ObjectPtr>& active) {
    const int64_t want = std::max<int64_t>(0, GetInt(rs, {"spec", "replicas"}, 1));
    const int64_t have = static_cast<int64_t>(active.size());
    const std::string ns = MetaString(rs, "namespace");
    if (have < want) {
      const json::object ref = NewControllerRef(rs, kind_.api_version, kind_.kind);
      const json::value* tmpl = Find(rs, {"spec", "template"});
      if (tmpl == nullptr) return "spec.template is missing";
      for (int64_t i = have; i < std::min<int64_t>(want, have + 500); ++i) {
        json::value pod = PodFromTemplate(*tmpl, ns, ref);
        Meta(pod)["generateName"] = GenerateNamePrefix(MetaString(rs, "name"));
        auto r = w_.Create(pods, ns, std::move(pod));
        if (!r.ok()) {
          LB_LOG_DEBUG("kubesim: {} {}/{}: creating pod: {}", kind_.kind, ns, MetaString(rs, "name"),
                       r.status().ToString());
          return std::string(r.status().message());
        }
      }
    } else if (have > want) {
      std::sort(active.begin(), active.end(), DeleteBefore);
      for (int64_t i = 0; i < have - want; ++i) {
        const ObjectPtr& p = active[static_cast<size_t>(i)];
        Status s = w_.Delete(pods, p->ns, p->name, MetaString(p->object, "uid"));
        if (!s.ok()) LB_LOG_DEBUG("kubesim: deleting pod {}/{}: {}", p->ns, p->name, s.ToString());
      }
    }
    return "";
  }

  json::object ComputeStatus(const json::value& rs, const std::vector<ObjectPtr>& pods,
                             const std::string& failure) {
    const StringMap tmpl_labels = ToStringMap(Find(rs, {"spec", "template", "metadata", "labels"}));
    const int64_t min_ready = GetInt(rs, {"spec", "minReadySeconds"}, 0);
    const int64_t now = NowUnix();
    int64_t replicas = 0, labeled = 0, ready = 0, available = 0;
    for (const auto& p : pods) {
      if (!IsPodActive(p->object)) continue;
      ++replicas;
      StringMap labels = LabelsOf(p->object);
      bool full = std::all_of(tmpl_labels.begin(), tmpl_labels.end(), [&](const auto& kv) {
        auto it = labels.find(kv.first);
        return it != labels.end() && it->second == kv.second;
      });
      labeled += full ? 1 : 0;
      ready += IsPodReady(p->object) ? 1 : 0;
      available += IsPodAvailable(p->object, min_ready, now) ? 1 : 0;
    }
    json::object status{{"replicas", replicas}};
    if (labeled > 0) status["fullyLabeledReplicas"] = labeled;
    if (ready > 0) status["readyReplicas"] = ready;
    if (available > 0) status["availableReplicas"] = available;
    const int64_t gen = GetInt(rs, {"metadata", "generation"}, 0);
    if (gen > 0) status["observedGeneration"] = gen;
    json::array conds;
    if (const json::value* old = Find(rs, {"status", "conditions"}); old && old->is_array()) conds = old->as_array();
    if (!failure.empty()) {
      SetCondition(conds, json::object{{"type", "ReplicaFailure"}, {"status", "True"},
                                       {"lastTransitionTime", Now()}, {"reason", "FailedCreate"},
                                       {"message", failure}});
    } else {
      conds.erase(std::remove_if(conds.begin(), conds.end(),
                                 [](const json::value& c) { return GetString(c, {"type"}) == "ReplicaFailure"; }),
                  conds.end());
    }
    if (!conds.empty()) status["conditions"] = std::move(conds);
    return status;
  }

  void UpdateStatus(const ResourceType& self, const ResourceType& pods, const Key& key,
                    const std::string& failure) {
    Status s = w_.Update(self, key.ns, key.name, [&](json::value& rs) {
      const std::string uid = MetaString(rs, "uid");
      std::vector<ObjectPtr> owned = ListObjects(w_.store(), pods.GroupResource(), key.ns,
                                                 [&](const StoredObject& o) { return IsControlledBy(o.object, uid); });
      json::value status = ComputeStatus(rs, owned, failure);
      const json::value* old = Find(rs, {"status"});
      if (old != nullptr && *old == status) return false;
      rs.as_object()["status"] = std::move(status);
      return true;
    }, "status");
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
      LB_LOG_DEBUG("kubesim: {} {}/{}: status: {}", kind_.kind, key.ns, key.name, s.ToString());
    }
  }

  Writer w_;
  ReplicaKind kind_;
};

}  // namespace

std::unique_ptr<Controller> NewReplicaSetController(const ControllerContext& ctx) {
  return std::make_unique<ReplicaSetController>(
      ctx, ReplicaKind{"apps", "replicasets", "apps/v1", "ReplicaSet", "replicaset", false});
}

std::unique_ptr<Controller> NewReplicationControllerController(const ControllerContext& ctx) {
  return std::make_unique<ReplicaSetController>(
      ctx, ReplicaKind{"", "replicationcontrollers", "v1", "ReplicationController",
                       "replicationmanager", true});
}

}  // namespace kubesim::workloads
