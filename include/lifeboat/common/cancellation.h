#pragma once

// Cooperative cancellation (SIGTERM, a deleted Backup, a timeout): a CancellationSource owns the
// state, CancellationTokens are cheap copies handed to work that should stop when asked. Work
// checks IsCancelled() between steps or waits with WaitFor(), which returns early on cancel.
//
// Thread safety: all methods may be called concurrently. Callbacks run on the thread that calls
// Cancel() (or at once, on the registering thread, if already cancelled); they must not block.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "lifeboat/common/status.h"

namespace lifeboat {

namespace internal {
struct CancellationState;
}  // namespace internal

class CancellationToken {
 public:
  // A token that is never cancelled.
  CancellationToken();
  bool IsCancelled() const;
  // Cancelled (with the reason given to Cancel) or OK.
  Status status() const;
  // Waits up to `timeout`; returns true if cancelled by then.
  bool WaitFor(std::chrono::nanoseconds timeout) const;
  // Runs `fn` once when cancelled. Returns an id for Unregister.
  uint64_t OnCancel(std::function<void()> fn) const;
  void Unregister(uint64_t id) const;

 private:
  friend class CancellationSource;
  explicit CancellationToken(std::shared_ptr<internal::CancellationState> state);
  std::shared_ptr<internal::CancellationState> state_;
};

class CancellationSource {
 public:
  CancellationSource();
  CancellationToken token() const;
  // Idempotent: the first reason wins. Wakes waiters and runs callbacks.
  void Cancel(std::string reason = "cancelled");
  bool IsCancelled() const;
  // A source that is cancelled when `parent` is (and can also be cancelled on its own).
  static CancellationSource ChildOf(const CancellationToken& parent);

 private:
  std::shared_ptr<internal::CancellationState> state_;
};

}  // namespace lifeboat
