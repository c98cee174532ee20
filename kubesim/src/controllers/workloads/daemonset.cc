// The DaemonSet controller (apps/v1, k8s pkg/controller/daemon): one pod per node the pod
// template fits (nodeSelector, required node affinity, taints), pinned to its node with a
// required node affinity on metadata.name (the scheduler binds it, as in k8s), the system
// tolerations daemons get, rolling updates within maxUnavailable, ControllerRevisions, and
// the status `kubectl rollout status` reads.

#include <algorithm>

#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/workloads/base.h"
#include "kubesim/src/controllers/workloads/revision.h"
#include "kubesim/src/controllers/workloads/workloads_internal.h"
#include "lifeboat/common/log.h"

namespace kubesim::workloads {

// scheduler.cc: whether a pod with this spec may run on `node`.
bool PodFitsNode(const json::value& pod_spec, const json::value& node);

namespace {

constexpr char kTemplateGeneration[] = "pod-template-generation";

std::optional<Selector> DaemonSelector(const json::value& ds) {
  return Selector::FromLabelSelector(Find(ds, {"spec", "selector"}));
}

// The node a daemon pod is for: its spec.nodeName, or the node its affinity pins it to.
std::string TargetNode(const json::value& pod) {
  if (std::string n = GetString(pod, {"spec", "nodeName"}); !n.empty()) return n;
  const json::value* req = Find(pod, {"spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"});
  if (req == nullptr) return "";
  for (const json::value& term : GetArray(*req, {"nodeSelectorTerms"})) {
    for (const json::value& f : GetArray(term, {"matchFields"})) {
      if (GetString(f, {"key"}) != "metadata.name" || GetString(f, {"operator"}) != "In") continue;
      const json::array& values = GetArray(f, {"values"});
      if (values.size() == 1 && values[0].is_string()) return std::string(values[0].as_string());
    }
  }
  return "";
}

// Pins the pod to `node`: the node affinity term replaces any metadata.name field term.
void PinToNode(json::object& spec, const std::string& node) {
  json::object& affinity = Child(spec, "affinity");
  json::object& node_affinity = Child(affinity, "nodeAffinity");
  json::object& required = Child(node_affinity, "requiredDuringSchedulingIgnoredDuringExecution");
  json::value pin = json::object{{"key", "metadata.name"}, {"operator", "In"}, {"values", json::array{json::string(node)}}};
  json::value& terms = required["nodeSelectorTerms"];
  if (!terms.is_array() || terms.as_array().empty()) {
    terms = json::array{json::object{{"matchFields", json::array{pin}}}};
    return;
  }
  for (json::value& term : terms.as_array()) {
    if (!term.is_object()) continue;
    json::array fields;
    for (const json::value& f : GetArray(term, {"matchFields"})) {
      if (GetString(f, {"key"}) != "metadata.name") fields.push_back(f);
    }
    fields.push_back(pin);
    term.as_object()["matchFields"] = std::move(fields);
  }
}

void AddDaemonTolerations(json::object& spec) {
  json::value& tol = spec["tolerations"];
  if (!tol.is_array()) tol = json::array();
  auto has = [&](const std::string& key, const std::string& effect) {
    for (const json::value& t : tol.as_array()) {
      if (GetString(t, {"key"}) == key && GetString(t, {"effect"}) == effect) return true;
    }
    return false;
  };
  const std::pair<const char*, const char*> wanted[] = {
      {"node.kubernetes.io/not-ready", "NoExecute"},      {"node.kubernetes.io/unreachable", "NoExecute"},
      {"node.kubernetes.io/disk-pressure", "NoSchedule"}, {"node.kubernetes.io/memory-pressure", "NoSchedule"},
      {"node.kubernetes.io/pid-pressure", "NoSchedule"},  {"node.kubernetes.io/unschedulable", "NoSchedule"}};
  for (const auto& [key, effect] : wanted) {
    if (!has(key, effect)) {
      tol.as_array().push_back(json::object{{"key", key}, {"operator", "Exists"}, {"effect", effect}});
    }
  }
}

struct NodePods {
  bool should_run = false;
  std::vector<ObjectPtr> pods;  // active pods for this node
};

class DaemonSetController : public KeyedController {
 public:
  explicit DaemonSetController(const ControllerContext& ctx) : w_(ctx.cluster, "kube-controller-manager") {}

  std::string name() const override { return "daemonset"; }
  std::vector<std::string> Watches() const override { return {"daemonsets.apps", "pods", "nodes"}; }

 protected:
  void KeysFor(const StoreEvent& e, std::set<Key>& keys) override {
    if (e.object->gr == "daemonsets.apps") {
      keys.insert({e.object->ns, e.object->name});
      return;
    }
    if (e.object->gr == "nodes") {
      // Node labels or taints changed, or a node came or went: every daemon set may care.
      for (const Key& k : AllKeys()) keys.insert(k);
      return;
    }
    OwnerKeys(w_.store(), e, "DaemonSet", "daemonsets.apps", DaemonSelector, keys);
  }

