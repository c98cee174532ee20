// RestoreExecHooks (Velero's wait_exec_hook_handler): a small pool of workers takes pods whose
// hooks are due, looks at each once (a GET), runs the hooks of the containers that are up, and
// puts the pod back to be looked at again after the poll interval until every hook ran or the
// pod's wait ended. Pods without hooks never enter the pool.

#include <algorithm>
#include <string>
#include <utility>

#include "lifeboat/api/duration.h"
#include "lifeboat/kube/object.h"
#include "src/engine/hook_exec.h"
#include "src/restore/hooks.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;

const kube::GroupVersionResource kPods{"", "v1", "pods"};
// Velero's default exec timeout (pkg/podexec).
constexpr api::Duration kDefaultExecTimeout = std::chrono::seconds(30);

std::string StringAt(const json::value& v, std::string_view key) {
  const json::value* f = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  return f != nullptr && f->is_string() ? std::string(f->get_string()) : std::string();
}

const json::value* ObjectAt(const json::value& v, std::string_view key) {
  const json::value* f = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  return f != nullptr && f->is_object() ? f : nullptr;
}

// Velero's isContainerUp: the container's status says running (or ready, when asked).
bool ContainerUp(const json::value& pod, const std::string& container, bool wait_for_ready) {
  const json::value* status = ObjectAt(pod, "status");
  const json::value* list =
      status != nullptr ? status->get_object().if_contains("containerStatuses") : nullptr;
  if (list == nullptr || !list->is_array()) return false;
  for (const json::value& cs : list->get_array()) {
    if (StringAt(cs, "name") != container) continue;
    if (wait_for_ready) {
      const json::value* ready = cs.get_object().if_contains("ready");
      return ready != nullptr && ready->is_bool() && ready->get_bool();
    }
    const json::value* state = ObjectAt(cs, "state");
    return state != nullptr && ObjectAt(*state, "running") != nullptr;
  }
  return false;
}

bool HasContainer(const json::value& pod, const std::string& name) {
  const json::value* spec = ObjectAt(pod, "spec");
  const json::value* list = spec != nullptr ? spec->get_object().if_contains("containers") : nullptr;
  if (list == nullptr || !list->is_array()) return false;
  return std::any_of(list->get_array().begin(), list->get_array().end(),
                     [&](const json::value& c) { return StringAt(c, "name") == name; });
}

std::string_view Message(const Status& s) { return {s.message().data(), s.message().size()}; }

}  // namespace

struct RestoreExecHooks::PodWork {
  engine::LogFields fields;
  // One container's hooks, in spec order; `next` is the first that has not run.
  struct Group {
    std::string container;
    std::vector<PlannedExecHook> hooks;
    size_t next = 0;
    bool wait_for_ready = false;
  };
  std::vector<Group> groups;
  Clock::TimePoint start, deadline, next_check;
  std::string last_error;  // the last failure to read the pod, for the give-up message
};

RestoreExecHooks::RestoreExecHooks(const api::Restore* restore, kube::DynamicClient* client,
                                   kube::PodExecutor* exec, engine::RestoreLog* log, Clock* clock,
                                   CancellationToken cancel, std::chrono::nanoseconds default_wait,
                                   RestoreExecHooksOptions options)
    : restore_(restore),
      selectors_(restore != nullptr ? &restore->spec : nullptr),
      client_(client),
      exec_(exec),
      log_(log),
      clock_(clock),
      cancel_(CancellationSource::ChildOf(cancel)),
      parent_cancel_(std::move(cancel)),
      default_wait_(default_wait),
      options_(options) {
  options_.workers = std::max(1, options_.workers);
  if (options_.poll_interval.count() <= 0) options_.poll_interval = std::chrono::milliseconds(1);
  cancel_callback_ = cancel_.token().OnCancel([this] { work_cv_.notify_all(); });
}

