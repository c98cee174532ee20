#pragma once

// Internals of ExecService, exposed for its tests: the local child process runner and the
// pure helpers behind pods/log and the exec error channel.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/status.h"

namespace kubesim::exec_internal {

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH (from `env`) unless it has a '/'
  std::filesystem::path cwd;
  std::vector<std::string> env;  // "NAME=value"
  bool tty = false;              // one pseudo-terminal for stdin/stdout (stderr merged)
};

// How a process ended.
struct ExitResult {
  int exit_code = 0;  // 128+signal when killed by a signal
  int signal = 0;
  bool killed = false;  // we killed it (Cancel or the output sink gave up)
};

// Where the executable of `name` is: `name` itself if it contains '/', else the first
// executable regular file `dir/name` for dir in `path_env` (':'-separated; "" means cwd).
// NotFound (`exec: "foo": executable file not found in $PATH`) or PermissionDenied.
absl::StatusOr<std::string> ResolveExecutable(const std::string& name, const std::string& path_env,
                                              const std::filesystem::path& cwd);

// A child process with pipes (or a pty) for its standard streams. It runs in its own process
// group; the destructor SIGKILLs that group if the process has not been reaped and reaps it,
// so no zombie is left behind.
class Process {
 public:
  // NotFound / PermissionDenied when the executable cannot be found or run (exec failed).
  static absl::StatusOr<std::unique_ptr<Process>> Start(const ProcessOptions& options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  // Writes all of `data` to the child's stdin; blocks while the pipe is full (back pressure).
  // Thread-safe with Pump/Cancel. Fails once stdin is closed or the child stopped reading.
  absl::Status WriteStdin(std::string_view data);
  // Closes the child's stdin (EOF); with a tty, sends the terminal's EOF character instead.
  void CloseStdin();
  // Sets the terminal size (tty only).
  void Resize(uint16_t width, uint16_t height);

  // Copies the child's stdout (channel 1) and stderr (channel 2) to `sink` in chunks of at
  // most 32 KiB until both end, then waits for the child. If `sink` returns false or Cancel()
  // is called, the process group is killed. Call once, from one thread.
  ExitResult Pump(const std::function<bool(int channel, std::string_view data)>& sink);
  // Thread-safe: makes Pump kill the process group and return.
  void Cancel();

 private:
  Process() = default;
  bool Cancelled() const { return cancelled_.load(); }
  void KillGroup();
  ExitResult Reap(bool block);

  pid_t pid_ = -1;
  bool reaped_ = false;
  bool tty_ = false;
  int out_fd_ = -1;  // stdout (or the pty master)
  int err_fd_ = -1;
  int wake_r_ = -1, wake_w_ = -1;  // self-pipe: Cancel() wakes Pump
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> stdin_closed_{false};
  std::mutex stdin_mu_;
  int in_fd_ = -1;  // guarded by stdin_mu_ (for a tty: a dup of the master)
  ExitResult result_;
};

struct LogOptions {
  std::optional<int64_t> tail_lines;
  std::optional<int64_t> limit_bytes;
  std::optional<int64_t> since_unix;  // only lines at or after this time
  bool timestamps = false;
};

// Seconds since the epoch of an RFC 3339 time, or nullopt.
std::optional<int64_t> ParseRfc3339(std::string_view s);

// Applies the pods/log options to the content of a kubesim container log file, whose lines
// may start with an RFC 3339 timestamp ("2026-01-02T03:04:05Z message").
std::string FormatLog(std::string_view content, const LogOptions& options);

// The metav1.Status JSON kubelet sends on the v4/v5 error channel when a command ended with
// `exit_code` (0: Success).
std::string ExitStatusJson(const std::vector<std::string>& command, int exit_code);

}  // namespace kubesim::exec_internal
