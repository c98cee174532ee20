#include "lifeboat/controller/work_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace lifeboat::controller {
namespace {

using namespace std::chrono_literals;
using ::testing::Optional;

// Get with a generous real-time deadline, so that a bug fails the test instead of hanging it.
std::optional<std::string> GetWithin(WorkQueue& q, std::chrono::seconds limit = 20s) {
  CancellationSource timeout, finished;
  std::thread timer([&] {
    if (!finished.token().WaitFor(limit)) timeout.Cancel("timed out");
  });
  auto key = q.Get(timeout.token());
  finished.Cancel();
  timer.join();
  return key;
}

class WorkQueueTest : public ::testing::Test {
 protected:
  WorkQueueOptions Options() {
    WorkQueueOptions o;
    o.clock = &clock_;
    o.base_backoff = 1s;
    o.max_backoff = 8s;
    return o;
  }
  FakeClock clock_;
};

TEST_F(WorkQueueTest, AddDeduplicatesAndKeepsOrder) {
  WorkQueue q(Options());
  q.Add("a");
  q.Add("b");
  q.Add("a");
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_THAT(GetWithin(q), Optional(std::string("a")));
  EXPECT_THAT(GetWithin(q), Optional(std::string("b")));
  EXPECT_EQ(q.Len(), 0u);
}

TEST_F(WorkQueueTest, KeyAddedWhileProcessingIsQueuedAgainOnDone) {
  WorkQueue q(Options());
  q.Add("a");
  ASSERT_THAT(GetWithin(q), Optional(std::string("a")));
  q.Add("a");
  q.Add("a");
  EXPECT_EQ(q.Len(), 0u) << "a key being processed must not be handed to a second worker";
  q.Done("a");
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_THAT(GetWithin(q), Optional(std::string("a")));
  q.Done("a");
  EXPECT_EQ(q.Len(), 0u) << "done without a new add: not queued again";
}

TEST_F(WorkQueueTest, AddAfterWaitsForTheClock) {
  WorkQueue q(Options());
  q.AddAfter("a", 10s);
  EXPECT_EQ(q.Len(), 0u);
  clock_.WaitForSleepers(1);  // the delay thread waits for the fake time
  clock_.Advance(9s);
  EXPECT_EQ(q.Len(), 0u);
  clock_.Advance(1s);
  EXPECT_THAT(GetWithin(q), Optional(std::string("a")));
}

TEST_F(WorkQueueTest, AddAfterZeroAddsAtOnce) {
  WorkQueue q(Options());
  q.AddAfter("a", 0s);
  EXPECT_EQ(q.Len(), 1u);
}

TEST_F(WorkQueueTest, EarlierTimeWins) {
  WorkQueue q(Options());
  q.AddAfter("late-first", 10s);
  clock_.WaitForSleepers(1);
  q.AddAfter("late-first", 2s);  // earlier: replaces
  q.AddAfter("early-first", 2s);
  q.AddAfter("early-first", 10s);  // later: ignored
  clock_.Advance(2s);
  auto first = GetWithin(q);
  auto second = GetWithin(q);
  ASSERT_TRUE(first && second);
  EXPECT_THAT((std::set<std::string>{*first, *second}),
              (std::set<std::string>{"late-first", "early-first"}));
}

TEST_F(WorkQueueTest, DelayedKeysComeOutInTimeOrder) {
  WorkQueue q(Options());
  q.AddAfter("c", 30s);
  q.AddAfter("a", 10s);
  q.AddAfter("b", 20s);
  clock_.Advance(30s);
  EXPECT_THAT(GetWithin(q), Optional(std::string("a")));
  EXPECT_THAT(GetWithin(q), Optional(std::string("b")));
  EXPECT_THAT(GetWithin(q), Optional(std::string("c")));
}

TEST_F(WorkQueueTest, DelayedKeyAlreadyQueuedIsNotDuplicated) {
  WorkQueue q(Options());
  q.Add("a");
  q.AddAfter("a", 1s);
  clock_.Advance(1s);
  ASSERT_THAT(GetWithin(q), Optional(std::string("a")));
  // The delayed add fell on a key that was queued (dirty): nothing more to hand out.
  q.Add("marker");
  EXPECT_THAT(GetWithin(q), Optional(std::string("marker")));
}

TEST_F(WorkQueueTest, RateLimitedBacksOffExponentiallyUpToTheCap) {
  WorkQueue q(Options());
  const std::chrono::seconds expected[] = {1s, 2s, 4s, 8s, 8s};
  for (int i = 0; i < 5; ++i) {
    q.AddRateLimited("a");
    EXPECT_EQ(q.NumRequeues("a"), i + 1);
    clock_.WaitForSleepers(1);
    clock_.Advance(expected[i] - 1ms);
    EXPECT_EQ(q.Len(), 0u) << "attempt " << i << " came out before its backoff";
    clock_.Advance(1ms);
    ASSERT_THAT(GetWithin(q), Optional(std::string("a"))) << "attempt " << i;
    q.Done("a");
  }
}

TEST_F(WorkQueueTest, ForgetResetsTheBackoff) {
  WorkQueue q(Options());
  q.AddRateLimited("a");
  q.AddRateLimited("a");
  q.AddRateLimited("b");
  EXPECT_EQ(q.NumRequeues("a"), 2);
  q.Forget("a");
  EXPECT_EQ(q.NumRequeues("a"), 0);
  EXPECT_EQ(q.NumRequeues("b"), 1) << "backoff is per key";
  clock_.Advance(1s);
  auto first = GetWithin(q);
  auto second = GetWithin(q);
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
}

TEST_F(WorkQueueTest, GetReturnsNulloptWhenCancelled) {
  WorkQueue q(Options());
  CancellationSource source;
  std::atomic<bool> returned{false};
  std::optional<std::string> got = std::string("unset");
  std::thread getter([&] {
    got = q.Get(source.token());
    returned = true;
  });
  source.Cancel();
  getter.join();
  EXPECT_TRUE(returned);
  EXPECT_EQ(got, std::nullopt);

  CancellationSource already;
  already.Cancel();
  q.Add("a");
  EXPECT_EQ(q.Get(already.token()), std::nullopt) << "a cancelled token takes nothing";
  EXPECT_EQ(q.Len(), 1u);
}

TEST_F(WorkQueueTest, ShutDownWakesGetAndIgnoresLaterAdds) {
  WorkQueue q(Options());
  std::optional<std::string> got = std::string("unset");
  std::thread getter([&] { got = q.Get(); });
  q.ShutDown();
  getter.join();
  EXPECT_EQ(got, std::nullopt);
  EXPECT_TRUE(q.shutting_down());
  q.Add("a");
  q.AddAfter("b", 1s);
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.Get(), std::nullopt);
}

