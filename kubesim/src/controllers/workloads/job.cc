// The Job controller (batch/v1, k8s pkg/controller/job): runs up to spec.parallelism pods at a
// time until spec.completions of them succeeded (NonIndexed, or one per index with
// completionMode Indexed), counts failures against spec.backoffLimit, honours suspend and
// activeDeadlineSeconds, reports active / ready / succeeded / failed / terminating and the
// SuccessCriteriaMet + Complete (or FailureTarget + Failed) conditions, and deletes finished
// jobs after ttlSecondsAfterFinished (the TTL-after-finished controller's part).

#include <algorithm>

#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/workloads/base.h"
#include "kubesim/src/controllers/workloads/workloads_internal.h"
#include "lifeboat/common/log.h"

namespace kubesim::workloads {
namespace {

constexpr char kControllerUid[] = "batch.kubernetes.io/controller-uid";
constexpr char kJobName[] = "batch.kubernetes.io/job-name";
constexpr char kLegacyControllerUid[] = "controller-uid";
constexpr char kLegacyJobName[] = "job-name";
constexpr char kCompletionIndex[] = "batch.kubernetes.io/job-completion-index";

std::optional<Selector> JobSelector(const json::value& job) {
  std::optional<Selector> sel = Selector::FromLabelSelector(Find(job, {"spec", "selector"}));
  if (sel && !sel->empty()) return sel;
  // No selector (the defaults layer did not generate one): the controller-uid label.
  const std::string uid = MetaString(job, "uid");
  if (uid.empty()) return std::nullopt;
  return Selector::FromMap({{kControllerUid, uid}});
}

bool ConditionTrue(const json::value& job, std::string_view type) {
  const json::value* status = Find(job, {"status"});
  const json::object* c = status ? FindCondition(*status, type) : nullptr;
  if (c == nullptr) return false;
  auto it = c->find("status");
  return it != c->end() && it->value() == "True";
}

bool IsFinished(const json::value& job) { return ConditionTrue(job, "Complete") || ConditionTrue(job, "Failed"); }

std::optional<int64_t> PodIndex(const json::value& pod) {
  std::string s = GetString(pod, {"metadata", "annotations", kCompletionIndex});
  if (s.empty()) s = GetString(pod, {"metadata", "labels", kCompletionIndex});
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(s);
}

// "0-2,4" for {0,1,2,4}.
std::string FormatIndexes(const std::set<int64_t>& idx) {
  std::string out;
  for (auto it = idx.begin(); it != idx.end();) {
    int64_t first = *it, last = *it;
    for (++it; it != idx.end() && *it == last + 1; ++it) last = *it;
    if (!out.empty()) out += ",";
    out += std::to_string(first);
    if (last > first) out += (last == first + 1 ? "," : "-") + std::to_string(last);
  }
  return out;
}

struct Counts {
  std::vector<ObjectPtr> active;
  int64_t succeeded = 0;
  int64_t failed = 0;
  int64_t ready = 0;
  int64_t terminating = 0;
  std::set<int64_t> succeeded_indexes;
  std::set<int64_t> active_indexes;
};

class JobController : public KeyedController {
 public:
  explicit JobController(const ControllerContext& ctx) : w_(ctx.cluster, "kube-controller-manager") {}

  std::string name() const override { return "job"; }
  std::vector<std::string> Watches() const override { return {"jobs.batch", "pods"}; }

 protected:
  void KeysFor(const StoreEvent& e, std::set<Key>& keys) override {
    if (e.object->gr == "jobs.batch") {
      keys.insert({e.object->ns, e.object->name});
      return;
    }
    OwnerKeys(w_.store(), e, "Job", "jobs.batch", JobSelector, keys);
  }

  std::vector<Key> AllKeys() override { return AllKeysOf(w_.store(), "jobs.batch"); }

  void Reconcile(const Key& key) override;

