#include "src/kube/rate_limiter.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace lifeboat::kube {
namespace {

using std::chrono::milliseconds;

// Polls (in real time) for a condition set by another thread; fails the test after 10 s.
template <typename F>
void WaitUntil(F condition) {
  for (int i = 0; i < 10'000 && !condition(); ++i) std::this_thread::sleep_for(milliseconds(1));
  ASSERT_TRUE(condition());
}

TEST(RateLimiterTest, BurstThenPacedAtQps) {
  FakeClock clock;
  RateLimiter limiter(10, 3, clock);  // 3 at once, then one per 100 ms
  const Clock::TimePoint start = clock.Now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.Wait(CancellationToken()).ok());
  EXPECT_FALSE(limiter.TryAccept());

  std::atomic<int> done{0};
  std::thread waiter([&] {
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(limiter.Wait(CancellationToken()).ok());
      ++done;
    }
  });
  clock.WaitForSleepers(1);
  clock.Advance(milliseconds(99));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(done.load(), 0) << "released before 1/qps elapsed";
  clock.Advance(milliseconds(1));
  WaitUntil([&] { return done.load() == 1; });
  clock.WaitForSleepers(1);  // the second Wait now waits for its own slot
  clock.Advance(milliseconds(100));
  waiter.join();
  EXPECT_EQ(done.load(), 2);
  EXPECT_EQ(clock.Now() - start, milliseconds(200));
}

TEST(RateLimiterTest, RefillsUpToBurstOnly) {
  FakeClock clock;
  RateLimiter limiter(10, 2, clock);
  EXPECT_TRUE(limiter.TryAccept());
  EXPECT_TRUE(limiter.TryAccept());
  EXPECT_FALSE(limiter.TryAccept());
  clock.Advance(std::chrono::seconds(60));  // idle: the bucket fills to 2, not 600
  EXPECT_TRUE(limiter.TryAccept());
  EXPECT_TRUE(limiter.TryAccept());
  EXPECT_FALSE(limiter.TryAccept());
  clock.Advance(milliseconds(100));
  EXPECT_TRUE(limiter.TryAccept());
}

TEST(RateLimiterTest, ConcurrentWaitersAreSpacedEvenly) {
  FakeClock clock;
  RateLimiter limiter(100, 1, clock);  // one per 10 ms
  ASSERT_TRUE(limiter.TryAccept());
  std::atomic<int> released{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      ASSERT_TRUE(limiter.Wait(CancellationToken()).ok());
      ++released;
    });
  }
  clock.WaitForSleepers(4);
  // Every waiter reserved a distinct slot (10, 20, 30, 40 ms): each 10 ms frees exactly one.
  for (int step = 1; step <= 4; ++step) {
    clock.Advance(milliseconds(10));
    WaitUntil([&] { return released.load() == step; });
    std::this_thread::sleep_for(milliseconds(5));
    EXPECT_EQ(released.load(), step);
  }
  for (std::thread& t : threads) t.join();
}

TEST(RateLimiterTest, CancelWhileWaitingReturnsCancelledAndGivesBackTheSlot) {
  FakeClock clock;
  RateLimiter limiter(1, 1, clock);  // one per second
  ASSERT_TRUE(limiter.TryAccept());
  CancellationSource source;
  Status result;
  std::thread waiter([&] { result = limiter.Wait(source.token()); });
  clock.WaitForSleepers(1);
  source.Cancel("shutting down");
  waiter.join();
  EXPECT_EQ(result.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(result.message(), "shutting down");
  // The cancelled reservation was returned: after one second a token is there again.
  clock.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(limiter.TryAccept());
}

TEST(RateLimiterTest, AlreadyCancelledDoesNotTakeAToken) {
  FakeClock clock;
  RateLimiter limiter(1, 1, clock);
  CancellationSource source;
  source.Cancel();
  EXPECT_EQ(limiter.Wait(source.token()).code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(limiter.TryAccept());
}

TEST(RateLimiterTest, ZeroQpsIsUnlimited) {
  FakeClock clock;
  RateLimiter limiter(0, 1, clock);
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(limiter.Wait(CancellationToken()).ok());
  EXPECT_TRUE(limiter.TryAccept());
}

}  // namespace
}  // namespace lifeboat::kube
