// The Deployment controller (k8s pkg/controller/deployment): one ReplicaSet per pod template,
// named <deployment>-<pod-template-hash>, rolled with the RollingUpdate or Recreate strategy,
// revision annotations, history cleanup, and the status and conditions kubectl's
// `rollout status` and `wait --for=condition=Available` read.

#include <algorithm>

#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/workloads/base.h"
#include "kubesim/src/controllers/workloads/workloads_internal.h"
#include "lifeboat/common/log.h"

namespace kubesim::workloads {
namespace {

constexpr char kHashLabel[] = "pod-template-hash";
constexpr char kRevision[] = "deployment.kubernetes.io/revision";
constexpr char kRevisionHistory[] = "deployment.kubernetes.io/revision-history";
constexpr char kDesired[] = "deployment.kubernetes.io/desired-replicas";
constexpr char kMax[] = "deployment.kubernetes.io/max-replicas";

std::optional<Selector> DeploymentSelector(const json::value& d) {
  return Selector::FromLabelSelector(Find(d, {"spec", "selector"}));
}

int64_t Revision(const json::value& rs) {
  std::string r = GetString(rs, {"metadata", "annotations", kRevision});
  if (r.empty() || r.size() > 18 || !std::all_of(r.begin(), r.end(), [](char c) { return c >= '0' && c <= '9'; })) return 0;
  return std::stoll(r);
}

json::value TemplateWithoutHash(const json::value* tmpl) {
  json::value t = tmpl != nullptr ? *tmpl : json::value(json::object());
  if (!t.is_object()) return t;
  if (json::value* labels = t.as_object().if_contains("metadata"); labels && labels->is_object()) {
    if (json::value* l = labels->as_object().if_contains("labels"); l && l->is_object()) {
      l->as_object().erase(kHashLabel);
    }
  }
  return t;
}

bool SameTemplate(const json::value& rs, const json::value& d) {
  return CanonicalJson(TemplateWithoutHash(Find(rs, {"spec", "template"}))) ==
         CanonicalJson(TemplateWithoutHash(Find(d, {"spec", "template"})));
}

// The parameters of a rollout, resolved from the deployment's spec.
struct Plan {
  int64_t replicas = 1;
  int64_t surge = 0;
  int64_t unavailable = 0;
  bool recreate = false;
  bool paused = false;
};

Plan PlanOf(const json::value& d) {
  Plan p;
  p.replicas = std::max<int64_t>(0, GetInt(d, {"spec", "replicas"}, 1));
  p.recreate = GetString(d, {"spec", "strategy", "type"}) == "Recreate";
  p.paused = GetBool(d, {"spec", "paused"}, false);
  if (!p.recreate) {
    json::value quarter = "25%";
    const json::value* s = Find(d, {"spec", "strategy", "rollingUpdate", "maxSurge"});
    const json::value* u = Find(d, {"spec", "strategy", "rollingUpdate", "maxUnavailable"});
    p.surge = ScaledValue(s ? s : &quarter, p.replicas, true, 0);
    p.unavailable = std::min(p.replicas, ScaledValue(u ? u : &quarter, p.replicas, false, 0));
    if (p.surge == 0 && p.unavailable == 0) p.unavailable = 1;
  }
  return p;
}

int64_t SpecReplicas(const ObjectPtr& rs) { return GetInt(rs->object, {"spec", "replicas"}, 1); }
int64_t StatusInt(const ObjectPtr& rs, std::string_view field) {
  return GetInt(rs->object, {"status", field}, 0);
}

class DeploymentController : public KeyedController {
 public:
  explicit DeploymentController(const ControllerContext& ctx) : w_(ctx.cluster, "kube-controller-manager") {}

  std::string name() const override { return "deployment"; }
  std::vector<std::string> Watches() const override { return {"deployments.apps", "replicasets.apps"}; }

 protected:
  void KeysFor(const StoreEvent& e, std::set<Key>& keys) override {
    if (e.object->gr == "deployments.apps") {
      keys.insert({e.object->ns, e.object->name});
      return;
    }
    OwnerKeys(w_.store(), e, "Deployment", "deployments.apps", DeploymentSelector, keys);
  }

  std::vector<Key> AllKeys() override { return AllKeysOf(w_.store(), "deployments.apps"); }

  void Reconcile(const Key& key) override;

