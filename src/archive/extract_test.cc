#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "lifeboat/archive/reader.h"
#include "lifeboat/archive/writer.h"
#include "src/archive/hostile_archives.h"

namespace lifeboat::archive {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace ::lifeboat::archive::testing;  // NOLINT

class ExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lifeboat-extract-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dest_ = root_ / "dest";
    outside_ = root_ / "outside";
    fs::create_directories(dest_);
    fs::create_directories(outside_);
  }
  void TearDown() override { fs::remove_all(root_); }

  Status Extract(const std::string& gz) {
    ViewSource source(gz);
    return ExtractTo(source, dest_, ReaderLimits());
  }
  static std::string Slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  bool OutsideEmpty() const { return fs::is_empty(outside_); }

  fs::path root_, dest_, outside_;
};

TEST_F(ExtractTest, ExtractsFilesPrivately) {
  std::string gz = Gzip(RawEntry("metadata/version", "1.1.0\n") +
                        RawEntry("resources/secrets/namespaces/a/s.json", "{\"kind\":\"Secret\"}") +
                        RawEntry("resources/secrets/namespaces/a/s.json", "{\"v\":2}") + TarEnd());
  ASSERT_TRUE(Extract(gz).ok());
  EXPECT_EQ(Slurp(dest_ / "metadata/version"), "1.1.0\n");
  // A duplicate entry replaces the earlier file: the last one wins.
  EXPECT_EQ(Slurp(dest_ / "resources/secrets/namespaces/a/s.json"), "{\"v\":2}");
  struct stat st {};
  ASSERT_EQ(stat((dest_ / "resources/secrets/namespaces/a/s.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dest_ / "resources/secrets").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ExtractTest, CreatesMissingTargetDirectory) {
  dest_ = root_ / "new" / "dir";
  ASSERT_TRUE(Extract(Gzip(RawEntry("a/b", "x") + TarEnd())).ok());
  EXPECT_EQ(Slurp(dest_ / "a/b"), "x");
}

TEST_F(ExtractTest, NeverFollowsPreExistingDirectorySymlinks) {
  fs::create_directory_symlink(outside_, dest_ / "resources");
  Status s = Extract(Gzip(RawEntry("resources/pods/namespaces/a/p.json", "{}") + TarEnd()));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("not a real directory"));
  EXPECT_TRUE(OutsideEmpty());
}

TEST_F(ExtractTest, NeverWritesThroughPreExistingFileSymlinks) {
  std::ofstream(outside_ / "target") << "original";
  fs::create_directories(dest_ / "metadata");
  fs::create_symlink(outside_ / "target", dest_ / "metadata/version");
  Status s = Extract(Gzip(RawEntry("metadata/version", "overwritten") + TarEnd()));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(Slurp(outside_ / "target"), "original");
  // A dangling symlink is not followed to create a file either.
  fs::create_symlink(outside_ / "created", dest_ / "dangling");
  EXPECT_FALSE(Extract(Gzip(RawEntry("dangling", "x") + TarEnd())).ok());
  EXPECT_FALSE(fs::exists(outside_ / "created"));
}

TEST_F(ExtractTest, HostileArchivesWriteNothingOutside) {
  std::vector<std::string> hostile = {
      Gzip(RawEntry("../outside/escape", "x") + TarEnd()),
      Gzip(RawEntry((outside_ / "abs").string(), "x") + TarEnd()),
      Gzip(PaxEntry({{"path", "a/../../outside/pax"}}) + RawEntry("x", "y") + TarEnd()),
      LibarchiveSpecial(SpecialKind::kSymlink, "link"),
      LibarchiveSpecial(SpecialKind::kHardlink, "hard"),
  };
  for (const std::string& gz : hostile) {
    Status s = Extract(gz);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  }
  EXPECT_TRUE(OutsideEmpty());
  EXPECT_FALSE(fs::exists(dest_ / "link"));
  // Link-then-write: even if a symlink entry were planted, the next file may not follow it.
  std::string planted = Gzip(RawEntry("dir", "", '5') + RawEntry("dir/f", "ok") + TarEnd());
  EXPECT_TRUE(Extract(planted).ok());
}

TEST_F(ExtractTest, WriterOutputExtracts) {
  std::string gz;
  auto sink = StringSink(&gz);
  auto writer = ArchiveWriter::Create(sink.get(), WriterOptions());
  ASSERT_TRUE(writer.ok());
  std::string long_path = "resources/" + std::string(200, 'q') + "/cluster/x.json";
  ASSERT_TRUE((*writer)->Add(long_path, "{}").ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  ASSERT_TRUE(Extract(gz).ok());
  EXPECT_EQ(Slurp(dest_ / long_path), "{}");
}

}  // namespace
}  // namespace lifeboat::archive
