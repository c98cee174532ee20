// The scheduler (kube-scheduler's default profile, much simplified): every pod without
// spec.nodeName that names the default scheduler is bound, through the pods/binding
// subresource, to a ready, schedulable node that fits it (spec.nodeSelector, required node
// affinity, taints and tolerations), preferring the node running the fewest pods. A pod that
// fits nowhere gets PodScheduled=False with reason Unschedulable, and is retried when nodes
// change.

#include <algorithm>
#include <limits>

#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/workloads/base.h"
#include "kubesim/src/controllers/workloads/workloads_internal.h"
#include "lifeboat/common/log.h"

namespace kubesim::workloads {

namespace {

// One requirement of a NodeSelectorTerm against `value` (absent: nullopt).
bool NodeRequirementMatches(const json::value& req, const std::optional<std::string>& value) {
  const std::string op = GetString(req, {"operator"});
  std::vector<std::string> values;
  for (const json::value& v : GetArray(req, {"values"})) {
    if (v.is_string()) values.emplace_back(v.as_string());
  }
  const bool in = value.has_value() && std::find(values.begin(), values.end(), *value) != values.end();
  if (op == "In") return in;
  if (op == "NotIn") return !in;
  if (op == "Exists") return value.has_value();
  if (op == "DoesNotExist") return !value.has_value();
  if (op == "Gt" || op == "Lt") {
    if (!value.has_value() || values.size() != 1) return false;
    try {
      long long have = std::stoll(*value), want = std::stoll(values[0]);
      return op == "Gt" ? have > want : have < want;
    } catch (const std::exception&) {
      return false;
    }
  }
  return false;
}

bool NodeSelectorTermMatches(const json::value& term, const json::value& node) {
  const StringMap labels = LabelsOf(node);
  const json::array& exprs = GetArray(term, {"matchExpressions"});
  const json::array& fields = GetArray(term, {"matchFields"});
  if (exprs.empty() && fields.empty()) return false;  // an empty term matches no objects
  for (const json::value& e : exprs) {
    auto it = labels.find(GetString(e, {"key"}));
    std::optional<std::string> v;
    if (it != labels.end()) v = it->second;
    if (!NodeRequirementMatches(e, v)) return false;
  }
  for (const json::value& f : fields) {
    std::optional<std::string> v;
    if (GetString(f, {"key"}) == "metadata.name") v = MetaString(node, "name");
    if (!NodeRequirementMatches(f, v)) return false;
  }
  return true;
}

bool Tolerates(const json::array& tolerations, const json::value& taint) {
  const std::string key = GetString(taint, {"key"});
  const std::string value = GetString(taint, {"value"});
  const std::string effect = GetString(taint, {"effect"});
  for (const json::value& t : tolerations) {
    const std::string t_effect = GetString(t, {"effect"});
    if (!t_effect.empty() && t_effect != effect) continue;
    const std::string t_key = GetString(t, {"key"});
    const std::string op = GetString(t, {"operator"}, "Equal");
    if (op == "Exists") {
      if (t_key.empty() || t_key == key) return true;
    } else if (t_key == key && GetString(t, {"value"}) == value) {
      return true;
    }
  }
  return false;
}

}  // namespace

// Whether a pod with spec `pod_spec` may run on `node`: its nodeSelector, required node
// affinity and the node's NoSchedule/NoExecute taints. Shared with the DaemonSet controller.
bool PodFitsNode(const json::value& pod_spec, const json::value& node) {
  const StringMap node_labels = LabelsOf(node);
  for (const auto& [k, v] : ToStringMap(Find(pod_spec, {"nodeSelector"}))) {
    auto it = node_labels.find(k);
    if (it == node_labels.end() || it->second != v) return false;
  }
  if (const json::value* required = Find(pod_spec, {"affinity", "nodeAffinity",
                                                    "requiredDuringSchedulingIgnoredDuringExecution"});
      required != nullptr && required->is_object()) {
    const json::array& terms = GetArray(*required, {"nodeSelectorTerms"});
    if (!std::any_of(terms.begin(), terms.end(),
                     [&](const json::value& t) { return NodeSelectorTermMatches(t, node); })) {
      return false;
    }
  }
  const json::array& tolerations = GetArray(pod_spec, {"tolerations"});
  for (const json::value& taint : GetArray(node, {"spec", "taints"})) {
    const std::string effect = GetString(taint, {"effect"});
    if (effect != "NoSchedule" && effect != "NoExecute") continue;
    if (!Tolerates(tolerations, taint)) return false;
  }
  return true;
}

namespace {

// Whether `node` takes a new pod with spec `pod_spec` at all: not being deleted, Ready, and
// not cordoned (unless the pod tolerates it, as daemon pods do).
bool NodeIsSchedulable(const json::value& node, const json::value& pod_spec) {
  if (IsDeleting(node)) return false;
  if (GetBool(node, {"spec", "unschedulable"}, false)) {
    static const json::value kCordon = json::object{{"key", "node.kubernetes.io/unschedulable"}, {"effect", "NoSchedule"}};
    if (!Tolerates(GetArray(pod_spec, {"tolerations"}), kCordon)) return false;
  }
  const json::value* status = Find(node, {"status"});
  const json::object* ready = status ? FindCondition(*status, "Ready") : nullptr;
  if (ready == nullptr) return false;
  auto it = ready->find("status");
  return it != ready->end() && it->value() == "True";
}

bool NeedsScheduling(const json::value& pod) {
  if (!GetString(pod, {"spec", "nodeName"}).empty() || IsDeleting(pod)) return false;
  const std::string scheduler = GetString(pod, {"spec", "schedulerName"});
  if (!scheduler.empty() && scheduler != "default-scheduler") return false;
  const std::string phase = PodPhase(pod);
  return phase != "Succeeded" && phase != "Failed";
}

class Scheduler : public KeyedController {
 public:
  explicit Scheduler(const ControllerContext& ctx) : w_(ctx.cluster, "kube-scheduler") {}

