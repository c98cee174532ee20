#include "src/backup/ordered_lister.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "lifeboat/common/cpu_idle.h"

namespace lifeboat::backup {
namespace {

// The pages of one task on their way from a worker to the consumer.
struct TaskQueue {
  std::deque<Page> pages;
  bool done = false;
  Status error;
};

class Lister {
 public:
  Lister(kube::DynamicClient& client, const std::vector<ListTask>& tasks,
         const OrderedListerOptions& options, const CancellationToken& cancel)
      : client_(client), tasks_(tasks), options_(options), queues_(tasks.size()),
        stop_(CancellationSource::ChildOf(cancel)) {}

  Status Run(const PageHandler& on_page) {
    const int workers = std::max(1, options_.workers);
    allowed_ = options_.while_cpu_idle ? 1 : workers;
    if (options_.while_cpu_idle) {
      (void)idle_.Sample();
      last_sample_ = std::chrono::steady_clock::now();
    }
    std::vector<std::thread> threads;
    for (int i = 0; i < workers && i < static_cast<int>(tasks_.size()); ++i) {
      threads.emplace_back([this] { Work(); });
    }
    Status result = Consume(on_page);
    stop_.Cancel("backup listing stopped");
    {
      std::lock_guard lock(mu_);
      workers_cv_.notify_all();
    }
    for (auto& t : threads) t.join();
    return result;
  }

 private:
  Status Consume(const PageHandler& on_page) {
    for (size_t i = 0; i < tasks_.size(); ++i) {
      {
        std::lock_guard lock(mu_);
        consumer_at_ = i;
      }
      workers_cv_.notify_all();  // one more task may start
      while (true) {
        std::unique_lock lock(mu_);
        TaskQueue& q = queues_[i];
        if (q.pages.empty() && !q.done) starved_ = true;
        Adapt();
        Wait(consumer_cv_, lock,
             [&] { return !q.pages.empty() || q.done || stop_.token().IsCancelled(); });
        if (!q.pages.empty()) {
          // Its worker may wait for room in the queue.
          const bool was_full = q.pages.size() >= static_cast<size_t>(options_.queue_pages);
          Page page = std::move(q.pages.front());
          q.pages.pop_front();
          lock.unlock();
          if (was_full) workers_cv_.notify_all();
          LIFEBOAT_RETURN_IF_ERROR(on_page(i, page, absl::OkStatus()));
          Recycle(std::move(page.prepared_bytes));
          continue;
        }
        if (q.done) {
          Status error = q.error;
          lock.unlock();
          if (!error.ok()) {
            Page none;
            LIFEBOAT_RETURN_IF_ERROR(on_page(i, none, error));
          }
          break;
        }
        return stop_.token().status();
      }
    }
    return absl::OkStatus();
  }

  // The consumer (mu_ held), before it may wait for a page: about every 100 ms, one more or one
  // fewer task allowed at once (OrderedListerOptions::while_cpu_idle).
  void Adapt() {
    if (!options_.while_cpu_idle) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sample_ < std::chrono::milliseconds(100)) return;
    last_sample_ = now;
    const size_t before = allowed_;
    allowed_ = NextAllowance(allowed_, static_cast<size_t>(std::max(1, options_.workers)),
                             idle_.Sample(), std::exchange(starved_, false));
    if (allowed_ > before) workers_cv_.notify_all();
  }

  void Work() {
    while (true) {
      size_t i = next_.fetch_add(1);
      if (i >= tasks_.size()) return;
      {
        std::unique_lock lock(mu_);
        Wait(workers_cv_, lock,
             [&] { return i < consumer_at_ + allowed_ || stop_.token().IsCancelled(); });
        if (stop_.token().IsCancelled()) return;
      }
      Status s = List(i);
      std::lock_guard lock(mu_);
      queues_[i].done = true;
      queues_[i].error = s;
      if (i == consumer_at_) consumer_cv_.notify_one();
    }
  }

  Status List(size_t i) {
    const ListTask& task = tasks_[i];
    kube::ListAllOptions lo;
    lo.page_size = options_.page_size;
    lo.page_bytes = options_.page_bytes;
    lo.list.label_selector = task.label_selector;
    lo.list.cancel = stop_.token();
    lo.list.raw_items = options_.raw_items;
    // Lazy items (parsed by simdjson, read in place): each page carries its tape to the
    // consumer, which is done with the items before it drops the page. With nothing to
    // prepare, the pager queues each page itself.
    if (!options_.prepare) {
      auto result = kube::ListAllLazyPages(
          client_, task.resource.gvr(), task.ns, lo, [&](kube::LazyPage& listed) -> Status {
            Page page{std::move(listed.items), std::move(listed.source), {}, {}};
            return Deliver(i, page);
          });
      return result.ok() ? absl::OkStatus() : result.status();
    }
    // The pager hands each page to a helper thread that prepares and queues it, and fetches
    // the next page meanwhile.
    Handoff handoff;
    std::thread helper([&] { handoff.Run([&](Page& page) { return Deliver(i, page); }); });
    auto on_page = [&](kube::LazyPage& listed) -> Status {
      Page page{std::move(listed.items), std::move(listed.source), {}, {}};
      return handoff.Put(std::move(page), stop_.token());
    };
    auto result = kube::ListAllLazyPages(client_, task.resource.gvr(), task.ns, lo, on_page);
    Status delivered = handoff.Close();
    helper.join();
    if (!result.ok()) return result.status();
    return delivered;
  }