  std::vector<Key> AllKeys() override { return AllKeysOf(w_.store(), "daemonsets.apps"); }

  void Reconcile(const Key& key) override;

 private:
  std::string CreatePod(const ResourceType& pods, const json::value& ds, const std::string& node,
                        const std::string& hash);
  void Delete(const ResourceType& pods, const ObjectPtr& p) {
    Status s = w_.Delete(pods, p->ns, p->name, MetaString(p->object, "uid"));
    if (!s.ok()) LB_LOG_DEBUG("kubesim: daemonset: deleting pod {}/{}: {}", p->ns, p->name, s.ToString());
  }
  void UpdateStatus(const ResourceType& self, const Key& key, const std::string& hash);
  std::map<std::string, NodePods> Layout(const json::value& ds, const std::vector<ObjectPtr>& owned);

  Writer w_;
};

std::map<std::string, NodePods> DaemonSetController::Layout(const json::value& ds, const std::vector<ObjectPtr>& owned) {
  std::map<std::string, NodePods> layout;
  static const json::value kEmpty = json::object();
  const json::value* spec = Find(ds, {"spec", "template", "spec"});
  for (const ObjectPtr& n : ListObjects(w_.store(), "nodes", "", [](const StoredObject&) { return true; })) {
    if (IsDeleting(n->object)) continue;
    layout[n->name].should_run = PodFitsNode(spec ? *spec : kEmpty, n->object);
  }
  for (const ObjectPtr& p : owned) {
    if (IsDeleting(p->object)) continue;
    layout[TargetNode(p->object)].pods.push_back(p);
  }
  return layout;
}

std::string DaemonSetController::CreatePod(const ResourceType& pods, const json::value& ds, const std::string& node,
                                           const std::string& hash) {
  const std::string ns = MetaString(ds, "namespace");
  const json::value* tmpl = Find(ds, {"spec", "template"});
  if (tmpl == nullptr || !tmpl->is_object()) return "spec.template is missing";
  json::value pod = PodFromTemplate(*tmpl, ns, NewControllerRef(ds, "apps/v1", "DaemonSet"));
  json::object& meta = Meta(pod);
  meta["generateName"] = GenerateNamePrefix(MetaString(ds, "name"));
  json::object& labels = Child(meta, "labels");
  labels[kPodRevisionLabel] = hash;
  labels[kTemplateGeneration] = std::to_string(GetInt(ds, {"metadata", "generation"}, 1));
  json::object& spec = Child(pod.as_object(), "spec");
  PinToNode(spec, node);
  AddDaemonTolerations(spec);
  auto r = w_.Create(pods, ns, std::move(pod));
  if (!r.ok()) {
    LB_LOG_DEBUG("kubesim: daemonset {}/{}: creating pod for {}: {}", ns, MetaString(ds, "name"), node,
                 r.status().ToString());
    return std::string(r.status().message());
  }
  return "";
}

void DaemonSetController::Reconcile(const Key& key) {
  ObjectPtr dp = w_.store().Get("daemonsets.apps", key.ns, key.name);
  const ResourceType* pods = w_.Type("", "pods");
  const ResourceType* self = w_.Type("apps", "daemonsets");
  if (dp == nullptr || pods == nullptr || self == nullptr) return;
  const json::value ds = dp->object;
  std::optional<Selector> sel = DaemonSelector(ds);
  if (!sel || sel->empty()) {
    LB_LOG_DEBUG("kubesim: daemonset {}/{} has no usable selector", key.ns, key.name);
    return;
  }
  std::vector<ObjectPtr> owned = ClaimObjects(w_, *pods, ds, "apps/v1", "DaemonSet", *sel);
  if (IsDeleting(ds)) return;
  auto rev = EnsureRevision(w_, ds, "DaemonSet");
  if (!rev.ok()) {
    LB_LOG_DEBUG("kubesim: daemonset {}/{}: revision: {}", key.ns, key.name, rev.status().ToString());
    return;
  }
  const std::string hash = rev->hash;
  // Failed daemon pods are replaced.
  for (const ObjectPtr& p : owned) {
    if (PodPhase(p->object) == "Failed" && !IsDeleting(p->object)) Delete(*pods, p);
  }
  std::vector<ObjectPtr> active;
  for (const ObjectPtr& p : owned) {
    if (IsPodActive(p->object)) active.push_back(p);
  }
  std::map<std::string, NodePods> layout = Layout(ds, active);
  const int64_t min_ready = GetInt(ds, {"spec", "minReadySeconds"}, 0);
  const int64_t now = NowUnix();
  int64_t desired = 0, unavailable = 0;
  std::vector<ObjectPtr> outdated;  // one per node, for the rolling update
  for (auto& [node, np] : layout) {
    if (!np.should_run || node.empty()) {
      for (const ObjectPtr& p : np.pods) Delete(*pods, p);
      continue;
    }
    ++desired;
    if (np.pods.empty()) {
      CreatePod(*pods, ds, node, hash);
      ++unavailable;
      continue;
    }
    // More than one: keep the oldest.
    std::sort(np.pods.begin(), np.pods.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
      return MetaString(a->object, "creationTimestamp") < MetaString(b->object, "creationTimestamp");
    });
    for (size_t i = 1; i < np.pods.size(); ++i) Delete(*pods, np.pods[i]);
    const ObjectPtr& p = np.pods[0];
    if (!IsPodAvailable(p->object, min_ready, now)) ++unavailable;
    if (GetString(p->object, {"metadata", "labels", kPodRevisionLabel}) != hash) outdated.push_back(p);
  }
  if (GetString(ds, {"spec", "updateStrategy", "type"}, "RollingUpdate") == "RollingUpdate" && !outdated.empty()) {
    json::value one = 1;
    const json::value* mu = Find(ds, {"spec", "updateStrategy", "rollingUpdate", "maxUnavailable"});
    int64_t max_unavailable = std::max<int64_t>(1, ScaledValue(mu ? mu : &one, desired, true, 1));
    // Unavailable old pods cost nothing to replace; then available ones within the budget.
    std::stable_sort(outdated.begin(), outdated.end(), [&](const ObjectPtr& a, const ObjectPtr& b) {
      return !IsPodAvailable(a->object, min_ready, now) && IsPodAvailable(b->object, min_ready, now);
    });
    for (const ObjectPtr& p : outdated) {
      if (!IsPodAvailable(p->object, min_ready, now)) {
        Delete(*pods, p);
        continue;
      }
      if (unavailable >= max_unavailable) break;
      Delete(*pods, p);
      ++unavailable;
    }
  }
  UpdateStatus(*self, key, hash);
  std::vector<std::string> live{rev->name};
  if (ObjectPtr cur = w_.store().Get("daemonsets.apps", key.ns, key.name)) {
    for (const ObjectPtr& r : OwnedRevisions(w_, cur->object)) {
      const std::string h = GetString(r->object, {"metadata", "labels", kRevisionHashLabel});
      bool used = std::any_of(active.begin(), active.end(), [&](const ObjectPtr& p) {
        return GetString(p->object, {"metadata", "labels", kPodRevisionLabel}) == h;
      });
      if (used) live.push_back(r->name);
    }
    TruncateHistory(w_, cur->object, live);
  }
}

void DaemonSetController::UpdateStatus(const ResourceType& self, const Key& key, const std::string& hash) {
  Status s = w_.Update(self, key.ns, key.name, [&](json::value& ds) {
    const std::string uid = MetaString(ds, "uid");
    std::vector<ObjectPtr> pods = ListObjects(w_.store(), "pods", key.ns, [&](const StoredObject& o) {
      return IsControlledBy(o.object, uid) && IsPodActive(o.object);
    });
    std::map<std::string, NodePods> layout = Layout(ds, pods);
    const int64_t min_ready = GetInt(ds, {"spec", "minReadySeconds"}, 0);
    const int64_t now = NowUnix();
    int64_t desired = 0, current = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
    for (const auto& [node, np] : layout) {
      if (np.should_run && !node.empty()) {
        ++desired;
        if (np.pods.empty()) continue;
        ++current;
        const json::value& p = np.pods[0]->object;
        if (IsPodReady(p)) ++ready;
        if (IsPodAvailable(p, min_ready, now)) ++available;
        if (GetString(p, {"metadata", "labels", kPodRevisionLabel}) == hash) ++updated;
      } else if (!np.pods.empty()) {
        ++misscheduled;
      }
    }
    json::object status{{"currentNumberScheduled", current},
                        {"numberMisscheduled", misscheduled},
                        {"desiredNumberScheduled", desired},
                        {"numberReady", ready}};
    const int64_t gen = GetInt(ds, {"metadata", "generation"}, 0);
    if (gen > 0) status["observedGeneration"] = gen;
    if (updated > 0) status["updatedNumberScheduled"] = updated;
    if (available > 0) status["numberAvailable"] = available;
    if (desired - available > 0) status["numberUnavailable"] = desired - available;
    if (const json::value* cc = Find(ds, {"status", "collisionCount"})) status["collisionCount"] = *cc;
    if (const json::value* c = Find(ds, {"status", "conditions"}); c && c->is_array() && !c->as_array().empty()) {
      status["conditions"] = *c;
    }
    json::value next = std::move(status);
    const json::value* old = Find(ds, {"status"});
    if (old != nullptr && *old == next) return false;
    ds.as_object()["status"] = std::move(next);
    return true;
  }, "status");
  if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
    LB_LOG_DEBUG("kubesim: daemonset {}/{}: status: {}", key.ns, key.name, s.ToString());
  }
}

}  // namespace

std::unique_ptr<Controller> NewDaemonSetController(const ControllerContext& ctx) {
  return std::make_unique<DaemonSetController>(ctx);
}

}  // namespace kubesim::workloads