  std::string name() const override { return "scheduler"; }
  std::vector<std::string> Watches() const override { return {"pods", "nodes"}; }

 protected:
  void KeysFor(const StoreEvent& e, std::set<Key>& keys) override {
    if (e.object->gr == "nodes") {
      // A node appeared, changed or went away: pods that did not fit may fit now.
      for (const Key& k : Pending()) keys.insert(k);
      return;
    }
    if (e.type == EventType::kDeleted) return;
    if (NeedsScheduling(e.object->object)) keys.insert({e.object->ns, e.object->name});
  }

  std::vector<Key> AllKeys() override { return Pending(); }

  void Reconcile(const Key& key) override {
    ObjectPtr pod = w_.store().Get("pods", key.ns, key.name);
    const ResourceType* pods = w_.Type("", "pods");
    if (pod == nullptr || pods == nullptr || !NeedsScheduling(pod->object)) return;
    const json::value* spec = Find(pod->object, {"spec"});
    if (spec == nullptr) return;

    std::vector<ObjectPtr> nodes = ListObjects(w_.store(), "nodes", "", [](const StoredObject&) { return true; });
    std::map<std::string, int64_t> load;
    size_t ready = 0;
    for (const ObjectPtr& n : nodes) {
      if (!NodeIsSchedulable(n->object, *spec)) continue;
      ++ready;
      if (PodFitsNode(*spec, n->object)) load[n->name] = 0;
    }
    if (load.empty()) {
      MarkUnschedulable(*pods, key, nodes.size(), ready);
      return;
    }
    w_.store().List("pods", "", true, "", 0, [&](const StoredObject& p) {
      const std::string node = GetString(p.object, {"spec", "nodeName"});
      if (node.empty()) return false;
      auto it = load.find(node);
      if (it != load.end() && IsPodActive(p.object)) ++it->second;
      return false;
    });
    // The least loaded node; ties go to the node after the last one chosen, so equal nodes
    // take turns.
    int64_t best = std::numeric_limits<int64_t>::max();
    for (const auto& [n, c] : load) best = std::min(best, c);
    std::string chosen;
    for (const auto& [n, c] : load) {
      if (c != best) continue;
      if (chosen.empty()) chosen = n;
      if (n > last_) {
        chosen = n;
        break;
      }
    }
    last_ = chosen;
    json::value binding = json::object{
        {"apiVersion", "v1"},
        {"kind", "Binding"},
        {"metadata", json::object{{"name", key.name}, {"namespace", key.ns}, {"uid", MetaString(pod->object, "uid")}}},
        {"target", json::object{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", chosen}}}};
    auto r = w_.Create(*pods, key.ns, std::move(binding), "binding");
    if (!r.ok() && r.status().code() != absl::StatusCode::kNotFound) {
      LB_LOG_DEBUG("kubesim: binding pod {}/{} to {}: {}", key.ns, key.name, chosen, r.status().ToString());
    }
  }

 private:
  std::vector<Key> Pending() {
    std::vector<Key> keys;
    w_.store().List("pods", "", true, "", 0, [&](const StoredObject& p) {
      if (NeedsScheduling(p.object)) keys.push_back({p.ns, p.name});
      return false;
    });
    return keys;
  }

  void MarkUnschedulable(const ResourceType& pods, const Key& key, size_t total, size_t ready) {
    std::string message;
    if (total == 0) {
      message = "no nodes available to schedule pods";
    } else if (ready < total) {
      message = "0/" + std::to_string(total) + " nodes are available: " + std::to_string(total - ready) +
                " node(s) were unschedulable or not ready, " + std::to_string(ready) +
                " node(s) didn't match Pod's node affinity/selector.";
    } else {
      message = "0/" + std::to_string(total) + " nodes are available: " + std::to_string(total) +
                " node(s) didn't match Pod's node affinity/selector.";
    }
    Status s = w_.Update(pods, key.ns, key.name, [&](json::value& pod) {
      if (!NeedsScheduling(pod)) return false;
      json::object& status = Child(pod.as_object(), "status");
      json::array conds = GetArray(pod, {"status", "conditions"});
      bool changed = SetCondition(conds, json::object{{"type", "PodScheduled"},
                                                      {"status", "False"},
                                                      {"lastProbeTime", nullptr},
                                                      {"lastTransitionTime", Now()},
                                                      {"reason", "Unschedulable"},
                                                      {"message", message}});
      if (GetString(pod, {"status", "phase"}).empty()) {
        status["phase"] = "Pending";
        changed = true;
      }
      if (!changed) return false;
      status["conditions"] = std::move(conds);
      return true;
    }, "status");
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
      LB_LOG_DEBUG("kubesim: pod {}/{} unschedulable: {}", key.ns, key.name, s.ToString());
    }
  }

  Writer w_;
  std::string last_;
};

}  // namespace

std::unique_ptr<Controller> NewScheduler(const ControllerContext& ctx) {
  return std::make_unique<Scheduler>(ctx);
}

}  // namespace kubesim::workloads