  // One page at a time from the pager's thread to a helper thread.
  class Handoff {
   public:
    // Waits until the helper took the previous page; the helper's error, if it failed.
    Status Put(Page page, const CancellationToken& cancel) {
      std::unique_lock lock(mu_);
      while (slot_.has_value() && error_.ok() && !cancel.IsCancelled()) {
        cv_.wait_for(lock, std::chrono::milliseconds(100));
      }
      if (!error_.ok()) return error_;
      if (cancel.IsCancelled()) return cancel.status();
      slot_ = std::move(page);
      cv_.notify_all();
      return absl::OkStatus();
    }
    // No more pages: waits for the helper to finish them; its first error.
    Status Close() {
      std::unique_lock lock(mu_);
      closed_ = true;
      cv_.notify_all();
      while (busy_ || (slot_.has_value() && error_.ok())) cv_.wait(lock);
      return error_;
    }
    template <typename Fn>
    void Run(Fn deliver) {
      std::unique_lock lock(mu_);
      while (true) {
        cv_.wait(lock, [&] { return slot_.has_value() || closed_; });
        if (!slot_.has_value()) return;  // closed
        Page page = std::move(*slot_);
        slot_.reset();
        busy_ = true;
        cv_.notify_all();
        lock.unlock();
        Status s = deliver(page);
        lock.lock();
        busy_ = false;
        if (!s.ok() && error_.ok()) error_ = s;
        cv_.notify_all();
        if (!error_.ok()) {
          slot_.reset();
          return;
        }
      }
    }

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::optional<Page> slot_;
    bool closed_ = false;
    bool busy_ = false;
    Status error_;
  };

  // Prepares page (OrderedListerOptions::prepare) and queues it for the consumer.
  Status Deliver(size_t i, Page& page) {
    if (options_.prepare) {
      page.prepared_bytes = Spare();
      page.prepared_ends.reserve(page.items.size());
      for (const auto& item : page.items) {
        options_.prepare(item, page.prepared_bytes);
        page.prepared_ends.push_back(page.prepared_bytes.size());
      }
    }
    std::unique_lock lock(mu_);
    TaskQueue& q = queues_[i];
    Wait(workers_cv_, lock, [&] {
      return q.pages.size() < static_cast<size_t>(options_.queue_pages) || stop_.token().IsCancelled();
    });
    if (stop_.token().IsCancelled()) return stop_.token().status();
    q.pages.push_back(std::move(page));
    if (i == consumer_at_) consumer_cv_.notify_one();  // only the consumer waits for pages
    return absl::OkStatus();
  }

  // The prepared bytes of consumed pages, kept for the next pages (a fresh buffer of a few
  // hundred KiB per page is mapped, faulted in and unmapped again every time).
  void Recycle(std::string buffer) {
    if (buffer.capacity() == 0 || buffer.capacity() > (size_t{16} << 20)) return;
    buffer.clear();
    std::lock_guard lock(mu_);
    if (spare_.size() < 2 * static_cast<size_t>(std::max(1, options_.workers)) + 2) {
      spare_.push_back(std::move(buffer));
    }
  }
  std::string Spare() {
    std::lock_guard lock(mu_);
    if (spare_.empty()) return {};
    std::string b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }

  // Waits on `cv` for `ready`, waking at least every 100 ms: a cancelled parent token
  // notifies nobody.
  template <typename Pred>
  void Wait(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, Pred ready) {
    while (!ready()) cv.wait_for(lock, std::chrono::milliseconds(100));
  }

  kube::DynamicClient& client_;
  const std::vector<ListTask>& tasks_;
  const OrderedListerOptions& options_;
  std::vector<TaskQueue> queues_;
  CancellationSource stop_;
  std::mutex mu_;
  // The consumer waits on consumer_cv_ (a page or the end of task consumer_at_); workers wait
  // on workers_cv_ (their turn, or room in their queue). Each side wakes only the other: a
  // shared one woke every thread for every page.
  std::condition_variable consumer_cv_, workers_cv_;
  size_t consumer_at_ = 0;
  size_t allowed_ = 1;  // tasks listed at once at most (mu_); see Adapt
  CpuIdleMeter idle_;   // the consumer's
  std::chrono::steady_clock::time_point last_sample_;
  bool starved_ = false;            // the consumer waited for a page since the last sample (mu_)
  std::vector<std::string> spare_;  // Recycle / Spare
  std::atomic<size_t> next_{0};
};

}  // namespace

size_t NextAllowance(size_t allowed, size_t most, std::optional<double> idle, bool starved) {
  if (!idle || (starved && *idle >= 0.3)) return std::min(most, allowed + 1);
  if (*idle < 0.2) return std::max<size_t>(1, allowed - 1);
  return std::min(most, std::max<size_t>(1, allowed));
}

Status ListInOrder(kube::DynamicClient& client, const std::vector<ListTask>& tasks,
                   const OrderedListerOptions& options, const PageHandler& on_page,
                   const CancellationToken& cancel) {
  Lister lister(client, tasks, options, cancel);
  return lister.Run(on_page);
}

}  // namespace lifeboat::backup
