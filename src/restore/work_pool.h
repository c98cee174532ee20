#pragma once

// A fixed set of worker threads running submitted tasks, with a bounded queue so a producer
// walking 100k item names never holds more than a few of them at once. Drain() is the barrier
// between priority tiers.
//
// Thread safety: Submit and Drain are called from one producer thread; tasks run on the workers.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lifeboat::restore {

class WorkPool {
 public:
  explicit WorkPool(int threads, size_t max_queued = 0) {
    if (threads < 1) threads = 1;
    max_queued_ = max_queued > 0 ? max_queued : static_cast<size_t>(threads) * 4;
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~WorkPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Blocks while the queue is full.
  void Submit(std::function<void()> task) {
    std::unique_lock lock(mu_);
    space_cv_.wait(lock, [&] { return queue_.size() < max_queued_; });
    queue_.push_back(std::move(task));
    ++pending_;
    work_cv_.notify_one();
  }

  // Waits until every submitted task has finished.
  void Drain() {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return pending_ == 0; });
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      space_cv_.notify_one();
      task();
      std::lock_guard lock(mu_);
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_, space_cv_, done_cv_;
  std::deque<std::function<void()>> queue_;
  size_t max_queued_;
  size_t pending_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace lifeboat::restore
