#include "src/storage/testing/faulty_object_store.h"

#include <algorithm>
#include <optional>

namespace lifeboat::storage::testing {
namespace {

// Forwards up to `limit` bytes, then refuses with a private marker status.
class TruncatingSink : public ByteSink {
 public:
  TruncatingSink(ByteSink& inner, int64_t limit) : inner_(inner), limit_(limit) {}
  Status Write(std::string_view data) override {
    size_t take = static_cast<size_t>(std::min<int64_t>(limit_ - written_, data.size()));
    if (take > 0) {
      LIFEBOAT_RETURN_IF_ERROR(inner_.Write(data.substr(0, take)));
      written_ += static_cast<int64_t>(take);
    }
    if (take < data.size()) return absl::AbortedError("truncated by FaultyObjectStore");
    return absl::OkStatus();
  }
  Status Close() override { return absl::OkStatus(); }
  int64_t written() const { return written_; }

 private:
  ByteSink& inner_;
  int64_t limit_;
  int64_t written_ = 0;
};

Status Drain(ByteSource& body) {
  char buffer[64 * 1024];
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, body.Read(std::span<char>(buffer, sizeof buffer)));
    if (n == 0) return absl::OkStatus();
  }
}

}  // namespace

void FaultyObjectStore::FailNext(Op op, Status status, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) faults_[static_cast<int>(op)].push_back({status, -1});
}

void FaultyObjectStore::PassNext(Op op, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) faults_[static_cast<int>(op)].push_back({absl::OkStatus(), -1});
}

void FaultyObjectStore::TruncateNextGet(int64_t bytes, int times, Status status) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) faults_[static_cast<int>(Op::kGet)].push_back({status, bytes});
}

int FaultyObjectStore::calls(Op op) const {
  std::lock_guard lock(mu_);
  return calls_[static_cast<int>(op)];
}

std::vector<GetOptions> FaultyObjectStore::get_options() const {
  std::lock_guard lock(mu_);
  return get_options_;
}

std::optional<Fault> FaultyObjectStore::Begin(Op op) {
  std::lock_guard lock(mu_);
  ++calls_[static_cast<int>(op)];
  auto& queue = faults_[static_cast<int>(op)];
  if (queue.empty()) return std::nullopt;
  Fault fault = queue.front();
  queue.pop_front();
  if (fault.status.ok()) return std::nullopt;  // PassNext
  return fault;
}

Status FaultyObjectStore::Put(std::string_view bucket, std::string_view key, ByteSource& body) {
  if (auto fault = Begin(Op::kPut)) {
    LIFEBOAT_RETURN_IF_ERROR(Drain(body));
    return fault->status;
  }
  return inner_->Put(bucket, key, body);
}

Status FaultyObjectStore::Get(std::string_view bucket, std::string_view key, ByteSink& sink,
                              const GetOptions& options, int64_t* written) {
  {
    std::lock_guard lock(mu_);
    get_options_.push_back(options);
  }
  std::optional<Fault> fault = Begin(Op::kGet);
  if (written != nullptr) *written = 0;
  if (!fault) return inner_->Get(bucket, key, sink, options, written);
  if (fault->truncate_after < 0) return fault->status;
  TruncatingSink truncating(sink, fault->truncate_after);
  Status s = inner_->Get(bucket, key, truncating, options);
  if (written != nullptr) *written = truncating.written();
  // The object ended before the cut: the whole range was delivered.
  if (s.ok()) return absl::OkStatus();
  if (truncating.written() < fault->truncate_after) return s;  // inner's own error
  return fault->status;
}

StatusOr<bool> FaultyObjectStore::Exists(std::string_view bucket, std::string_view key) {
  if (auto fault = Begin(Op::kExists)) return fault->status;
  return inner_->Exists(bucket, key);
}

StatusOr<std::vector<std::string>> FaultyObjectStore::ListCommonPrefixes(
    std::string_view bucket, std::string_view prefix, std::string_view delimiter) {
  if (auto fault = Begin(Op::kListCommonPrefixes)) return fault->status;
  return inner_->ListCommonPrefixes(bucket, prefix, delimiter);
}

StatusOr<std::vector<std::string>> FaultyObjectStore::ListObjects(std::string_view bucket,
                                                                  std::string_view prefix) {
  if (auto fault = Begin(Op::kListObjects)) return fault->status;
  return inner_->ListObjects(bucket, prefix);
}

Status FaultyObjectStore::Delete(std::string_view bucket, std::string_view key) {
  if (auto fault = Begin(Op::kDelete)) return fault->status;
  return inner_->Delete(bucket, key);
}

StatusOr<std::string> FaultyObjectStore::CreateSignedUrl(std::string_view bucket,
                                                         std::string_view key,
                                                         std::chrono::seconds ttl) {
  if (auto fault = Begin(Op::kSignedUrl)) return fault->status;
  return inner_->CreateSignedUrl(bucket, key, ttl);
}

}  // namespace lifeboat::storage::testing