RestoreExecHooks::~RestoreExecHooks() {
  cancel_.Cancel("restore hooks stopped");
  Wait();
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  cancel_.token().Unregister(cancel_callback_);
}

int64_t RestoreExecHooks::attempted() const {
  std::lock_guard<std::mutex> lk(mu_);
  return attempted_;
}

int64_t RestoreExecHooks::failed() const {
  std::lock_guard<std::mutex> lk(mu_);
  return failed_;
}

void RestoreExecHooks::PodRestored(const json::value& created_pod) {
  if (!created_pod.is_object()) return;
  engine::LogFields fields{"pods", std::string(kube::ObjectNamespace(created_pod)),
                           std::string(kube::ObjectName(created_pod))};
  std::vector<PlannedExecHook> plan = PlanExecHooks(selectors_, created_pod, log_, fields);
  if (plan.empty()) return;
  auto pod = std::make_shared<PodWork>();
  pod->fields = fields;
  bool wait_forever = false;
  api::Duration max_wait(0);
  for (PlannedExecHook& h : plan) {
    const std::string container = h.hook.container;
    if (!HasContainer(created_pod, container)) {
      log_->Warn("Pod " + fields.ns + "/" + fields.name + " does not have container " + container +
                     ": discarding post-restore exec hooks",
                 fields);
      continue;
    }
    wait_forever = wait_forever || h.hook.wait_timeout.count() <= 0;
    max_wait = std::max(max_wait, h.hook.wait_timeout);
    auto g = std::find_if(pod->groups.begin(), pod->groups.end(),
                          [&](const PodWork::Group& x) { return x.container == container; });
    if (g == pod->groups.end()) g = pod->groups.insert(g, PodWork::Group{container, {}, 0, false});
    g->wait_for_ready = g->wait_for_ready || h.hook.wait_for_ready.value_or(false);
    g->hooks.push_back(std::move(h));
  }
  if (pod->groups.empty()) return;
  pod->start = clock_->Now();
  pod->deadline = pod->start + std::chrono::duration_cast<Clock::Duration>(
                                   wait_forever ? default_wait_ : max_wait);
  std::lock_guard<std::mutex> lk(mu_);
  for (const PodWork::Group& g : pod->groups) attempted_ += static_cast<int64_t>(g.hooks.size());
  fresh_.push_back(std::move(pod));
  if (workers_.empty()) {
    for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Worker(); });
  }
  work_cv_.notify_one();
}

void RestoreExecHooks::Wait() {
  std::unique_lock<std::mutex> lk(mu_);
  idle_cv_.wait(lk, [this] { return fresh_.empty() && waiting_.empty() && in_flight_ == 0; });
}

void RestoreExecHooks::Worker() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    PodPtr pod;
    if (!fresh_.empty()) {
      pod = std::move(fresh_.front());
      fresh_.pop_front();
    } else if (!waiting_.empty() &&
               (cancel_.IsCancelled() || waiting_.front()->next_check <= clock_->Now())) {
      pod = std::move(waiting_.front());
      waiting_.pop_front();
    }
    if (pod == nullptr) {
      work_cv_.wait_for(lk, options_.poll_interval);
      continue;
    }
    ++in_flight_;
    lk.unlock();
    const bool done = Process(*pod);
    lk.lock();
    --in_flight_;
    if (!done) {
      pod->next_check = clock_->Now() + options_.poll_interval;
      waiting_.push_back(std::move(pod));
    }
    idle_cv_.notify_all();
  }
}

