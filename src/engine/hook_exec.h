#pragma once

// Running a hook command in a pod, as both engines do (Velero's pkg/podexec): the command's
// parsing from an annotation, its formatting in logs, and the exec with its timeout and logged
// output.
//
// Thread safety: pure functions; ExecHookCommand may be called from several threads at once.

#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/api/duration.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/pod_exec.h"
#include "src/engine/velero_log.h"

namespace lifeboat::engine {

// Velero's parseStringToCommand: a value starting with '[' that parses as a JSON array of
// strings is the argv; anything else (including a malformed array) is one argument.
std::vector<std::string> ParseHookCommand(std::string_view value);
// Go's %v of a []string, as Velero logs a hook's command: "[a b c]".
std::string GoStringSlice(const std::vector<std::string>& v);
// Runs one hook command in `container` of the pod named by `fields` (ns, name) and logs its
// stdout and stderr (bounded) at info level on `log`. `timeout` bounds the whole exec (<= 0:
// 1 ms). OK only when the command exited 0; otherwise FailedPrecondition (`exec` is null),
// DeadlineExceeded ("timed out after <timeout>"), Internal ("command terminated with exit code
// N"), or the executor's error (Cancelled, NotFound, InvalidArgument for a pod that is not
// running, Unavailable, ...). All pointers are borrowed.
Status ExecHookCommand(kube::PodExecutor* exec, BackupLog* log, const LogFields& fields,
                       const std::string& container, const std::vector<std::string>& command,
                       api::Duration timeout, const CancellationToken& cancel);

}  // namespace lifeboat::engine
