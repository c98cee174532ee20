#pragma once

// ObjectStore decorators: each wraps (and owns) another ObjectStore and adds one concern.
// A typical stack for a BackupStorageLocation, outermost first:
//
//   ReadOnlyObjectStore (when accessMode is ReadOnly)
//     -> MetricsObjectStore (one count per logical operation, retries included in latency)
//       -> RetryingObjectStore
//         -> the driver
//
// Thread safety: every decorator may be called from any number of threads at once (as long as
// the wrapped store may).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/storage/object_store.h"

namespace lifeboat::storage {

struct RetryOptions {
  int max_attempts = 5;  // attempts in all (1: no retry)
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{20'000};
  Clock* clock = nullptr;    // null: RealClock(); not owned
  CancellationToken cancel;  // stops the wait between attempts (the call returns Cancelled)
};

// Retries an operation that failed with Unavailable, DeadlineExceeded or Aborted (and, for
// Get, DataLoss: a body that ended early), waiting a random time in [0, min(max_backoff,
// initial_backoff * 2^retry)] between attempts ("full jitter"). Every other code is returned
// at once, as is an error that came from the caller's own body source or sink.
//
// Put rewinds the body before each retry; when the body cannot rewind, the first failure is
// final and the error says so. Get resumes after the bytes the sink already received (using
// GetOptions offset/length), so the sink never sees a byte twice. (An object replaced between
// two attempts of one Get cannot be detected through this interface.)
//
// When all attempts fail, the last error is returned with "after N attempts" added.
class RetryingObjectStore : public ObjectStore {
 public:
  RetryingObjectStore(std::unique_ptr<ObjectStore> inner, RetryOptions options = {});

  Status Put(std::string_view bucket, std::string_view key, ByteSource& body) override;
  Status Get(std::string_view bucket, std::string_view key, ByteSink& sink,
             const GetOptions& options = {}, int64_t* written = nullptr) override;
  StatusOr<bool> Exists(std::string_view bucket, std::string_view key) override;
  StatusOr<std::vector<std::string>> ListCommonPrefixes(std::string_view bucket,
                                                        std::string_view prefix,
                                                        std::string_view delimiter) override;
  StatusOr<std::vector<std::string>> ListObjects(std::string_view bucket,
                                                 std::string_view prefix) override;
  Status Delete(std::string_view bucket, std::string_view key) override;
  StatusOr<std::string> CreateSignedUrl(std::string_view bucket, std::string_view key,
                                        std::chrono::seconds ttl) override;

  // The wait before retry number `retry` (0-based) for a uniform random `u` in [0, 1).
  static Clock::Duration Backoff(const RetryOptions& options, int retry, double u);

 private:
  // Waits before retry `retry`; Cancelled (annotated with `last`) when cancelled meanwhile.
  Status Wait(int retry, const Status& last);
  template <typename Fn>
  auto Retry(std::string_view what, Fn fn) -> decltype(fn());

  std::unique_ptr<ObjectStore> inner_;
  RetryOptions options_;
  Clock* clock_;
};

// Counters for one operation.
struct OperationMetrics {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> latency_ns_sum{0};
};

enum class StoreOp { kPut, kGet, kExists, kListCommonPrefixes, kListObjects, kDelete, kSignedUrl };
inline constexpr int kStoreOpCount = 7;
// "put", "get", "exists", "list_common_prefixes", "list_objects", "delete", "signed_url".
std::string_view StoreOpName(StoreOp op);

// A plain copy of ObjectStoreMetrics at one moment (for a /metrics endpoint).
struct ObjectStoreMetricsSnapshot {
  struct Op {
    uint64_t calls = 0;
    uint64_t errors = 0;
    double latency_seconds_sum = 0;
  };
  std::array<Op, kStoreOpCount> ops;
  uint64_t bytes_uploaded = 0;    // read from Put bodies
  uint64_t bytes_downloaded = 0;  // written to Get sinks
  const Op& op(StoreOp o) const { return ops[static_cast<int>(o)]; }
};

// Lock-free counters, shared (shared_ptr) between a MetricsObjectStore and whoever exports them.
struct ObjectStoreMetrics {
  std::array<OperationMetrics, kStoreOpCount> ops;
  std::atomic<uint64_t> bytes_uploaded{0};
  std::atomic<uint64_t> bytes_downloaded{0};
  ObjectStoreMetricsSnapshot Snapshot() const;
};

// Counts calls, errors (any non-OK result), latency (by `clock`, RealClock() when null) and
// bytes per operation.
class MetricsObjectStore : public ObjectStore {
 public:
  MetricsObjectStore(std::unique_ptr<ObjectStore> inner,
                     std::shared_ptr<ObjectStoreMetrics> metrics, Clock* clock = nullptr);

  Status Put(std::string_view bucket, std::string_view key, ByteSource& body) override;
  Status Get(std::string_view bucket, std::string_view key, ByteSink& sink,
             const GetOptions& options = {}, int64_t* written = nullptr) override;
  StatusOr<bool> Exists(std::string_view bucket, std::string_view key) override;
  StatusOr<std::vector<std::string>> ListCommonPrefixes(std::string_view bucket,
                                                        std::string_view prefix,
                                                        std::string_view delimiter) override;
  StatusOr<std::vector<std::string>> ListObjects(std::string_view bucket,
                                                 std::string_view prefix) override;
  Status Delete(std::string_view bucket, std::string_view key) override;
  StatusOr<std::string> CreateSignedUrl(std::string_view bucket, std::string_view key,
                                        std::chrono::seconds ttl) override;

  const std::shared_ptr<ObjectStoreMetrics>& metrics() const { return metrics_; }

 private:
  template <typename Fn>
  auto Measure(StoreOp op, Fn fn) -> decltype(fn());

  std::unique_ptr<ObjectStore> inner_;
  std::shared_ptr<ObjectStoreMetrics> metrics_;
  Clock* clock_;
};

// A location with accessMode ReadOnly: Put and Delete fail with FailedPrecondition "backup
// storage location <name> is read-only (accessMode: ReadOnly)" without reaching the wrapped
// store; reads (Get, Exists, listings, signed URLs) pass through.
class ReadOnlyObjectStore : public ObjectStore {
 public:
  ReadOnlyObjectStore(std::unique_ptr<ObjectStore> inner, std::string location_name);

  Status Put(std::string_view bucket, std::string_view key, ByteSource& body) override;
  Status Get(std::string_view bucket, std::string_view key, ByteSink& sink,
             const GetOptions& options = {}, int64_t* written = nullptr) override;
  StatusOr<bool> Exists(std::string_view bucket, std::string_view key) override;
  StatusOr<std::vector<std::string>> ListCommonPrefixes(std::string_view bucket,
                                                        std::string_view prefix,
                                                        std::string_view delimiter) override;
  StatusOr<std::vector<std::string>> ListObjects(std::string_view bucket,
                                                 std::string_view prefix) override;
  Status Delete(std::string_view bucket, std::string_view key) override;
  StatusOr<std::string> CreateSignedUrl(std::string_view bucket, std::string_view key,
                                        std::chrono::seconds ttl) override;

 private:
  Status ReadOnlyError() const;

  std::unique_ptr<ObjectStore> inner_;
  std::string location_name_;
};

}  // namespace lifeboat::storage
