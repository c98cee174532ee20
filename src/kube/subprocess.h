#pragma once

// Running a short-lived helper program (exec credential plugins) with bounded output and a
// timeout. Private to the kube module.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "lifeboat/common/status.h"

namespace lifeboat::kube {

struct SubprocessRequest {
  std::string path;               // an executable path (already resolved)
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value", the complete environment
  std::chrono::milliseconds timeout{60'000};
  size_t max_stdout = 1 << 20;
  size_t max_stderr = 64 << 10;
};

struct SubprocessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  bool stdout_truncated = false;  // more than max_stdout was written (the process was killed)
  std::string stdout_data;
  std::string stderr_data;  // at most max_stderr bytes, the rest discarded
};

// Spawns (posix_spawn, stdin /dev/null), collects output, waits. Internal error only when the
// process cannot be started (NotFound / PermissionDenied for ENOENT / EACCES).
StatusOr<SubprocessResult> RunSubprocess(const SubprocessRequest& request);

// The executable `name` resolves to: itself when it contains a slash, otherwise the first
// executable match in `path_env` (PATH syntax). nullopt when there is none.
std::optional<std::string> LookPath(const std::string& name, const std::string& path_env);

}  // namespace lifeboat::kube
