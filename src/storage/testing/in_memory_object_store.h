#pragma once

// InMemoryObjectStore: an ObjectStore that keeps objects in memory, for unit tests of code above
// the storage layer (BackupStore, decorators, controllers). It follows the interface's
// semantics exactly (the conformance suite runs against it): missing buckets are
// FailedPrecondition, empty keys InvalidArgument, a body shorter or longer than its Size() is
// DataLoss and stores nothing, Put is atomic. Signed URLs are "memory://bucket/key" (not
// fetchable).
//
// Thread safety: every method may be called from any number of threads at once.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "lifeboat/storage/object_store.h"

namespace lifeboat::storage::testing {

class InMemoryObjectStore : public ObjectStore {
 public:
  // Creates an object store with the given buckets (more can be added with CreateBucket).
  explicit InMemoryObjectStore(std::initializer_list<std::string> buckets = {});

  void CreateBucket(std::string_view bucket);
  // Every key of `bucket` with its contents (for assertions in tests); empty for a missing
  // bucket.
  std::map<std::string, std::string> Contents(std::string_view bucket) const;

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
  using Bucket = std::map<std::string, std::shared_ptr<const std::string>, std::less<>>;
  // Requires mu_. FailedPrecondition when the bucket does not exist.
  StatusOr<Bucket*> FindBucket(std::string_view bucket);

  mutable std::mutex mu_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

// Shared key checks for test stores: InvalidArgument for an empty key.
Status CheckKey(std::string_view key);

}  // namespace lifeboat::storage::testing
