#pragma once

// Test fixture: an s3rver process (npm `s3rver`, /work/main/.deps/npm) on a free loopback port,
// with its data in a fresh temporary directory; killed and removed on destruction (and killed by
// the kernel if the test process dies first). Test-only.

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "lifeboat/common/status.h"
#include "lifeboat/storage/object_store.h"

namespace lifeboat::storage::s3::testing {

// s3rver's built-in account (it verifies signatures against it).
inline constexpr char kS3rverAccessKey[] = "S3RVER";
inline constexpr char kS3rverSecretKey[] = "S3RVER";

class S3rver {
 public:
  // Unimplemented when the s3rver binary (or node) is missing: callers GTEST_SKIP. Unavailable
  // when it does not report its port within 30 s.
  static StatusOr<std::unique_ptr<S3rver>> Start();
  ~S3rver();

  // "http://127.0.0.1:<port>"
  const std::string& endpoint() const { return endpoint_; }
  // Creates a bucket (PUT Bucket, signed with the s3rver account).
  Status CreateBucket(const std::string& name);
  // A fresh bucket name, unique within this process ("lb-<n>").
  std::string NewBucketName();
  // Driver config for this server: s3Url, s3ForcePathStyle, region, small parts.
  Config AwsConfig() const;

 private:
  S3rver() = default;
  pid_t pid_ = -1;
  std::filesystem::path dir_;
  std::string endpoint_;
  int next_bucket_ = 0;
};

// The binary the fixture runs (overridable with $LIFEBOAT_S3RVER).
std::string S3rverBinary();

}  // namespace lifeboat::storage::s3::testing
