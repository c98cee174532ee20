#pragma once

// Runs a command in a container of a pod, as `kubectl exec` does: a WebSocket to the pod's
// `exec` subresource speaking the remotecommand channel protocol (v5.channel.k8s.io, falling
// back to v4.channel.k8s.io). Backup and restore hooks use it.
//
// Thread safety: a PodExecutor may run any number of Exec calls at once, from any threads.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/credentials.h"

namespace lifeboat::kube {

struct ExecOptions {
  std::string ns = "default";
  std::string pod;
  std::string container;  // empty: the server picks (default-container annotation, then first)
  std::vector<std::string> command;  // argv; not run through a shell
  // Sent on stdin, which is then closed (v5). Under v4 stdin cannot be closed: a command that
  // reads to end of input then runs until the timeout.
  std::optional<std::string> stdin_data;
  // The whole exec: connect, TLS, upgrade, the command's run. Zero: no limit (Velero's hook
  // default is 30 s). On expiry the connection is closed, which makes the server kill the command.
  std::chrono::milliseconds timeout{30'000};
  CancellationToken cancel;
  // Each of stdout and stderr keeps at most this many bytes; the rest is read and dropped
  // (ExecResult::truncated).
  size_t max_output_bytes = 16 << 20;
};

struct ExecResult {
  int exit_code = 0;  // the command's exit status (a non-zero exit is not an error)
  std::string stdout_data;
  std::string stderr_data;
  bool truncated = false;  // stdout or stderr exceeded max_output_bytes
  std::string protocol;    // the negotiated subprotocol, e.g. "v5.channel.k8s.io"
};

class PodExecutor {
 public:
  // InvalidArgument for a server URL that is not http(s)://host[:port][/prefix], a proxy URL
  // other than http://, or unusable TLS material (malformed CA PEM).
  static StatusOr<std::unique_ptr<PodExecutor>> Create(
      const RestConfig& config, std::shared_ptr<CredentialProvider> credentials);
  ~PodExecutor();

  // Runs options.command and waits for it to end. OK with any exit code. Errors:
  //   InvalidArgument  empty pod/command, unknown container, a pod that is not running (the
  //                    server's message), or another 400 answer to the upgrade
  //   NotFound         no such pod or namespace (server's message)
  //   Unauthenticated  401 even after re-fetching the credential once; PermissionDenied on 403
  //   DeadlineExceeded options.timeout passed (the connection is closed: the server kills the
  //                    command); Cancelled: options.cancel fired (likewise)
  //   FailedPrecondition TLS verification failed (names the host and OpenSSL's reason)
  //   Unavailable      DNS, connect, TLS handshake, proxy failures, 429/5xx answers, a
  //                    connection that ended before the command's exit status arrived
  //   Internal         the server reported a failure that is not an exit code
  // Messages never contain credentials.
  StatusOr<ExecResult> Exec(const ExecOptions& options);

 private:
  struct Impl;
  explicit PodExecutor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::kube
