#pragma once

// client-go's rate-limited work queue, for names: a key is queued at most once however often it
// is added; a key being processed is not handed to a second worker, and if it was added again
// meanwhile it is queued again when Done. AddAfter delays a key; AddRateLimited delays it by a
// per-key exponential backoff (base * 2^failures, capped) until Forget resets it.
//
// Thread safety: every method may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"

namespace lifeboat::controller {

struct WorkQueueOptions {
  std::chrono::milliseconds base_backoff{5};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(300)};
  Clock* clock = nullptr;  // null: RealClock()
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();  // ShutDown()

  void Add(const std::string& key);
  // Adds `key` once `delay` has passed (at once when delay <= 0). An earlier pending time for
  // the same key wins.
  void AddAfter(const std::string& key, Clock::Duration delay);
  void AddRateLimited(const std::string& key);
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

  // Blocks until a key is ready (returns it; call Done when finished), or the queue is shut
  // down or `cancel` fires (std::nullopt).
  std::optional<std::string> Get(const CancellationToken& cancel = {});
  void Done(const std::string& key);

  // Wakes every Get; from then on Get returns std::nullopt (keys still queued are not handed
  // out) and Adds are ignored.
  void ShutDown();
  bool shutting_down() const;
  size_t Len() const;  // keys ready now (not delayed, not processing)

 private:
  struct Impl;  // the state, guarded by one mutex, and the thread that releases delayed keys
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::controller
