#pragma once

// Restore hooks (Velero §6.7 `velero.io/init-restore-hook`, §6.8; docs/restore-hooks.md):
//  - InitRestoreHookAction: the RestoreItemAction that adds init containers to restored pods,
//    from the pod's init.hook.restore.velero.io/* annotations or, when it has none, from the
//    `init` hooks of every matching spec.hooks.resources entry.
//  - RestoreExecHooks: runs the exec hooks of restored pods (post.hook.restore.velero.io/*
//    annotations, else the `exec` hooks of matching spec entries) once their container runs.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/restore.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/pod_exec.h"
#include "lifeboat/plugin/restore_item_action.h"
#include "src/engine/velero_log.h"
#include "src/restore/hook_plan.h"

namespace lifeboat::restore {

// "velero.io/init-restore-hook", for pods. Init containers come from the annotations
// init.hook.restore.velero.io/container-image (required for the annotation form), /container-name
// (default "velero-restore-init-<8 random hex>") and /command (Velero's command parsing; empty:
// the image's entrypoint), or else from the `init` hooks of every spec.hooks.resources entry
// that matches the pod's labels and its TARGET namespace (spec.namespaceMapping applied), in
// spec order. They go after a leading `restore-wait` init container and before the pod's own.
// Errors: InvalidArgument for a spec init container that is not a JSON object with a name, an
// image and a non-empty command (Velero's ValidateContainer), or a pod without a usable spec.
// Thread safety: Execute may be called from several threads at once.
class InitRestoreHookAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/init-restore-hook"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(
      plugin::RestoreItemActionInput input) override;
};

struct RestoreExecHooksOptions {
  // Pods whose hooks are checked or run at once: the bound on threads and concurrent execs.
  int workers = 8;
  // How often a pod whose container is not up yet is looked at again.
  std::chrono::milliseconds poll_interval{250};
};

// The exec hooks of one restore. The engine calls PodRestored for every pod it created and
// Wait() before it finishes; attempted()/failed() then fill status.hookStatus (Velero's hook
// tracker: every planned hook is attempted; a hook that failed, expired, or never ran because
// its pod gave up counts as failed).
//
// For each pod (Velero's wait_exec_hook_handler): hooks are grouped by container (default: the
// pod's first container; a container the pod does not have drops its hooks with a warning). A
// container's hooks run one after another, in spec order, once the container is running (ready,
// when any of its hooks has waitForReady); no two hooks of a pod run at once. The pod is waited
// for up to the largest waitTimeout of its hooks, or `default_wait` (counted from PodRestored)
// when any hook has none; a hook whose own waitTimeout passed before its turn fails unexecuted.
// Each exec is bounded by execTimeout (default 30 s). onError Fail stops that pod's remaining
// hooks (they fail as not executed); Continue (the default) goes on. A pod deleted or finished
// (Succeeded/Failed) before its hooks ran fails them. Every failure is logged at error level
// against the pod (LogFields{"pods", ns, name}), so it lands in the restore's results; hook
// runs and outputs are logged at info level.
//
// Thread safety: PodRestored may be called from several threads at once; Wait from one.
class RestoreExecHooks {
 public:
  // All pointers are borrowed and must outlive this object. `exec` may be null: every hook then
  // fails with a clear error. Cancelling `cancel` ends waits and running execs promptly (their
  // hooks fail as not executed). `clock` measures waits and timeouts.
  RestoreExecHooks(const api::Restore* restore, kube::DynamicClient* client,
                   kube::PodExecutor* exec, engine::RestoreLog* log, Clock* clock,
                   CancellationToken cancel, std::chrono::nanoseconds default_wait,
                   RestoreExecHooksOptions options = {});
  // Cancels what is still waiting or running and joins the workers.
  ~RestoreExecHooks();
  RestoreExecHooks(const RestoreExecHooks&) = delete;
  RestoreExecHooks& operator=(const RestoreExecHooks&) = delete;

  // `created_pod`: the pod as the API server returned it (TARGET namespace). Plans its hooks
  // and returns at once; a pod without hooks costs nothing more. Work starts in the background.
  void PodRestored(const boost::json::value& created_pod);
  // Blocks until every hook handed in so far ran or gave up.
  void Wait();

  int64_t attempted() const;
  int64_t failed() const;

 private:
  struct PodWork;
  using PodPtr = std::shared_ptr<PodWork>;

  void Worker();
  // Looks at the pod once; runs the hooks of containers that are up. Returns true when the pod
  // is done (all hooks ran or failed).
  bool Process(PodWork& pod);
  // Runs one container's remaining hooks; false when an onError Fail hook failed.
  bool RunContainer(PodWork& pod, size_t group);
  // Fails every hook of `pod` that has not run, with `why` (Velero: "not executed: <why>").
  void GiveUp(PodWork& pod, const std::string& why);
  void Fail(PodWork& pod, const std::string& msg, const Status& error);

  const api::Restore* restore_;
  HookSelectors selectors_;
  kube::DynamicClient* client_;
  kube::PodExecutor* exec_;
  engine::RestoreLog* log_;
  Clock* clock_;
  CancellationSource cancel_;
  uint64_t cancel_callback_ = 0;
  CancellationToken parent_cancel_;
  std::chrono::nanoseconds default_wait_;
  RestoreExecHooksOptions options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a pod to look at, or stop
  std::condition_variable idle_cv_;  // a pod finished
  std::deque<PodPtr> fresh_;         // not looked at yet
  std::deque<PodPtr> waiting_;       // by next check time
  int64_t in_flight_ = 0;            // pods taken by workers
  bool stop_ = false;
  std::vector<std::thread> workers_;
  int64_t attempted_ = 0, failed_ = 0;
};

}  // namespace lifeboat::restore
