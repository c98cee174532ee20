#include "src/kube/rate_limiter.h"

#include <algorithm>
#include <chrono>

namespace lifeboat::kube {

RateLimiter::RateLimiter(double qps, int burst, Clock& clock)
    : qps_(qps), burst_(std::max(burst, 1)), clock_(clock), tokens_(burst_), last_(clock.Now()) {}

void RateLimiter::RefillLocked(Clock::TimePoint now) {
  if (now <= last_) return;  // a wall clock that stepped back earns nothing
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min<double>(burst_, tokens_ + elapsed * qps_);
  last_ = now;
}

bool RateLimiter::TryAccept() {
  if (qps_ <= 0) return true;
  std::lock_guard lock(mu_);
  RefillLocked(clock_.Now());
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

Status RateLimiter::Wait(const CancellationToken& cancel) {
  if (cancel.IsCancelled()) return cancel.status();
  if (qps_ <= 0) return absl::OkStatus();
  Clock::TimePoint ready;
  {
    std::lock_guard lock(mu_);
    const Clock::TimePoint now = clock_.Now();
    RefillLocked(now);
    tokens_ -= 1;  // reserve our slot, even if it lies in the future
    if (tokens_ >= 0) return absl::OkStatus();
    ready = now + std::chrono::duration_cast<Clock::Duration>(
                      std::chrono::duration<double>(-tokens_ / qps_));
  }
  if (clock_.SleepUntil(ready, cancel)) return absl::OkStatus();
  {
    // Give the reservation back so that later callers are not delayed by ours.
    std::lock_guard lock(mu_);
    RefillLocked(clock_.Now());
    tokens_ = std::min<double>(burst_, tokens_ + 1);
  }
  Status status = cancel.status();
  return status.ok() ? absl::CancelledError("waiting for the client-side rate limiter") : status;
}

}  // namespace lifeboat::kube