 private:
  Counts Count(const std::vector<ObjectPtr>& pods, bool indexed, int64_t completions) {
    Counts c;
    for (const ObjectPtr& p : pods) {
      const std::string phase = PodPhase(p->object);
      std::optional<int64_t> idx = indexed ? PodIndex(p->object) : std::nullopt;
      if (phase == "Succeeded") {
        if (indexed) {
          if (idx && *idx < completions) c.succeeded_indexes.insert(*idx);
        } else {
          ++c.succeeded;
        }
      } else if (phase == "Failed") {
        ++c.failed;
      } else if (IsDeleting(p->object)) {
        ++c.terminating;
      } else {
        c.active.push_back(p);
        if (IsPodReady(p->object)) ++c.ready;
        if (idx) c.active_indexes.insert(*idx);
      }
    }
    if (indexed) c.succeeded = static_cast<int64_t>(c.succeeded_indexes.size());
    return c;
  }

  void DeletePods(const ResourceType& pods, const std::vector<ObjectPtr>& victims) {
    for (const ObjectPtr& p : victims) {
      Status s = w_.Delete(pods, p->ns, p->name, MetaString(p->object, "uid"));
      if (!s.ok()) LB_LOG_DEBUG("kubesim: job: deleting pod {}/{}: {}", p->ns, p->name, s.ToString());
    }
  }

  // Creates `n` pods (for Indexed jobs: for the lowest indexes neither succeeded nor running).
  std::string CreatePods(const ResourceType& pods, const json::value& job, int64_t n, bool indexed,
                         int64_t completions, const Counts& counts) {
    const std::string ns = MetaString(job, "namespace");
    const std::string jname = MetaString(job, "name");
    const std::string uid = MetaString(job, "uid");
    const json::value* tmpl = Find(job, {"spec", "template"});
    if (tmpl == nullptr) return "spec.template is missing";
    const json::object ref = NewControllerRef(job, "batch/v1", "Job");
    int64_t next_index = 0;
    for (int64_t i = 0; i < n; ++i) {
      json::value pod = PodFromTemplate(*tmpl, ns, ref);
      json::object& meta = Meta(pod);
      json::object& labels = Child(meta, "labels");
      labels[kControllerUid] = uid;
      labels[kJobName] = jname;
      labels[kLegacyControllerUid] = uid;
      labels[kLegacyJobName] = jname;
      if (indexed) {
        while (next_index < completions &&
               (counts.succeeded_indexes.contains(next_index) || counts.active_indexes.contains(next_index))) {
          ++next_index;
        }
        if (next_index >= completions) break;
        const std::string idx = std::to_string(next_index++);
        labels[kCompletionIndex] = idx;
        Child(meta, "annotations")[kCompletionIndex] = idx;
        meta["generateName"] = GenerateNamePrefix(jname + "-" + idx);
        json::object& spec = Child(pod.as_object(), "spec");
        if (!spec.contains("hostname")) spec["hostname"] = jname + "-" + idx;
        json::value& containers = spec["containers"];
        if (containers.is_array()) {
          for (json::value& c : containers.as_array()) {
            if (!c.is_object()) continue;
            json::value& env = c.as_object()["env"];
            if (!env.is_array()) env = json::array();
            env.as_array().push_back(json::object{{"name", "JOB_COMPLETION_INDEX"},
                                                  {"valueFrom", json::object{{"fieldRef", json::object{
                                                      {"fieldPath", std::string("metadata.annotations['") +
                                                                        kCompletionIndex + "']"}}}}}});
          }
        }
      } else {
        meta["generateName"] = GenerateNamePrefix(jname);
      }
      auto r = w_.Create(pods, ns, std::move(pod));
      if (!r.ok()) {
        LB_LOG_DEBUG("kubesim: job {}/{}: creating pod: {}", ns, jname, r.status().ToString());
        return std::string(r.status().message());
      }
    }
    return "";
  }

