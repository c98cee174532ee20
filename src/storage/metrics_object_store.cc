#include <chrono>

#include "lifeboat/storage/decorators.h"

namespace lifeboat::storage {
namespace {

class CountingSource : public ByteSource {
 public:
  CountingSource(ByteSource& inner, std::atomic<uint64_t>& bytes) : inner_(inner), bytes_(bytes) {}
  StatusOr<size_t> Read(std::span<char> buffer) override {
    auto n = inner_.Read(buffer);
    if (n.ok()) bytes_ += *n;
    return n;
  }
  Status Rewind() override { return inner_.Rewind(); }
  int64_t Size() const override { return inner_.Size(); }

 private:
  ByteSource& inner_;
  std::atomic<uint64_t>& bytes_;
};

class CountingSink : public ByteSink {
 public:
  CountingSink(ByteSink& inner, std::atomic<uint64_t>& bytes) : inner_(inner), bytes_(bytes) {}
  Status Write(std::string_view data) override {
    Status s = inner_.Write(data);
    if (s.ok()) bytes_ += data.size();
    return s;
  }
  Status Close() override { return inner_.Close(); }

 private:
  ByteSink& inner_;
  std::atomic<uint64_t>& bytes_;
};

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& s) {
  return s.status();
}

}  // namespace

std::string_view StoreOpName(StoreOp op) {
  switch (op) {
    case StoreOp::kPut:
      return "put";
    case StoreOp::kGet:
      return "get";
    case StoreOp::kExists:
      return "exists";
    case StoreOp::kListCommonPrefixes:
      return "list_common_prefixes";
    case StoreOp::kListObjects:
      return "list_objects";
    case StoreOp::kDelete:
      return "delete";
    case StoreOp::kSignedUrl:
      return "signed_url";
  }
  return "unknown";
}

ObjectStoreMetricsSnapshot ObjectStoreMetrics::Snapshot() const {
  ObjectStoreMetricsSnapshot out;
  for (int i = 0; i < kStoreOpCount; ++i) {
    out.ops[i].calls = ops[i].calls.load();
    out.ops[i].errors = ops[i].errors.load();
    out.ops[i].latency_seconds_sum = static_cast<double>(ops[i].latency_ns_sum.load()) / 1e9;
  }
  out.bytes_uploaded = bytes_uploaded.load();
  out.bytes_downloaded = bytes_downloaded.load();
  return out;
}

MetricsObjectStore::MetricsObjectStore(std::unique_ptr<ObjectStore> inner,
                                       std::shared_ptr<ObjectStoreMetrics> metrics, Clock* clock)
    : inner_(std::move(inner)),
      metrics_(metrics != nullptr ? std::move(metrics) : std::make_shared<ObjectStoreMetrics>()),
      clock_(clock != nullptr ? clock : &RealClock()) {}

template <typename Fn>
auto MetricsObjectStore::Measure(StoreOp op, Fn fn) -> decltype(fn()) {
  OperationMetrics& m = metrics_->ops[static_cast<int>(op)];
  Clock::TimePoint start = clock_->Now();
  auto result = fn();
  auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Now() - start);
  m.calls++;
  if (!StatusOf(result).ok()) m.errors++;
  if (elapsed.count() > 0) m.latency_ns_sum += static_cast<uint64_t>(elapsed.count());
  return result;
}

Status MetricsObjectStore::Put(std::string_view bucket, std::string_view key, ByteSource& body) {
  CountingSource counted(body, metrics_->bytes_uploaded);
  return Measure(StoreOp::kPut, [&] { return inner_->Put(bucket, key, counted); });
}

Status MetricsObjectStore::Get(std::string_view bucket, std::string_view key, ByteSink& sink,
                               const GetOptions& options, int64_t* written) {
  CountingSink counted(sink, metrics_->bytes_downloaded);
  return Measure(StoreOp::kGet,
                 [&] { return inner_->Get(bucket, key, counted, options, written); });
}

StatusOr<bool> MetricsObjectStore::Exists(std::string_view bucket, std::string_view key) {
  return Measure(StoreOp::kExists, [&] { return inner_->Exists(bucket, key); });
}

StatusOr<std::vector<std::string>> MetricsObjectStore::ListCommonPrefixes(
    std::string_view bucket, std::string_view prefix, std::string_view delimiter) {
  return Measure(StoreOp::kListCommonPrefixes,
                 [&] { return inner_->ListCommonPrefixes(bucket, prefix, delimiter); });
}

StatusOr<std::vector<std::string>> MetricsObjectStore::ListObjects(std::string_view bucket,
                                                                   std::string_view prefix) {
  return Measure(StoreOp::kListObjects, [&] { return inner_->ListObjects(bucket, prefix); });
}

Status MetricsObjectStore::Delete(std::string_view bucket, std::string_view key) {
  return Measure(StoreOp::kDelete, [&] { return inner_->Delete(bucket, key); });
}

StatusOr<std::string> MetricsObjectStore::CreateSignedUrl(std::string_view bucket,
                                                          std::string_view key,
                                                          std::chrono::seconds ttl) {
  return Measure(StoreOp::kSignedUrl, [&] { return inner_->CreateSignedUrl(bucket, key, ttl); });
}

}  // namespace lifeboat::storage