 private:
  struct State {
    json::value d;
    Plan plan;
    ObjectPtr new_rs;
    std::vector<ObjectPtr> old_rss;  // oldest first
    std::vector<ObjectPtr> all;
  };

  // Reads the deployment and claims its replica sets; false if there is nothing to do.
  bool Load(const Key& key, State& st);
  bool CreateNewReplicaSet(State& st);
  void SyncNewReplicaSetMetadata(const State& st);
  bool Scale(const State& st, const ObjectPtr& rs, int64_t replicas);
  bool RollRolling(const State& st);
  bool RollRecreate(State& st);
  void CleanupHistory(const State& st);
  void UpdateDeployment(const State& st, bool created_new);

  const ResourceType* RsType() { return w_.Type("apps", "replicasets"); }
  const ResourceType* DeployType() { return w_.Type("apps", "deployments"); }

  Writer w_;
};

bool DeploymentController::Load(const Key& key, State& st) {
  ObjectPtr d = w_.store().Get("deployments.apps", key.ns, key.name);
  if (d == nullptr || RsType() == nullptr || DeployType() == nullptr) return false;
  st.d = d->object;
  if (IsDeleting(st.d)) return false;
  std::optional<Selector> sel = DeploymentSelector(st.d);
  if (!sel || sel->empty()) {
    LB_LOG_DEBUG("kubesim: deployment {}/{} has no usable selector", key.ns, key.name);
    return false;
  }
  st.plan = PlanOf(st.d);
  st.all = ClaimObjects(w_, *RsType(), st.d, "apps/v1", "Deployment", *sel);
  std::sort(st.all.begin(), st.all.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
    std::string ta = MetaString(a->object, "creationTimestamp"), tb = MetaString(b->object, "creationTimestamp");
    return ta != tb ? ta < tb : a->name < b->name;
  });
  st.new_rs = nullptr;
  st.old_rss.clear();
  for (const ObjectPtr& rs : st.all) {
    if (st.new_rs == nullptr && SameTemplate(rs->object, st.d)) {
      st.new_rs = rs;
    } else {
      st.old_rss.push_back(rs);
    }
  }
  return true;
}

bool DeploymentController::CreateNewReplicaSet(State& st) {
  const json::value& d = st.d;
  const std::string ns = MetaString(d, "namespace");
  const json::value* tmpl = Find(d, {"spec", "template"});
  if (tmpl == nullptr || !tmpl->is_object()) return false;
  std::optional<int64_t> collisions;
  if (Find(d, {"status", "collisionCount"}) != nullptr) collisions = GetInt(d, {"status", "collisionCount"}, 0);
  const std::string hash = ComputeHash(*tmpl, collisions);
  int64_t max_rev = 0;
  int64_t old_replicas = 0;
  for (const ObjectPtr& rs : st.old_rss) {
    max_rev = std::max(max_rev, Revision(rs->object));
    old_replicas += SpecReplicas(rs);
  }
  int64_t replicas = st.plan.replicas;
  if (!st.plan.recreate && old_replicas > 0) {
    int64_t room = st.plan.replicas + st.plan.surge - old_replicas;
    replicas = std::clamp<int64_t>(room, 0, st.plan.replicas);
  }
  json::value rs_tmpl = *tmpl;
  Child(Child(rs_tmpl.as_object(), "metadata"), "labels")[kHashLabel] = hash;
  json::value selector = json::object();
  if (const json::value* s = Find(d, {"spec", "selector"}); s && s->is_object()) selector = *s;
  Child(selector.as_object(), "matchLabels")[kHashLabel] = hash;
  StringMap annotations = AnnotationsOf(d);
  for (const char* k : {"kubectl.kubernetes.io/last-applied-configuration", kRevision, kRevisionHistory,
                        kDesired, kMax, "deprecated.deployment.rollback.to"}) {
    annotations.erase(k);
  }
  annotations[kRevision] = std::to_string(max_rev + 1);
  annotations[kDesired] = std::to_string(st.plan.replicas);
  annotations[kMax] = std::to_string(st.plan.replicas + st.plan.surge);
  StringMap labels = ToStringMap(Find(*tmpl, {"metadata", "labels"}));
  labels[kHashLabel] = hash;
  json::object spec{{"replicas", replicas}, {"selector", std::move(selector)}, {"template", std::move(rs_tmpl)}};
  if (int64_t mrs = GetInt(d, {"spec", "minReadySeconds"}, 0); mrs > 0) spec["minReadySeconds"] = mrs;
  json::value rs = json::object{
      {"apiVersion", "apps/v1"},
      {"kind", "ReplicaSet"},
      {"metadata", json::object{{"name", MetaString(d, "name") + "-" + hash},
                                {"namespace", ns},
                                {"labels", FromStringMap(labels)},
                                {"annotations", FromStringMap(annotations)},
                                {"ownerReferences", json::array{NewControllerRef(d, "apps/v1", "Deployment")}}}},
      {"spec", std::move(spec)}};
  auto r = w_.Create(*RsType(), ns, std::move(rs));
  if (r.ok()) return true;
  if (r.status().code() == absl::StatusCode::kAlreadyExists) {
    // A replica set of that name with another template: a hash collision; try the next hash.
    Status s = w_.Update(*DeployType(), ns, MetaString(d, "name"), [](json::value& obj) {
      Child(obj.as_object(), "status")["collisionCount"] = GetInt(obj, {"status", "collisionCount"}, 0) + 1;
      return true;
    }, "status");
    if (!s.ok()) LB_LOG_DEBUG("kubesim: deployment {}: collisionCount: {}", MetaString(d, "name"), s.ToString());
    return false;
  }
  LB_LOG_DEBUG("kubesim: deployment {}/{}: creating replica set: {}", ns, MetaString(d, "name"),
               r.status().ToString());
  return false;
}

// The new replica set carries the deployment's annotations and the highest revision.
void DeploymentController::SyncNewReplicaSetMetadata(const State& st) {
  int64_t max_old = 0;
  for (const ObjectPtr& rs : st.old_rss) max_old = std::max(max_old, Revision(rs->object));
  StringMap copied = AnnotationsOf(st.d);
  for (const char* k : {"kubectl.kubernetes.io/last-applied-configuration", kRevision, kRevisionHistory,
                        kDesired, kMax, "deprecated.deployment.rollback.to"}) {
    copied.erase(k);
  }
  const int64_t min_ready = GetInt(st.d, {"spec", "minReadySeconds"}, 0);
  Status s = w_.Update(*RsType(), st.new_rs->ns, st.new_rs->name, [&](json::value& rs) {
    bool changed = false;
    json::object& ann = Child(Meta(rs), "annotations");
    for (const auto& [k, v] : copied) {
      if (GetString(rs, {"metadata", "annotations", k}) != v) {
        ann[k] = v;
        changed = true;
      }
    }
    int64_t rev = Revision(rs);
    if (rev <= max_old) {
      if (rev > 0) {
        std::string hist = GetString(rs, {"metadata", "annotations", kRevisionHistory});
        ann[kRevisionHistory] = hist.empty() ? std::to_string(rev) : hist + "," + std::to_string(rev);
      }
      ann[kRevision] = std::to_string(max_old + 1);
      changed = true;
    }
    if (GetInt(rs, {"spec", "minReadySeconds"}, 0) != min_ready) {
      Child(rs.as_object(), "spec")["minReadySeconds"] = min_ready;
      changed = true;
    }
    return changed;
  });
  if (!s.ok()) LB_LOG_DEBUG("kubesim: replica set {}: annotations: {}", st.new_rs->name, s.ToString());
}

bool DeploymentController::Scale(const State& st, const ObjectPtr& rs, int64_t replicas) {
  const std::string desired = std::to_string(st.plan.replicas);
  const std::string max = std::to_string(st.plan.replicas + st.plan.surge);
  bool changed = false;
  Status s = w_.Update(*RsType(), rs->ns, rs->name, [&](json::value& obj) {
    if (GetInt(obj, {"spec", "replicas"}, 1) == replicas &&
        GetString(obj, {"metadata", "annotations", kDesired}) == desired &&
        GetString(obj, {"metadata", "annotations", kMax}) == max) {
      return false;
    }
    Child(obj.as_object(), "spec")["replicas"] = replicas;
    json::object& ann = Child(Meta(obj), "annotations");
    ann[kDesired] = desired;
    ann[kMax] = max;
    changed = true;
    return true;
  });
  if (!s.ok()) LB_LOG_DEBUG("kubesim: scaling replica set {}: {}", rs->name, s.ToString());
  return changed && s.ok();
}

// One step of a rolling update: scale the new replica set up within maxSurge, then the old
// ones down within maxUnavailable (k8s rolling.go). Returns true if anything was scaled.
bool DeploymentController::RollRolling(const State& st) {
  const Plan& p = st.plan;
  int64_t total = 0, available = 0;
  for (const ObjectPtr& rs : st.all) {
    total += SpecReplicas(rs);
    available += StatusInt(rs, "availableReplicas");
  }
  const int64_t new_replicas = SpecReplicas(st.new_rs);
  if (new_replicas > p.replicas) return Scale(st, st.new_rs, p.replicas);
  if (new_replicas < p.replicas && total < p.replicas + p.surge) {
    int64_t up = std::min(p.replicas + p.surge - total, p.replicas - new_replicas);
    return Scale(st, st.new_rs, new_replicas + up);
  }
  if (p.paused) return false;
  int64_t old_total = 0;
  for (const ObjectPtr& rs : st.old_rss) old_total += SpecReplicas(rs);
  if (old_total == 0) return false;
  const int64_t min_available = p.replicas - p.unavailable;
  const int64_t new_unavailable = new_replicas - StatusInt(st.new_rs, "availableReplicas");
  int64_t budget = total - min_available - new_unavailable;
  bool scaled = false;
  // Unhealthy old replicas go first: removing them costs no availability.
  for (const ObjectPtr& rs : st.old_rss) {
    if (budget <= 0) break;
    int64_t unhealthy = SpecReplicas(rs) - StatusInt(rs, "availableReplicas");
    int64_t cut = std::min(budget, std::max<int64_t>(0, unhealthy));
    if (cut > 0 && Scale(st, rs, SpecReplicas(rs) - cut)) {
      scaled = true;
      budget -= cut;
    }
  }
  if (scaled) return true;
  int64_t surplus = available - min_available;
  for (const ObjectPtr& rs : st.old_rss) {
    if (surplus <= 0) break;
    int64_t cut = std::min(surplus, SpecReplicas(rs));
    if (cut > 0 && Scale(st, rs, SpecReplicas(rs) - cut)) {
      scaled = true;
      surplus -= cut;
    }
  }
  return scaled;
}

// Recreate: every old pod goes before the new replica set scales up.
bool DeploymentController::RollRecreate(State& st) {
  bool scaled = false;
  int64_t old_pods = 0;
  for (const ObjectPtr& rs : st.old_rss) {
    if (SpecReplicas(rs) > 0) scaled |= Scale(st, rs, 0);
    old_pods += StatusInt(rs, "replicas");
  }
  if (scaled || old_pods > 0 || st.plan.paused) return scaled;
  if (st.new_rs == nullptr) return false;
  return Scale(st, st.new_rs, st.plan.replicas);
}

void DeploymentController::CleanupHistory(const State& st) {
  int64_t limit = GetInt(st.d, {"spec", "revisionHistoryLimit"}, 10);
  std::vector<ObjectPtr> idle;
  for (const ObjectPtr& rs : st.old_rss) {
    if (SpecReplicas(rs) == 0 && StatusInt(rs, "replicas") == 0 && !IsDeleting(rs->object)) idle.push_back(rs);
  }
  if (limit < 0 || static_cast<int64_t>(idle.size()) <= limit) return;
  std::sort(idle.begin(), idle.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
    return Revision(a->object) < Revision(b->object);
  });
  for (size_t i = 0; i < idle.size() - static_cast<size_t>(limit); ++i) {
    Status s = w_.Delete(*RsType(), idle[i]->ns, idle[i]->name, MetaString(idle[i]->object, "uid"));
    if (!s.ok()) LB_LOG_DEBUG("kubesim: deleting old replica set {}: {}", idle[i]->name, s.ToString());
  }
}

