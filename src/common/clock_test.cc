#include "lifeboat/common/clock.h"

#include <thread>

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

using namespace std::chrono_literals;

TEST(CancellationTest, CancelWakesWaitersRunsCallbacksOnceAndKeepsTheFirstReason) {
  CancellationSource source;
  CancellationToken token = source.token();
  int calls = 0;
  token.OnCancel([&] { ++calls; });
  EXPECT_FALSE(token.IsCancelled());
  EXPECT_TRUE(token.status().ok());
  std::thread t([&] { source.Cancel("SIGTERM"); });
  EXPECT_TRUE(token.WaitFor(60s));
  t.join();
  source.Cancel("again");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(token.status().message(), "SIGTERM");
  // Registering after the fact runs at once.
  token.OnCancel([&] { ++calls; });
  EXPECT_EQ(calls, 2);
}

TEST(CancellationTest, DefaultTokenIsNeverCancelledAndUnregisteredCallbacksDoNotRun) {
  CancellationToken never;
  EXPECT_FALSE(never.IsCancelled());
  EXPECT_FALSE(never.WaitFor(1ms));
  CancellationSource source;
  int calls = 0;
  uint64_t id = source.token().OnCancel([&] { ++calls; });
  source.token().Unregister(id);
  source.Cancel();
  EXPECT_EQ(calls, 0);
}

TEST(CancellationTest, ChildFollowsParentButNotTheOtherWay) {
  CancellationSource parent;
  CancellationSource child = CancellationSource::ChildOf(parent.token());
  CancellationSource other_child = CancellationSource::ChildOf(parent.token());
  other_child.Cancel("only me");
  EXPECT_FALSE(parent.IsCancelled());
  parent.Cancel("shutdown");
  EXPECT_TRUE(child.IsCancelled());
  EXPECT_EQ(child.token().status().message(), "shutdown");
}

// A parent that is never cancelled is still freed with its children (the debug preset's
// LeakSanitizer fails this test if the parent's callback keeps the parent alive).
TEST(CancellationTest, ParentsThatAreNeverCancelledAreFreed) {
  CancellationSource parent;
  for (int i = 0; i < 3; ++i) {
    CancellationSource child = CancellationSource::ChildOf(parent.token());
    EXPECT_FALSE(child.IsCancelled());
  }
  EXPECT_FALSE(parent.IsCancelled());
}

TEST(FakeClockTest, SleepersWakeWhenTimeIsAdvancedPastTheirDeadline) {
  FakeClock clock;
  auto start = clock.Now();
  bool result = false;
  std::thread sleeper([&] { result = clock.SleepFor(10min, CancellationToken()); });
  clock.WaitForSleepers(1);
  clock.Advance(9min);
  EXPECT_EQ(clock.Now() - start, 9min);
  clock.Advance(1min);
  sleeper.join();
  EXPECT_TRUE(result);
}

TEST(FakeClockTest, CancellationEndsASleepEarly) {
  FakeClock clock;
  CancellationSource source;
  bool result = true;
  std::thread sleeper([&] { result = clock.SleepFor(1h, source.token()); });
  clock.WaitForSleepers(1);
  source.Cancel();
  sleeper.join();
  EXPECT_FALSE(result);
}

TEST(RealClockTest, SleepReturnsAtOnceWhenAlreadyCancelled) {
  CancellationSource source;
  source.Cancel();
  EXPECT_FALSE(RealClock().SleepFor(1h, source.token()));
  EXPECT_TRUE(RealClock().SleepFor(0s, CancellationToken()));
}

}  // namespace
}  // namespace lifeboat