TEST_F(WorkQueueTest, DestructorStopsTheDelayThreadWhileItSleeps) {
  auto q = std::make_unique<WorkQueue>(Options());
  q->AddAfter("a", 1h);
  clock_.WaitForSleepers(1);
  q.reset();  // must not hang
  SUCCEED();
}

TEST_F(WorkQueueTest, ManyWorkersNeverShareAKey) {
  WorkQueue q(Options());
  std::mutex mu;
  std::set<std::string> active;
  std::atomic<int> processed{0}, overlaps{0};
  CancellationSource stop;
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&] {
      while (auto key = q.Get(stop.token())) {
        {
          std::lock_guard lock(mu);
          if (!active.insert(*key).second) ++overlaps;
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(mu);
          active.erase(*key);
        }
        ++processed;
        q.Done(*key);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) q.Add("k" + std::to_string(i % 5));
  // Wait until the queue drained (every add was handed out or folded into a queued key).
  for (int i = 0; i < 2000 && (q.Len() > 0 || processed == 0); ++i)
    std::this_thread::sleep_for(5ms);
  stop.Cancel();
  for (auto& w : workers) w.join();
  EXPECT_EQ(overlaps, 0);
  EXPECT_GE(processed, 5);
}

}  // namespace
}  // namespace lifeboat::controller
