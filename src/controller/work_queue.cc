#include "lifeboat/controller/work_queue.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace lifeboat::controller {

// client-go's queue: `queue` holds the keys ready to hand out (in order), `dirty` the keys that
// need processing (queued, or added again while processing), `processing` the keys handed out
// and not yet Done. A key is in `queue` only when it is dirty and not processing.
//
// Delayed keys wait in `waiting` (key -> ready time) and `heap` (ordered by ready time); one
// thread sleeps on the clock until the earliest is due and moves it into the queue. A new
// earlier key (or ShutDown) cancels that sleep.
struct WorkQueue::Impl {
  explicit Impl(WorkQueueOptions o)
      : options(o),
        clock(o.clock ? o.clock : &RealClock()),
        delay_thread([this] { DelayLoop(); }) {}

  void AddLocked(const std::string& key) {
    if (shutting_down || dirty.contains(key)) return;
    dirty.insert(key);
    if (processing.contains(key)) return;
    queue.push_back(key);
    ready_cv.notify_one();
  }

  void AddAfterLocked(const std::string& key, Clock::TimePoint at) {
    if (shutting_down) return;
    if (auto it = waiting.find(key); it != waiting.end()) {
      if (it->second <= at) return;  // the earlier time wins
      heap.erase({it->second, key});
      it->second = at;
    } else {
      waiting.emplace(key, at);
    }
    heap.insert({at, key});
    if (heap.begin()->second == key) {  // a new earliest: re-plan the sleep
      if (sleep) sleep->Cancel("an earlier key was added");
      delay_cv.notify_all();
    }
  }

  void DelayLoop() {
    std::unique_lock lock(mu);
    while (!shutting_down) {
      if (heap.empty()) {
        delay_cv.wait(lock, [&] { return shutting_down || !heap.empty(); });
        continue;
      }
      const Clock::TimePoint now = clock->Now();
      while (!heap.empty() && heap.begin()->first <= now) {
        std::string key = heap.begin()->second;
        heap.erase(heap.begin());
        waiting.erase(key);
        AddLocked(key);
      }
      if (heap.empty()) continue;
      const Clock::TimePoint next = heap.begin()->first;
      auto source = std::make_shared<CancellationSource>();
      sleep = source;
      lock.unlock();
      clock->SleepUntil(next, source->token());
      lock.lock();
      sleep.reset();
    }
  }

  WorkQueueOptions options;
  Clock* clock;
  mutable std::mutex mu;
  std::condition_variable ready_cv;  // a key became ready, or shutdown/cancel
  std::condition_variable delay_cv;  // the delay thread has something to wait for
  std::deque<std::string> queue;
  std::set<std::string> dirty, processing;
  std::map<std::string, Clock::TimePoint> waiting;
  std::set<std::pair<Clock::TimePoint, std::string>> heap;
  std::map<std::string, int> failures;
  std::shared_ptr<CancellationSource> sleep;  // the delay thread's current sleep
  bool shutting_down = false;
  std::thread delay_thread;  // last: started once every other member exists
};

WorkQueue::WorkQueue(WorkQueueOptions options) : impl_(std::make_unique<Impl>(options)) {}

WorkQueue::~WorkQueue() {
  ShutDown();
  if (impl_->delay_thread.joinable()) impl_->delay_thread.join();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard lock(impl_->mu);
  impl_->AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, Clock::Duration delay) {
  if (delay <= Clock::Duration::zero()) {
    Add(key);
    return;
  }
  const Clock::TimePoint at =
      impl_->clock->Now() + std::chrono::duration_cast<Clock::TimePoint::duration>(delay);
  std::lock_guard lock(impl_->mu);
  impl_->AddAfterLocked(key, at);
}

void WorkQueue::AddRateLimited(const std::string& key) {
  Clock::Duration delay;
  {
    std::lock_guard lock(impl_->mu);
    const int n = impl_->failures[key]++;
    const Clock::Duration base = impl_->options.base_backoff;
    const Clock::Duration cap = impl_->options.max_backoff;
    delay = base;
    // Doubling stops at the cap (and long before an overflow).
    for (int i = 0; i < n && delay < cap; ++i) delay *= 2;
    delay = std::min(delay, cap);
  }
  AddAfter(key, delay);
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard lock(impl_->mu);
  impl_->failures.erase(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->failures.find(key);
  return it == impl_->failures.end() ? 0 : it->second;
}

std::optional<std::string> WorkQueue::Get(const CancellationToken& cancel) {
  Impl& q = *impl_;
  // Registered before taking the lock: the callback runs at once when already cancelled.
  const uint64_t id = cancel.OnCancel([&q] {
    std::lock_guard lock(q.mu);
    q.ready_cv.notify_all();
  });
  std::optional<std::string> key;
  {
    std::unique_lock lock(q.mu);
    q.ready_cv.wait(lock,
                    [&] { return q.shutting_down || cancel.IsCancelled() || !q.queue.empty(); });
    if (!q.shutting_down && !cancel.IsCancelled()) {
      key = std::move(q.queue.front());
      q.queue.pop_front();
      q.processing.insert(*key);
      q.dirty.erase(*key);
    }
  }
  cancel.Unregister(id);
  return key;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard lock(impl_->mu);
  impl_->processing.erase(key);
  if (impl_->dirty.contains(key) && !impl_->shutting_down) {
    impl_->queue.push_back(key);
    impl_->ready_cv.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard lock(impl_->mu);
  impl_->shutting_down = true;
  if (impl_->sleep) impl_->sleep->Cancel("work queue shut down");
  impl_->ready_cv.notify_all();
  impl_->delay_cv.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(impl_->mu);
  return impl_->shutting_down;
}

size_t WorkQueue::Len() const {
  std::lock_guard lock(impl_->mu);
  return impl_->queue.size();
}

}  // namespace lifeboat::controller
