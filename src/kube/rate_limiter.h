#pragma once

// A token bucket (client-go's flowcontrol.NewTokenBucketRateLimiter): `burst` requests may go
// at once, then one every 1/qps seconds. Waiters reserve their slot in arrival order, so a
// burst of callers is spread out evenly instead of all waking together.
//
// Thread safety: every method may be called from any number of threads.

#include <mutex>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"

namespace lifeboat::kube {

class RateLimiter {
 public:
  // qps <= 0: unlimited (Wait never blocks). burst < 1 is treated as 1. `clock` must outlive
  // the limiter. The bucket starts full.
  RateLimiter(double qps, int burst, Clock& clock);

  // Takes one token, waiting on the clock for it if needed. OK once taken; Cancelled (the
  // token's reason) if `cancel` fires first, in which case no token is consumed.
  Status Wait(const CancellationToken& cancel);
  // Takes a token only if one is available now.
  bool TryAccept();

  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  // Adds the tokens earned since the last refill. Requires mu_.
  void RefillLocked(Clock::TimePoint now);

  const double qps_;
  const int burst_;
  Clock& clock_;
  std::mutex mu_;
  double tokens_;  // may go negative: slots reserved by waiters
  Clock::TimePoint last_;
};

}  // namespace lifeboat::kube
