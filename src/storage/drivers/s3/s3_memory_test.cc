// Memory stays bounded: a 2 GiB streaming put (unknown length: multipart with the default
// 16 MiB parts and 4 workers) and get against s3rver keep the process's peak resident memory
// under 100 MiB. Label `slow`.

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "src/storage/drivers/s3/s3_object_store.h"
#include "src/storage/drivers/s3/testing/s3rver.h"
#include "src/storage/testing/test_streams.h"

namespace lifeboat::storage::s3 {
namespace {

TEST(S3MemoryTest, TwoGibPutAndGetStayUnder100MiB) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "resident memory means nothing under AddressSanitizer (shadow memory, quarantine)";
#endif
  auto server = testing::S3rver::Start();
  if (absl::IsUnimplemented(server.status())) GTEST_SKIP() << server.status().message();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string bucket = (*server)->NewBucketName();
  ASSERT_TRUE((*server)->CreateBucket(bucket).ok());
  DriverParams params;
  params.config = {{"s3Url", (*server)->endpoint()},
                   {"s3ForcePathStyle", "true"},
                   {"region", "us-east-1"}};  // default part size and concurrency
  params.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "AWS_ACCESS_KEY_ID") return testing::kS3rverAccessKey;
    if (name == "AWS_SECRET_ACCESS_KEY") return testing::kS3rverSecretKey;
    return std::nullopt;
  };
  auto store = NewS3ObjectStore(params);
  ASSERT_TRUE(store.ok()) << store.status();

  constexpr int64_t kSize = int64_t{2} << 30;
  storage::testing::PseudoRandomSource body({.seed = 42, .length = kSize, .report_size = false});
  Status put = (*store)->Put(bucket, "big", body);
  ASSERT_TRUE(put.ok()) << put;
  storage::testing::HashingSink sink;
  Status get = (*store)->Get(bucket, "big", sink);
  ASSERT_TRUE(get.ok()) << get;
  EXPECT_EQ(sink.bytes(), kSize);
  storage::testing::PseudoRandomSource again({.seed = 42, .length = kSize});
  storage::testing::HashingSink expected;
  ASSERT_TRUE(Copy(again, expected).ok());
  EXPECT_EQ(sink.HexDigest(), expected.HexDigest());
  int64_t peak = (storage::testing::PeakRssBytes() / 1024);
  std::printf("peak resident memory: %lld KiB\n", static_cast<long long>(peak));
  EXPECT_GT(peak, 0);
  EXPECT_LT(peak, 100 * 1024);
}

}  // namespace
}  // namespace lifeboat::storage::s3