  void MaybeExpire(const ResourceType& self, const json::value& job) {
    const json::value* ttl = Find(job, {"spec", "ttlSecondsAfterFinished"});
    if (ttl == nullptr || !IsFinished(job)) return;
    const int64_t secs = GetInt(job, {"spec", "ttlSecondsAfterFinished"}, -1);
    std::string finished = GetString(job, {"status", "completionTime"});
    if (finished.empty()) {
      for (const json::value& c : GetArray(job, {"status", "conditions"})) {
        if (GetString(c, {"type"}) == "Failed") finished = GetString(c, {"lastTransitionTime"});
      }
    }
    std::optional<int64_t> t = ParseTime(finished);
    if (secs < 0 || !t || *t + secs > NowUnix()) return;
    Status s = w_.Delete(self, MetaString(job, "namespace"), MetaString(job, "name"), MetaString(job, "uid"),
                         "Background");
    if (!s.ok()) LB_LOG_DEBUG("kubesim: job {}: ttl deletion: {}", MetaString(job, "name"), s.ToString());
  }

  Writer w_;
};

void JobController::Reconcile(const Key& key) {
  ObjectPtr jp = w_.store().Get("jobs.batch", key.ns, key.name);
  const ResourceType* pods = w_.Type("", "pods");
  const ResourceType* self = w_.Type("batch", "jobs");
  if (jp == nullptr || pods == nullptr || self == nullptr) return;
  const json::value& job = jp->object;
  if (IsFinished(job)) {
    MaybeExpire(*self, job);
    // A finished job keeps no running pods.
    std::vector<ObjectPtr> left = ListObjects(w_.store(), "pods", key.ns, [&](const StoredObject& o) {
      return IsControlledBy(o.object, MetaString(job, "uid")) && IsPodActive(o.object);
    });
    DeletePods(*pods, left);
    return;
  }
  std::optional<Selector> sel = JobSelector(job);
  if (!sel || sel->empty()) {
    LB_LOG_DEBUG("kubesim: job {}/{} has no usable selector", key.ns, key.name);
    return;
  }
  std::vector<ObjectPtr> owned = ClaimObjects(w_, *pods, job, "batch/v1", "Job", *sel);
  const bool indexed = GetString(job, {"spec", "completionMode"}) == "Indexed";
  const json::value* completions_v = Find(job, {"spec", "completions"});
  const bool has_completions = completions_v != nullptr && !completions_v->is_null();
  const int64_t completions = has_completions ? std::max<int64_t>(0, GetInt(job, {"spec", "completions"}, 1)) : -1;
  const int64_t parallelism = std::max<int64_t>(0, GetInt(job, {"spec", "parallelism"}, 1));
  const int64_t backoff = GetInt(job, {"spec", "backoffLimit"}, 6);
  const bool suspended = GetBool(job, {"spec", "suspend"}, false);
  const bool deleting = IsDeleting(job);
  Counts counts = Count(owned, indexed, completions);
  // Counted pods may be garbage collected later: the counts never go down.
  counts.succeeded = std::max(counts.succeeded, GetInt(job, {"status", "succeeded"}, 0));
  counts.failed = std::max(counts.failed, GetInt(job, {"status", "failed"}, 0));

  std::string finish;  // "Complete" or "Failed"
  std::string reason, message;
  if (has_completions ? counts.succeeded >= completions
                      : counts.succeeded > 0 && counts.active.empty()) {
    finish = "Complete";
    reason = "CompletionsReached";
    message = "Reached expected number of succeeded pods";
  } else if (counts.failed > backoff) {
    finish = "Failed";
    reason = "BackoffLimitExceeded";
    message = "Job has reached the specified backoff limit";
  } else if (const int64_t ads = GetInt(job, {"spec", "activeDeadlineSeconds"}, -1); ads >= 0 && !suspended) {
    std::optional<int64_t> start = ParseTime(GetString(job, {"status", "startTime"}));
    if (start && *start + ads <= NowUnix()) {
      finish = "Failed";
      reason = "DeadlineExceeded";
      message = "Job was active longer than specified deadline";
    }
  }

  std::string failure;
  if (!finish.empty() || suspended) {
    DeletePods(*pods, counts.active);
    counts.terminating += static_cast<int64_t>(counts.active.size());
    counts.active.clear();
    counts.ready = 0;
  } else if (!deleting) {
    const int64_t active = static_cast<int64_t>(counts.active.size());
    int64_t want = parallelism;
    if (has_completions) want = std::min(parallelism, completions - counts.succeeded);
    else if (counts.succeeded > 0) want = 0;  // work queue: once one succeeded, no new pods
    want = std::max<int64_t>(0, want);
    if (active < want) {
      failure = CreatePods(*pods, job, std::min<int64_t>(want - active, 500), indexed, completions, counts);
      const std::string uid = MetaString(job, "uid");
      counts = Count(ListObjects(w_.store(), "pods", key.ns,
                                 [&](const StoredObject& o) { return IsControlledBy(o.object, uid); }),
                     indexed, completions);
      counts.succeeded = std::max(counts.succeeded, GetInt(job, {"status", "succeeded"}, 0));
      counts.failed = std::max(counts.failed, GetInt(job, {"status", "failed"}, 0));
    } else if (active > want) {
      // Parallelism went down: newest pods go first.
      std::vector<ObjectPtr> victims = counts.active;
      std::sort(victims.begin(), victims.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
        return MetaString(a->object, "creationTimestamp") > MetaString(b->object, "creationTimestamp");
      });
      victims.resize(static_cast<size_t>(active - want));
      DeletePods(*pods, victims);
    }
  }

