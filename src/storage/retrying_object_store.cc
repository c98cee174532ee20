#include <algorithm>
#include <cmath>
#include <random>

#include "lifeboat/storage/decorators.h"

namespace lifeboat::storage {
namespace {

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& s) {
  return s.status();
}

// Forwards to the caller's body and remembers whether an error came from it (such errors are
// the caller's, never retried).
class TrackingSource : public ByteSource {
 public:
  explicit TrackingSource(ByteSource& inner) : inner_(inner) {}
  StatusOr<size_t> Read(std::span<char> buffer) override {
    auto n = inner_.Read(buffer);
    if (!n.ok()) failed_ = true;
    return n;
  }
  Status Rewind() override {
    Status s = inner_.Rewind();
    if (!s.ok()) failed_ = true;
    return s;
  }
  int64_t Size() const override { return inner_.Size(); }
  bool failed() const { return failed_; }

 private:
  ByteSource& inner_;
  bool failed_ = false;
};

// Forwards to the caller's sink, counting the bytes it accepted and remembering its errors.
class CountingSink : public ByteSink {
 public:
  explicit CountingSink(ByteSink& inner) : inner_(inner) {}
  Status Write(std::string_view data) override {
    Status s = inner_.Write(data);
    if (!s.ok()) {
      failed_ = true;
      return s;
    }
    bytes_ += static_cast<int64_t>(data.size());
    return s;
  }
  Status Close() override { return inner_.Close(); }
  int64_t bytes() const { return bytes_; }
  bool failed() const { return failed_; }

 private:
  ByteSink& inner_;
  int64_t bytes_ = 0;
  bool failed_ = false;
};

double UniformRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

Status GaveUp(const Status& last, int attempts) {
  return Annotate(last, "after " + std::to_string(attempts) + " attempts");
}

}  // namespace

RetryingObjectStore::RetryingObjectStore(std::unique_ptr<ObjectStore> inner, RetryOptions options)
    : inner_(std::move(inner)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &RealClock()) {
  options_.max_attempts = std::max(1, options_.max_attempts);
}

Clock::Duration RetryingObjectStore::Backoff(const RetryOptions& options, int retry, double u) {
  double initial = std::chrono::duration<double, std::nano>(options.initial_backoff).count();
  double max = std::chrono::duration<double, std::nano>(options.max_backoff).count();
  double cap = std::min(max, initial * std::pow(2.0, std::min(retry, 62)));
  return Clock::Duration(static_cast<int64_t>(std::clamp(u, 0.0, 1.0) * cap));
}

Status RetryingObjectStore::Wait(int retry, const Status& last) {
  if (clock_->SleepFor(Backoff(options_, retry, UniformRandom()), options_.cancel)) {
    return absl::OkStatus();
  }
  return absl::CancelledError("cancelled while waiting to retry (last error: " +
                              std::string(last.message()) + ")");
}

template <typename Fn>
auto RetryingObjectStore::Retry(std::string_view what, Fn fn) -> decltype(fn()) {
  for (int attempt = 1;; ++attempt) {
    auto result = fn();
    const Status& s = StatusOf(result);
    if (s.ok() || !IsRetryable(s)) return result;
    if (attempt >= options_.max_attempts) return GaveUp(Annotate(s, what), attempt);
    LIFEBOAT_RETURN_IF_ERROR(Wait(attempt - 1, s));
  }
}

Status RetryingObjectStore::Put(std::string_view bucket, std::string_view key,
                                ByteSource& body) {
  for (int attempt = 1;; ++attempt) {
    TrackingSource tracked(body);
    Status s = inner_->Put(bucket, key, tracked);
    if (s.ok() || tracked.failed() || !IsRetryable(s)) return s;
    if (attempt >= options_.max_attempts) return GaveUp(s, attempt);
    Status rewound = body.Rewind();
    if (!rewound.ok()) {
      return Annotate(s, "not retried because the body cannot be rewound (" +
                             std::string(rewound.message()) + ")");
    }
    LIFEBOAT_RETURN_IF_ERROR(Wait(attempt - 1, s));
  }
}

Status RetryingObjectStore::Get(std::string_view bucket, std::string_view key, ByteSink& sink,
                                const GetOptions& options, int64_t* written) {
  CountingSink counting(sink);
  if (written != nullptr) *written = 0;
  for (int attempt = 1;; ++attempt) {
    // Resume after what the sink already has.
    GetOptions resumed = options;
    resumed.offset = options.offset + counting.bytes();
    if (options.length >= 0) {
      resumed.length = options.length - counting.bytes();
      if (resumed.length == 0) return absl::OkStatus();
    }
    Status s = inner_->Get(bucket, key, counting, resumed);
    if (written != nullptr) *written = counting.bytes();
    bool retryable = IsRetryable(s) || s.code() == absl::StatusCode::kDataLoss;
    if (s.ok() || counting.failed() || !retryable) return s;
    if (attempt >= options_.max_attempts) return GaveUp(s, attempt);
    LIFEBOAT_RETURN_IF_ERROR(Wait(attempt - 1, s));
  }
}

StatusOr<bool> RetryingObjectStore::Exists(std::string_view bucket, std::string_view key) {
  return Retry("exists", [&] { return inner_->Exists(bucket, key); });
}

StatusOr<std::vector<std::string>> RetryingObjectStore::ListCommonPrefixes(
    std::string_view bucket, std::string_view prefix, std::string_view delimiter) {
  return Retry("listing prefixes",
               [&] { return inner_->ListCommonPrefixes(bucket, prefix, delimiter); });
}

StatusOr<std::vector<std::string>> RetryingObjectStore::ListObjects(std::string_view bucket,
                                                                    std::string_view prefix) {
  return Retry("listing objects", [&] { return inner_->ListObjects(bucket, prefix); });
}

Status RetryingObjectStore::Delete(std::string_view bucket, std::string_view key) {
  return Retry("delete", [&] { return inner_->Delete(bucket, key); });
}

StatusOr<std::string> RetryingObjectStore::CreateSignedUrl(std::string_view bucket,
                                                           std::string_view key,
                                                           std::chrono::seconds ttl) {
  return Retry("signing URL", [&] { return inner_->CreateSignedUrl(bucket, key, ttl); });
}

}  // namespace lifeboat::storage
