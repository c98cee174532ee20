#pragma once

// The "local" driver (Lifeboat-specific, not a Velero provider): objects are files under a
// directory. Config: `root` (required; an existing directory); a bucket is a subdirectory of
// root (it must exist), a key "a/b/c" is the file <root>/<bucket>/a/b/c.
//
// Guarantees: writes are atomic and durable (temporary file in the target directory, fsync,
// rename, fsync of the directory); keys can never reach outside <root>/<bucket>: absolute keys,
// "." / ".." / empty segments, NUL, backslashes and the driver's own temporary-file names are
// InvalidArgument, and every path component is opened with O_NOFOLLOW from the bucket's
// directory, so symbolic links inside the root are never followed (a symlink is not an object).
// Listings are sorted by key bytes. Signed URLs are file:// URLs of the object's path (the TTL
// cannot be enforced for them). A key that is also a "directory" of another key ("a" and
// "a/b") cannot be stored: FailedPrecondition.
//
// Thread safety: every method may be called from any number of threads (and processes) at once.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "lifeboat/storage/object_store.h"
#include "lifeboat/storage/registry.h"

namespace lifeboat::storage::local {

class LocalObjectStore : public ObjectStore {
 public:
  // InvalidArgument when `root` is empty or relative; FailedPrecondition when it is not an
  // existing directory.
  static StatusOr<std::unique_ptr<LocalObjectStore>> Create(std::filesystem::path root);

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

  const std::filesystem::path& root() const { return root_; }

 private:
  explicit LocalObjectStore(std::filesystem::path root) : root_(std::move(root)) {}
  Status PutOnce(std::string_view bucket, std::string_view key, ByteSource& body);

  std::filesystem::path root_;
};

// The registry's factory: reads `root` from params.config (other keys but bucket, prefix and
// credentialsFile are InvalidArgument, naming the key).
StatusOr<std::unique_ptr<ObjectStore>> NewLocalObjectStore(const DriverParams& params);

}  // namespace lifeboat::storage::local
