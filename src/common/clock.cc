#include "lifeboat/common/clock.h"

#include <thread>

namespace lifeboat {
namespace {

class SystemClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  bool SleepUntil(TimePoint deadline, const CancellationToken& cancel) override {
    while (true) {
      if (cancel.IsCancelled()) return false;
      TimePoint now = Now();
      if (now >= deadline) return true;
      // Wake at least once a second so a changed wall clock is noticed.
      auto wait = std::min<Duration>(deadline - now, std::chrono::seconds(1));
      if (cancel.WaitFor(wait)) return false;
    }
  }
};

}  // namespace

Clock& RealClock() {
  static SystemClock* clock = new SystemClock();
  return *clock;
}

FakeClock::FakeClock(TimePoint start) : now_(start) {}

Clock::TimePoint FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return now_;
}

bool FakeClock::SleepUntil(TimePoint deadline, const CancellationToken& cancel) {
  uint64_t id = cancel.OnCancel([this] {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  });
  {
    std::unique_lock lock(mu_);
    ++sleepers_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return now_ >= deadline || cancel.IsCancelled(); });
    --sleepers_;
  }
  cancel.Unregister(id);
  return !cancel.IsCancelled();
}

void FakeClock::Advance(Duration d) {
  std::lock_guard lock(mu_);
  now_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  cv_.notify_all();
}

void FakeClock::Set(TimePoint t) {
  std::lock_guard lock(mu_);
  now_ = t;
  cv_.notify_all();
}

void FakeClock::WaitForSleepers(int n) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return sleepers_ >= n; });
}

}  // namespace lifeboat