bool RestoreExecHooks::Process(PodWork& pod) {
  if (cancel_.IsCancelled()) {
    GiveUp(pod, "context canceled");
    return true;
  }
  StatusOr<json::value> got = client_->Get(kPods, pod.fields.ns, pod.fields.name);
  if (!got.ok() && absl::IsNotFound(got.status())) {
    GiveUp(pod, "pod deleted before all hooks were executed");
    return true;
  }
  if (!got.ok()) {
    pod.last_error = std::string(Message(got.status()));
  } else {
    const std::string phase = StringAt(ObjectAt(*got, "status") ? *ObjectAt(*got, "status")
                                                                  : json::value(),
                                       "phase");
    if (phase == "Succeeded" || phase == "Failed") {
      log_->Warn("pod entered phase " + phase + " before some post-restore exec hooks ran",
                 pod.fields);
      GiveUp(pod, "pod entered phase " + phase);
      return true;
    }
    bool all_done = true;
    for (size_t g = 0; g < pod.groups.size(); ++g) {
      PodWork::Group& group = pod.groups[g];
      if (group.next < group.hooks.size() &&
          ContainerUp(*got, group.container, group.wait_for_ready)) {
        if (!RunContainer(pod, g)) {
          GiveUp(pod, "a hook with onError Fail failed");
          return true;
        }
      }
      all_done = all_done && group.next >= group.hooks.size();
    }
    if (all_done) return true;
    if (cancel_.IsCancelled()) {
      GiveUp(pod, "context canceled");
      return true;
    }
  }
  if (clock_->Now() >= pod.deadline) {
    GiveUp(pod, pod.last_error.empty() ? "context deadline exceeded"
                                       : "context deadline exceeded (last error: " +
                                             pod.last_error + ")");
    return true;
  }
  return false;
}

bool RestoreExecHooks::RunContainer(PodWork& pod, size_t g) {
  PodWork::Group& group = pod.groups[g];
  while (group.next < group.hooks.size()) {
    if (cancel_.IsCancelled()) return true;  // the caller gives up on the rest
    const PlannedExecHook& h = group.hooks[group.next++];
    const bool fail_mode = h.hook.on_error == api::HookErrorMode::kFail;
    if (h.hook.wait_timeout.count() > 0 && clock_->Now() - pod.start > h.hook.wait_timeout) {
      Fail(pod, "hook " + h.name + " in container " + group.container + " expired before executing",
           absl::DeadlineExceededError("wait timeout " + api::FormatGoDuration(h.hook.wait_timeout) +
                                       " passed"));
      if (fail_mode) return false;
      continue;
    }
    const api::Duration timeout =
        h.hook.exec_timeout.count() > 0 ? h.hook.exec_timeout : kDefaultExecTimeout;
    log_->Info("running exec hook hookName=" + h.name + " hookContainer=" + group.container +
                   " hookCommand=" + engine::GoStringSlice(h.hook.command) + " hookOnError=" +
                   std::string(api::ToString(fail_mode ? api::HookErrorMode::kFail
                                                       : api::HookErrorMode::kContinue)) +
                   " hookTimeout=" + api::FormatGoDuration(timeout) +
                   " hookPhase=post hookSource=" + std::string(h.source) + " hookType=exec",
               pod.fields);
    Status st = h.hook.command.empty()
                    ? absl::InvalidArgumentError("command is required")
                    : engine::ExecHookCommand(exec_, log_, pod.fields, group.container,
                                              h.hook.command, timeout, cancel_.token());
    if (st.ok()) continue;
    Fail(pod, "hook " + h.name + " in container " + group.container + " failed to execute", st);
    if (fail_mode) return false;
  }
  return true;
}

void RestoreExecHooks::GiveUp(PodWork& pod, const std::string& why) {
  for (PodWork::Group& group : pod.groups) {
    for (; group.next < group.hooks.size(); ++group.next) {
      const PlannedExecHook& h = group.hooks[group.next];
      Fail(pod,
           "hook " + h.name + " in container " + group.container + " in pod " + pod.fields.ns +
               "/" + pod.fields.name + " not executed",
           absl::AbortedError(why));
    }
  }
}

void RestoreExecHooks::Fail(PodWork& pod, const std::string& msg, const Status& error) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++failed_;
  }
  log_->Error(msg, pod.fields, error);
}

}  // namespace lifeboat::restore
