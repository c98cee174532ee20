#pragma once

// The S3 driver (`provider: aws`, also MinIO and other S3-compatible servers) and GCS through its
// S3-compatible XML API with HMAC keys (`provider: gcp`). Config keys, credentials and behaviour
// are described in docs/storage.md.
//
// Put: bodies up to one part (partSizeInBytes, 16 MiB by default) go in one PUT; larger or
// unknown-size bodies use a multipart upload with up to uploadConcurrency parts in flight (and
// at most that many parts in memory), aborted on any failure. Get streams (with Range).
// Errors follow object_store.h; there are no retries here (wrap in the retrying decorator).
//
// Thread safety: every method may be called from any number of threads at once.

#include <memory>

#include "lifeboat/common/status.h"
#include "lifeboat/storage/object_store.h"
#include "lifeboat/storage/registry.h"

namespace lifeboat::storage::s3 {

struct S3Settings;

// `provider: aws`. InvalidArgument for unknown config keys or bad values (naming the key);
// FailedPrecondition for missing or unreadable credentials (naming the file and key).
StatusOr<std::unique_ptr<ObjectStore>> NewS3ObjectStore(const DriverParams& params);

// `provider: gcp` (XML API, HMAC key). Same error codes; a service-account JSON key is refused
// with FailedPrecondition.
StatusOr<std::unique_ptr<ObjectStore>> NewGcsObjectStore(const DriverParams& params);

// From already parsed settings (tests adjust timeouts and part sizes). `clock` may be null
// (real clock) and must outlive the store otherwise.
StatusOr<std::unique_ptr<ObjectStore>> NewS3ObjectStoreFromSettings(S3Settings settings,
                                                                    Clock* clock);

}  // namespace lifeboat::storage::s3