  Status s = w_.Update(*self, key.ns, key.name, [&](json::value& obj) {
    const json::value* old = Find(obj, {"status"});
    json::object status = old != nullptr && old->is_object() ? old->as_object() : json::object();
    const std::string now = Now();
    json::array conds = GetArray(obj, {"status", "conditions"});
    auto cond = [&](const char* type, const char* st, const std::string& r, const std::string& m) {
      SetCondition(conds, json::object{{"type", type}, {"status", st}, {"lastProbeTime", now},
                                       {"lastTransitionTime", now}, {"reason", r}, {"message", m}});
    };
    if (suspended && finish.empty()) {
      cond("Suspended", "True", "JobSuspended", "Job suspended");
      status.erase("startTime");
    } else {
      if (const json::value* st = Find(obj, {"status"}); st && FindCondition(*st, "Suspended") != nullptr &&
                                                          ConditionTrue(obj, "Suspended")) {
        cond("Suspended", "False", "JobResumed", "Job resumed");
      }
      if (!status.contains("startTime")) status["startTime"] = now;
    }
    if (finish == "Complete") {
      cond("SuccessCriteriaMet", "True", reason, message);
      cond("Complete", "True", reason, message);
      if (!status.contains("completionTime")) status["completionTime"] = now;
    } else if (finish == "Failed") {
      cond("FailureTarget", "True", reason, message);
      cond("Failed", "True", reason, message);
    }
    if (!conds.empty()) status["conditions"] = std::move(conds);
    auto set_count = [&](const char* field, int64_t v) {
      if (v > 0) status[field] = v;
      else status.erase(field);
    };
    set_count("active", static_cast<int64_t>(counts.active.size()));
    set_count("succeeded", counts.succeeded);
    set_count("failed", counts.failed);
    status["ready"] = counts.ready;
    status["terminating"] = counts.terminating;
    status["uncountedTerminatedPods"] = json::object();
    if (indexed) {
      std::string done = FormatIndexes(counts.succeeded_indexes);
      if (!done.empty()) status["completedIndexes"] = done;
    }
    json::value next = std::move(status);
    if (old != nullptr && *old == next) return false;
    obj.as_object()["status"] = std::move(next);
    return true;
  }, "status");
  if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
    LB_LOG_DEBUG("kubesim: job {}/{}: status: {}", key.ns, key.name, s.ToString());
  }
  if (!failure.empty()) LB_LOG_DEBUG("kubesim: job {}/{}: {}", key.ns, key.name, failure);
}

}  // namespace

std::unique_ptr<Controller> NewJobController(const ControllerContext& ctx) {
  return std::make_unique<JobController>(ctx);
}

}  // namespace kubesim::workloads
