#pragma once

// Time as code sees it: a Clock interface so that schedules, retries, TTLs and timeouts can be
// tested without sleeping. RealClock is the system's; FakeClock moves only when a test says so.
//
// Thread safety: every method of every Clock may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "lifeboat/common/cancellation.h"

namespace lifeboat {

class Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  using Duration = std::chrono::nanoseconds;

  virtual ~Clock() = default;
  // Wall-clock time (for timestamps, TTLs and cron schedules).
  virtual TimePoint Now() const = 0;
  // Waits until Now() >= `deadline` or `cancel` is cancelled. Returns false when cancelled.
  virtual bool SleepUntil(TimePoint deadline, const CancellationToken& cancel) = 0;
  bool SleepFor(Duration d, const CancellationToken& cancel) { return SleepUntil(Now() + d, cancel); }
};

// The process-wide real clock.
Clock& RealClock();

// A clock that stands still until Advance/Set. Sleepers wake when the time they wait for has
// been reached (or they are cancelled).
class FakeClock : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1'700'000'000)));
  TimePoint Now() const override;
  bool SleepUntil(TimePoint deadline, const CancellationToken& cancel) override;
  void Advance(Duration d);
  void Set(TimePoint t);
  // Blocks until `n` threads are sleeping on this clock (tests use it to advance time only
  // after the code under test has started waiting).
  void WaitForSleepers(int n);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  TimePoint now_;
  int sleepers_ = 0;
};

}  // namespace lifeboat
