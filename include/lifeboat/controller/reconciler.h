#pragma once

// What every controller of `lifeboat server` implements: Reconcile brings one object (named in
// the server's namespace) to where its spec says it should be, and says when to look again.
// Reconcilers are thin: load the object, validate, call an engine, patch the status.
//
// Contract (controller-runtime's, reduced to names in one namespace):
//   - The object may be gone (deleted since it was queued): return OK, nothing to do.
//   - OK with requeue_after > 0: look again after that long (periodic work: BSL validation,
//     schedules, expiry), even when nothing changes.
//   - An error: the key is retried with exponential backoff (per key), and the error logged.
//   - Reconcile is never called for the same name from two threads at once; different names may
//     be reconciled concurrently (ControllerOptions::workers).
//   - `cancel` fires on shutdown or loss of leadership: return promptly, leaving the object in
//     a state the next leader can pick up (see docs/server.md, "Crash safety").

#include <chrono>
#include <string>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/status.h"

namespace lifeboat::controller {

struct Result {
  std::chrono::milliseconds requeue_after{0};  // 0: only when the object changes
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  virtual StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) = 0;
};

}  // namespace lifeboat::controller