void DeploymentController::Reconcile(const Key& key) {
  State st;
  if (!Load(key, st)) return;
  bool created = false;
  if (st.new_rs == nullptr && !st.plan.paused) {
    bool old_pods = false;
    for (const ObjectPtr& rs : st.old_rss) old_pods |= SpecReplicas(rs) > 0 || StatusInt(rs, "replicas") > 0;
    if (!st.plan.recreate || !old_pods) {
      created = CreateNewReplicaSet(st);
      if (!Load(key, st)) return;
    }
  }
  if (st.new_rs != nullptr) SyncNewReplicaSetMetadata(st);
  bool scaled = st.plan.recreate ? RollRecreate(st) : (st.new_rs != nullptr && RollRolling(st));
  if (scaled && !Load(key, st)) return;
  UpdateDeployment(st, created);
}

// The revision annotation on the deployment, then its status (k8s sync.go calculateStatus and
// progress.go).
void DeploymentController::UpdateDeployment(const State& st, bool created_new) {
  const std::string ns = MetaString(st.d, "namespace");
  const std::string name = MetaString(st.d, "name");
  if (st.new_rs != nullptr) {
    std::string rev = GetString(st.new_rs->object, {"metadata", "annotations", kRevision});
    Status s = w_.Update(*DeployType(), ns, name, [&](json::value& d) {
      if (rev.empty() || GetString(d, {"metadata", "annotations", kRevision}) == rev) return false;
      Child(Meta(d), "annotations")[kRevision] = rev;
      return true;
    });
    if (!s.ok()) LB_LOG_DEBUG("kubesim: deployment {}/{}: revision: {}", ns, name, s.ToString());
  }
  int64_t replicas = 0, ready = 0, available = 0, total_spec = 0;
  for (const ObjectPtr& rs : st.all) {
    replicas += StatusInt(rs, "replicas");
    ready += StatusInt(rs, "readyReplicas");
    available += StatusInt(rs, "availableReplicas");
    total_spec += SpecReplicas(rs);
  }
  const int64_t updated = st.new_rs ? StatusInt(st.new_rs, "replicas") : 0;
  const Plan& p = st.plan;
  const std::string rs_name = st.new_rs ? st.new_rs->name : "";
  const bool complete = st.new_rs != nullptr && updated == p.replicas && replicas == p.replicas &&
                        available == p.replicas;
  Status s = w_.Update(*DeployType(), ns, name, [&](json::value& d) {
    const json::value* old = Find(d, {"status"});
    json::object status;
    const int64_t gen = GetInt(d, {"metadata", "generation"}, 0);
    if (gen > 0) status["observedGeneration"] = gen;
    if (replicas > 0) status["replicas"] = replicas;
    if (updated > 0) status["updatedReplicas"] = updated;
    if (ready > 0) status["readyReplicas"] = ready;
    if (available > 0) status["availableReplicas"] = available;
    if (int64_t un = std::max<int64_t>(0, total_spec - available); un > 0) status["unavailableReplicas"] = un;
    if (const json::value* cc = Find(d, {"status", "collisionCount"})) status["collisionCount"] = *cc;
    json::array conds = GetArray(d, {"status", "conditions"});
    const std::string now = Now();
    auto cond = [&](const char* type, const char* st_, const char* reason, std::string msg) {
      return json::object{{"type", type}, {"status", st_}, {"lastUpdateTime", now},
                          {"lastTransitionTime", now}, {"reason", reason}, {"message", std::move(msg)}};
    };
    if (available >= p.replicas - p.unavailable) {
      SetCondition(conds, cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."));
    } else {
      SetCondition(conds, cond("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."));
    }
    if (p.paused) {
      SetCondition(conds, cond("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"));
    } else if (complete) {
      SetCondition(conds, cond("Progressing", "True", "NewReplicaSetAvailable",
                               "ReplicaSet \"" + rs_name + "\" has successfully progressed."));
    } else if (created_new) {
      SetCondition(conds, cond("Progressing", "True", "NewReplicaSetCreated", "Created new replica set \"" + rs_name + "\""));
    } else if (st.new_rs != nullptr) {
      SetCondition(conds, cond("Progressing", "True", "ReplicaSetUpdated", "ReplicaSet \"" + rs_name + "\" is progressing."));
    }
    status["conditions"] = std::move(conds);
    if (old != nullptr && *old == json::value(status)) return false;
    d.as_object()["status"] = std::move(status);
    return true;
  }, "status");
  if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
    LB_LOG_DEBUG("kubesim: deployment {}/{}: status: {}", ns, name, s.ToString());
  }
  if (complete) CleanupHistory(st);
}

}  // namespace

std::unique_ptr<Controller> NewDeploymentController(const ControllerContext& ctx) {
  return std::make_unique<DeploymentController>(ctx);
}

}  // namespace kubesim::workloads
