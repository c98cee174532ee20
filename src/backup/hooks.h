#pragma once

// Backup hooks (Velero §5.8): exec commands in a pod's containers before it is backed up (pre)
// and after (post), from the pod's annotations (pre.hook.backup.velero.io/container, /command,
// /on-error, /timeout, the post. equivalents, and the un-prefixed hook.backup.velero.io/* set
// read as a pre hook when no pre. one exists) or, when the pod has none, from every
// spec.hooks.resources entry whose namespaces, resources and label selector match the pod.
// Defaults: the pod's first container, onError Fail, timeout 30 s. Pods in phase Succeeded or
// Failed are skipped. A failed hook is logged at error level (the backup ends PartiallyFailed);
// with onError Fail the pod's remaining hooks are not run and, for a pre hook, the pod is left
// out of the backup.
//
// Thread safety: Run may be called from several threads at once (for different
// pods).

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/duration.h"
#include "lifeboat/api/filters.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/kube/pod_exec.h"
#include "src/backup/backup_log.h"
#include "src/engine/hook_exec.h"

namespace lifeboat::backup {

using engine::ExecHookCommand;
using engine::GoStringSlice;
using engine::ParseHookCommand;

enum class HookPhase { kPre, kPost };

// --- Shared with the restore hooks (src/restore/hooks.cc). Thread-safe (pure, or borrowing
// thread-safe objects).

class HookRunner {
 public:
  // `exec` may be null: every hook then fails with a clear error. All pointers are borrowed.
  HookRunner(const api::BackupSpec* spec, kube::PodExecutor* exec, BackupLog* log,
             CancellationToken cancel);

  // Runs the pod's hooks of `phase`. Returns false when a hook failed with onError Fail (for a
  // pre hook: leave the pod out of the backup and do not run its post hooks). Then `failure`
  // (optional) receives which hook failed and why: `hook "<name>" (<source>): <error>`.
  bool Run(HookPhase phase, const boost::json::value& pod, std::string* failure = nullptr);

  int64_t attempted() const { return attempted_.load(); }
  int64_t failed() const { return failed_.load(); }
  // The counts of the hooks run before a checkpoint, when a backup resumes from it.
  void RestoreCounts(int64_t attempted, int64_t failed) {
    attempted_ = attempted;
    failed_ = failed;
  }

 private:
  // One hook to run and where it came from: Velero's hookName (the spec entry's name or
  // "<from-annotation>") and hookSource ("annotation" or "backupSpec").
  struct Planned {
    std::string name;
    std::string_view source;
    api::ExecHook exec;
  };
  // The hook the annotations with `prefix` ("pre.", "post." or "") define, if any.
  std::optional<api::ExecHook> FromAnnotations(
      const std::map<std::string, std::string>& annotations, std::string_view prefix,
      const LogFields& fields);
  std::vector<Planned> Plan(HookPhase phase, const boost::json::value& pod,
                            const LogFields& fields);
  // Runs one hook (filling in its defaults); OK only when the command exited 0.
  Status Execute(HookPhase phase, const boost::json::value& pod, const LogFields& fields,
                 Planned& hook);

  // Per spec.hooks.resources entry (same index): its namespace and resource filters.
  struct Selector {
    api::IncludesExcludes namespaces;
    api::IncludesExcludes resources;
  };

  const api::BackupSpec* spec_;
  std::vector<Selector> selectors_;
  kube::PodExecutor* exec_;
  BackupLog* log_;
  CancellationToken cancel_;
  std::atomic<int64_t> attempted_{0};
  std::atomic<int64_t> failed_{0};
};

}  // namespace lifeboat::backup
