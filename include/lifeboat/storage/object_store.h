#pragma once

// The ObjectStore interface: Velero's object-store plugin operations (Init, PutObject,
// ObjectExists, GetObject, ListCommonPrefixes, ListObjects, DeleteObject, CreateSignedURL) over
// streaming bodies. Drivers live in src/storage/drivers/<name>/ and are created by provider
// name through NewObjectStore (registry.h); decorators (retrying, metrics, read-only) wrap any
// driver.
//
// Error codes, the same for every driver (the conformance suite in src/storage/testing checks
// them): NotFound (no such key; Get/Exists never report a missing *bucket* as a missing key:
// that is FailedPrecondition "bucket ... does not exist"), PermissionDenied (403 / bad
// credentials), Unauthenticated (401 / expired token), Unavailable (5xx, 429, SlowDown,
// connection errors: retryable), DeadlineExceeded (timeouts: retryable), InvalidArgument (bad
// key or config), DataLoss (a response that ends early or fails its checksum: retryable by the
// retrying decorator since nothing was committed). No message ever carries a credential, a
// signature or a SAS token.
//
// Cancellation: a transfer stops when its ByteSource::Read or ByteSink::Write returns an
// error (a cancelled job's streams return Cancelled), and that error is returned unchanged.
//
// Thread safety: every method may be called from any number of threads at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"

namespace lifeboat::storage {

// A BackupStorageLocation's `spec.config` (plus `bucket` and `prefix` kept separately by the
// caller), exactly as Velero passes it to a plugin's Init.
using Config = std::map<std::string, std::string, std::less<>>;

struct GetOptions {
  // Byte range: from `offset`, `length` bytes (-1: to the end). The retrying decorator uses it
  // to resume an interrupted download without re-delivering bytes the sink already has.
  int64_t offset = 0;
  int64_t length = -1;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Stores `body` under `key`, replacing any object there. Readers see the old object or the
  // whole new one, never a part (multipart/block uploads are committed only at the end and
  // aborted on failure). A body with Size() >= 0 must deliver exactly that many bytes
  // (otherwise DataLoss and nothing is stored). Bodies are re-read from the start (Rewind) when
  // a retry needs them; a body that cannot rewind makes a failed attempt final.
  virtual Status Put(std::string_view bucket, std::string_view key, ByteSource& body) = 0;

  // Writes the object's bytes (or the requested range) to `sink`; does not Close it.
  // NotFound when there is no such key. On an error, bytes already written stay written;
  // the number written so far is in *written when given.
  virtual Status Get(std::string_view bucket, std::string_view key, ByteSink& sink,
                     const GetOptions& options = {}, int64_t* written = nullptr) = 0;

  // True when `key` exists. Errors only for failures (never NotFound).
  virtual StatusOr<bool> Exists(std::string_view bucket, std::string_view key) = 0;

  // The distinct prefixes of keys under `prefix` up to and including the first `delimiter`
  // after it, e.g. prefix "backups/", delimiter "/" → {"backups/b1/", "backups/b2/"}: whole
  // keys as S3's CommonPrefixes gives them, sorted, every page followed.
  virtual StatusOr<std::vector<std::string>> ListCommonPrefixes(std::string_view bucket,
                                                                std::string_view prefix,
                                                                std::string_view delimiter) = 0;

  // Every key starting with `prefix` (whole keys, sorted, every page followed).
  virtual StatusOr<std::vector<std::string>> ListObjects(std::string_view bucket,
                                                         std::string_view prefix) = 0;

  // Deletes `key`. OK when it did not exist (deletes are retried, so they must be idempotent).
  virtual Status Delete(std::string_view bucket, std::string_view key) = 0;

  // A URL that lets anyone GET the object over plain HTTP(S) until `ttl` has passed
  // (S3 presigned URL, Azure SAS, GCS signed URL; a file:// URL for the local driver).
  virtual StatusOr<std::string> CreateSignedUrl(std::string_view bucket, std::string_view key,
                                                std::chrono::seconds ttl) = 0;
};

// Convenience wrappers over the streaming calls, for small objects (metadata files).
Status PutString(ObjectStore& store, std::string_view bucket, std::string_view key,
                 std::string data);
// FailedPrecondition when the object is larger than max_bytes.
StatusOr<std::string> GetString(ObjectStore& store, std::string_view bucket,
                                std::string_view key, size_t max_bytes = 64 << 20);

}  // namespace lifeboat::storage
