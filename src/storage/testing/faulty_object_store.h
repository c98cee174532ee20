#pragma once

// FaultyObjectStore: wraps another ObjectStore and makes scripted calls fail, for tests of the
// retrying decorator and of code that must survive storage errors. Faults are queued per
// operation and consumed in order; a call with no queued fault goes to the wrapped store.
// Every call is counted (faulted or not).
//
// A faulted Put first reads its whole body (as a failed upload would), so a retry has to
// rewind it. A truncated Get writes the first `truncate_after` bytes of the requested range to
// the sink and then returns its status (DataLoss by default), like a connection that drops.
//
// Thread safety: every method may be called from any number of threads at once.

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lifeboat/storage/object_store.h"

namespace lifeboat::storage::testing {

enum class Op { kPut, kGet, kExists, kListCommonPrefixes, kListObjects, kDelete, kSignedUrl };
inline constexpr int kOpCount = 7;

struct Fault {
  Status status;
  int64_t truncate_after = -1;  // Get only: bytes written before `status` is returned
};

class FaultyObjectStore : public ObjectStore {
 public:
  // `inner` is borrowed and must outlive this store.
  explicit FaultyObjectStore(ObjectStore* inner) : inner_(inner) {}

  // The next `times` calls of `op` fail with `status` (after any faults already queued).
  void FailNext(Op op, Status status, int times = 1);
  // The next `times` calls of `op` go through (to make a later call fail: PassNext then
  // FailNext).
  void PassNext(Op op, int times);
  // The next `times` Gets deliver `bytes` bytes and then fail with `status`.
  void TruncateNextGet(int64_t bytes, int times = 1,
                       Status status = absl::DataLossError("connection closed mid-body"));
  // Calls of `op` so far (faulted ones included).
  int calls(Op op) const;
  // The options of every Get call so far, in order.
  std::vector<GetOptions> get_options() const;

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
  // Counts the call and pops its fault, if one is queued.
  std::optional<Fault> Begin(Op op);

  ObjectStore* inner_;
  mutable std::mutex mu_;
  std::array<std::deque<Fault>, kOpCount> faults_;
  std::array<int, kOpCount> calls_{};
  std::vector<GetOptions> get_options_;
};

}  // namespace lifeboat::storage::testing
