#include "lifeboat/common/gzip.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace lifeboat {
namespace {

TEST(GzipTest, RoundTripsAndGnuGzipReadsIt) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + "\n";
  std::string gz = Gzip(text);
  EXPECT_LT(gz.size(), text.size() / 4);
  auto back = Gunzip(gz);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, text);

  auto path = std::filesystem::temp_directory_path() / ("lifeboat-gzip-" + std::to_string(::getpid()));
  std::ofstream(path, std::ios::binary) << gz;
  std::string cmd = "gzip -dc " + path.string() + " | md5sum";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[64] = {};
  ASSERT_NE(std::fgets(buf, sizeof buf, p), nullptr);
  ::pclose(p);
  std::filesystem::remove(path);
  // The same bytes through GNU gzip: compare md5 of our text.
  auto tmp = path;
  tmp += ".txt";
  std::ofstream(tmp, std::ios::binary) << text;
  FILE* r = ::popen(("md5sum < " + tmp.string()).c_str(), "r");
  ASSERT_NE(r, nullptr);
  char want[64] = {};
  ASSERT_NE(std::fgets(want, sizeof want, r), nullptr);
  ::pclose(r);
  std::filesystem::remove(tmp);
  EXPECT_STREQ(buf, want);
}

TEST(GzipTest, SinkStreamsAndMultiMemberIsConcatenated) {
  std::string out;
  auto raw = StringSink(&out);
  auto gz = GzipSink(raw.get());
  ASSERT_TRUE(gz->Write("hello ").ok());
  ASSERT_TRUE(gz->Write("world").ok());
  ASSERT_TRUE(gz->Close().ok());
  std::string two = out + Gzip("!");
  auto back = Gunzip(two);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "hello world!");
}

TEST(GzipTest, CorruptTruncatedAndBombsAreRefused) {
  std::string gz = Gzip(std::string(1 << 20, 'a'));
  EXPECT_EQ(Gunzip(gz.substr(0, gz.size() / 2)).status().code(), absl::StatusCode::kDataLoss);
  std::string bad = gz;
  bad[bad.size() / 2] ^= 0x55;
  EXPECT_FALSE(Gunzip(bad).ok());
  EXPECT_EQ(Gunzip(gz, 1000).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Gunzip("not gzip at all").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace lifeboat
