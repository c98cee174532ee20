// Memory stays bounded (issue 4 acceptance): a 2 GiB streaming put and get through the local
// driver keep the peak resident set under 100 MiB. Label `slow`.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "src/storage/drivers/local/local_object_store.h"
#include "src/storage/testing/test_streams.h"

namespace lifeboat::storage::local {
namespace {

namespace fs = std::filesystem;

TEST(LocalObjectStoreMemoryTest, TwoGibibyteStreamingPutAndGetStayUnder100MiB) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "resident memory means nothing under AddressSanitizer (shadow memory, quarantine)";
#endif
  constexpr int64_t kSize = int64_t{2} << 30;
  std::string pattern = (fs::temp_directory_path() / "lifeboat-local-mem-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  fs::path root = pattern;
  fs::create_directory(root / "bucket");
  std::error_code ec;
  if (fs::space(root, ec).available < static_cast<uintmax_t>(kSize) + (512u << 20)) {
    fs::remove_all(root);
    GTEST_SKIP() << "not enough free space in " << root << " for a 2 GiB object";
  }
  auto store = LocalObjectStore::Create(root);
  ASSERT_TRUE(store.ok());

  testing::PseudoRandomSource body({.seed = 42, .length = kSize, .report_size = false});
  ASSERT_TRUE((*store)->Put("bucket", "big/object", body).ok());
  testing::HashingSink sink;
  ASSERT_TRUE((*store)->Get("bucket", "big/object", sink).ok());
  EXPECT_EQ(sink.bytes(), kSize);
  EXPECT_EQ(sink.HexDigest(), testing::PseudoRandomSha256Hex(42, kSize));

  int64_t peak = storage::testing::PeakRssBytes();
  ASSERT_GT(peak, 0);
  EXPECT_LT(peak, int64_t{100} << 20) << "peak RSS " << (peak >> 20) << " MiB";
  fs::remove_all(root);
}

}  // namespace
}  // namespace lifeboat::storage::local
