// Slow: a 2 GiB streaming put (unknown length) and get through Azurite keep this process's
// peak resident memory under 100 MiB (blocks are bounded, downloads are streamed).

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "src/storage/drivers/azure/azure_object_store.h"
#include "src/storage/drivers/azure/azure_strings.h"
#include "src/storage/drivers/azure/azurite_fixture.h"
#include "src/storage/testing/test_streams.h"

namespace lifeboat::storage::azure {
namespace {

TEST(AzureMemoryTest, TwoGibStreamingPutAndGetStayUnder100Mib) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "resident memory means nothing under AddressSanitizer (shadow memory, quarantine)";
#endif
  auto az = testing::Azurite::Start();
  if (!az.ok() && az.status().code() == absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << az.status().message();
  }
  ASSERT_TRUE(az.ok()) << az.status();
  std::string container = (*az)->NewContainerName();
  ASSERT_TRUE((*az)->CreateContainer(container).ok());
  AzureSettings settings{.account = testing::kDevAccount,
                         .endpoint = (*az)->endpoint(),
                         .mode = AuthMode::kSharedKey,
                         .account_key = testing::kDevKey};
  auto store = AzureBlobObjectStore::Create(settings);
  ASSERT_TRUE(store.ok()) << store.status();

  constexpr int64_t kLength = int64_t{2} << 30;
  storage::testing::PseudoRandomSource source(
      {.seed = 77, .length = kLength, .report_size = false});
  Status put = (*store)->Put(container, "big/object", source);
  ASSERT_TRUE(put.ok()) << put;
  storage::testing::HashingSink sink;
  int64_t written = 0;
  Status get = (*store)->Get(container, "big/object", sink, {}, &written);
  ASSERT_TRUE(get.ok()) << get;
  EXPECT_EQ(written, kLength);
  EXPECT_EQ(sink.HexDigest(), storage::testing::PseudoRandomSha256Hex(77, kLength));
  int64_t peak = storage::testing::PeakRssBytes();
  ASSERT_GT(peak, 0);
  EXPECT_LT(peak, int64_t{100} << 20) << "peak RSS " << (peak >> 20) << " MiB";
}

}  // namespace
}  // namespace lifeboat::storage::azure
