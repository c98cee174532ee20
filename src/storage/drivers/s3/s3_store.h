#pragma once

// S3ObjectStore: the ObjectStore over S3Requester (private to the driver; create it with the
// factories in s3_object_store.h).

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "lifeboat/storage/object_store.h"
#include "src/storage/drivers/s3/s3_request.h"

namespace lifeboat::storage::s3 {

class S3ObjectStore : public ObjectStore {
 public:
  explicit S3ObjectStore(std::unique_ptr<S3Requester> requester);

  Status Put(std::string_view bucket, std::string_view key, ByteSource& body) override;
  Status Get(std::string_view bucket, std::string_view key, ByteSink& sink,
             const GetOptions& options, int64_t* written) override;
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
  // Headers every object write carries (encryption, tagging) and those reads need (SSE-C).
  Pairs WriteHeaders() const;
  Pairs SseCustomerHeaders() const;
  // One PUT of an in-memory body.
  Status PutSingle(std::string_view bucket, std::string_view key, const std::string& data);
  // Multipart upload; `first` holds the first part and `carry` the start of the second, both
  // already read from `body`.
  Status PutMultipart(std::string_view bucket, std::string_view key, ByteSource& body,
                      std::string first, std::string carry, int64_t part_size,
                      int64_t declared_size);
  StatusOr<std::string> CreateUpload(std::string_view bucket, std::string_view key);
  StatusOr<std::string> UploadPart(std::string_view bucket, std::string_view key,
                                   const std::string& upload_id, int number,
                                   const std::string& data, std::string* checksum);
  Status CompleteUpload(std::string_view bucket, std::string_view key, const std::string& upload_id,
                        const std::vector<std::string>& etags,
                        const std::vector<std::string>& checksums);
  void AbortUpload(std::string_view bucket, std::string_view key, const std::string& upload_id);
  // Lists every page; fills keys (Contents) and/or prefixes (CommonPrefixes).
  Status List(std::string_view bucket, std::string_view prefix, std::string_view delimiter,
              std::vector<std::string>* keys, std::vector<std::string>* prefixes);
  // FailedPrecondition when the bucket does not exist; remembered once it does.
  Status CheckBucket(std::string_view bucket);

  std::unique_ptr<S3Requester> requester_;
  const S3Settings& settings_;
  std::mutex mu_;
  std::set<std::string, std::less<>> known_buckets_;  // guarded by mu_
};

// Reads until `out` holds `max` bytes or the source ends. Returns the number of bytes read.
StatusOr<size_t> ReadUpTo(ByteSource& source, size_t max, std::string* out);

}  // namespace lifeboat::storage::s3
