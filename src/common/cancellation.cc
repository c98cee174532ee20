#include "lifeboat/common/cancellation.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <vector>

namespace lifeboat {
namespace internal {

struct CancellationState {
  std::mutex mu;
  std::condition_variable cv;
  bool cancelled = false;
  std::string reason;
  uint64_t next_id = 1;
  std::map<uint64_t, std::function<void()>> callbacks;
};

}  // namespace internal

using internal::CancellationState;

CancellationToken::CancellationToken() = default;
CancellationToken::CancellationToken(std::shared_ptr<CancellationState> state) : state_(std::move(state)) {}

bool CancellationToken::IsCancelled() const {
  if (state_ == nullptr) return false;
  std::lock_guard lock(state_->mu);
  return state_->cancelled;
}

Status CancellationToken::status() const {
  if (state_ == nullptr) return absl::OkStatus();
  std::lock_guard lock(state_->mu);
  return state_->cancelled ? absl::CancelledError(state_->reason) : absl::OkStatus();
}

bool CancellationToken::WaitFor(std::chrono::nanoseconds timeout) const {
  if (state_ == nullptr) {
    // Never cancelled: just wait.
    std::mutex mu;
    std::condition_variable cv;
    std::unique_lock lock(mu);
    cv.wait_for(lock, timeout, [] { return false; });
    return false;
  }
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->cancelled; });
}

uint64_t CancellationToken::OnCancel(std::function<void()> fn) const {
  if (state_ == nullptr) return 0;
  {
    std::lock_guard lock(state_->mu);
    if (!state_->cancelled) {
      uint64_t id = state_->next_id++;
      state_->callbacks.emplace(id, std::move(fn));
      return id;
    }
  }
  fn();
  return 0;
}

void CancellationToken::Unregister(uint64_t id) const {
  if (state_ == nullptr || id == 0) return;
  std::lock_guard lock(state_->mu);
  state_->callbacks.erase(id);
}

CancellationSource::CancellationSource() : state_(std::make_shared<CancellationState>()) {}

CancellationToken CancellationSource::token() const { return CancellationToken(state_); }

void CancellationSource::Cancel(std::string reason) {
  std::map<uint64_t, std::function<void()>> callbacks;
  {
    std::lock_guard lock(state_->mu);
    if (state_->cancelled) return;
    state_->cancelled = true;
    state_->reason = std::move(reason);
    callbacks.swap(state_->callbacks);
  }
  state_->cv.notify_all();
  for (auto& [id, fn] : callbacks) fn();
}

bool CancellationSource::IsCancelled() const {
  std::lock_guard lock(state_->mu);
  return state_->cancelled;
}

CancellationSource CancellationSource::ChildOf(const CancellationToken& parent) {
  CancellationSource child;
  // The callback holds both states weakly: a finished child does not stay alive, and the
  // parent's callback must not own the parent's own state (a cycle: never freed unless the
  // parent is cancelled).
  std::weak_ptr<CancellationState> weak = child.state_;
  std::weak_ptr<CancellationState> weak_parent = parent.state_;
  parent.OnCancel([weak, weak_parent] {
    auto state = weak.lock();
    if (state == nullptr) return;
    std::string reason;
    if (auto p = weak_parent.lock()) {
      std::lock_guard lock(p->mu);
      reason = p->reason;
    }
    CancellationSource s;
    s.state_ = state;
    s.Cancel(std::move(reason));
  });
  return child;
}

}  // namespace lifeboat
