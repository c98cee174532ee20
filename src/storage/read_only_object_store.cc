#include "lifeboat/storage/decorators.h"

namespace lifeboat::storage {

ReadOnlyObjectStore::ReadOnlyObjectStore(std::unique_ptr<ObjectStore> inner,
                                         std::string location_name)
    : inner_(std::move(inner)), location_name_(std::move(location_name)) {}

Status ReadOnlyObjectStore::ReadOnlyError() const {
  return absl::FailedPreconditionError("backup storage location " + location_name_ +
                                       " is read-only (accessMode: ReadOnly)");
}

Status ReadOnlyObjectStore::Put(std::string_view, std::string_view, ByteSource&) {
  return ReadOnlyError();
}

Status ReadOnlyObjectStore::Delete(std::string_view, std::string_view) { return ReadOnlyError(); }

Status ReadOnlyObjectStore::Get(std::string_view bucket, std::string_view key, ByteSink& sink,
                                const GetOptions& options, int64_t* written) {
  return inner_->Get(bucket, key, sink, options, written);
}

StatusOr<bool> ReadOnlyObjectStore::Exists(std::string_view bucket, std::string_view key) {
  return inner_->Exists(bucket, key);
}

StatusOr<std::vector<std::string>> ReadOnlyObjectStore::ListCommonPrefixes(
    std::string_view bucket, std::string_view prefix, std::string_view delimiter) {
  return inner_->ListCommonPrefixes(bucket, prefix, delimiter);
}

StatusOr<std::vector<std::string>> ReadOnlyObjectStore::ListObjects(std::string_view bucket,
                                                                    std::string_view prefix) {
  return inner_->ListObjects(bucket, prefix);
}

StatusOr<std::string> ReadOnlyObjectStore::CreateSignedUrl(std::string_view bucket,
                                                           std::string_view key,
                                                           std::chrono::seconds ttl) {
  return inner_->CreateSignedUrl(bucket, key, ttl);
}

}  // namespace lifeboat::storage
