#include "src/storage/drivers/local/local_object_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/storage/testing/object_store_conformance.h"
#include "src/storage/testing/test_streams.h"

namespace lifeboat::storage::local {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::ConformanceParam;
using testing::ConformanceTarget;
using testing::ObjectStoreConformanceTest;

// A fresh directory under TMPDIR, removed by Cleanup.
StatusOr<fs::path> MakeTempDir() {
  std::string pattern = (fs::temp_directory_path() / "lifeboat-local-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  return fs::path(pattern);
}

StatusOr<ConformanceTarget> MakeTarget() {
  LIFEBOAT_ASSIGN_OR_RETURN(fs::path root, MakeTempDir());
  fs::create_directory(root / "bucket");
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, LocalObjectStore::Create(root));
  return ConformanceTarget{std::move(store), "bucket", [root] { fs::remove_all(root); }};
}

INSTANTIATE_TEST_SUITE_P(Local, ObjectStoreConformanceTest,
                         ::testing::Values(ConformanceParam{.name = "Local",
                                                            .setup = MakeTarget,
                                                            .large_object_bytes = 32 << 20}),
                         testing::ConformanceParamName);

class LocalObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto root = MakeTempDir();
    ASSERT_TRUE(root.ok());
    base_ = *root;
    root_ = base_ / "root";
    fs::create_directories(root_ / "bucket");
    fs::create_directories(base_ / "outside");
    auto store = LocalObjectStore::Create(root_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override { fs::remove_all(base_); }

  Status PutKey(std::string_view key, std::string data = "x") {
    return PutString(*store_, "bucket", key, std::move(data));
  }

  fs::path base_;
  fs::path root_;
  std::unique_ptr<LocalObjectStore> store_;
};

TEST_F(LocalObjectStoreTest, UnsafeKeysAreInvalidArgument) {
  for (std::string_view key :
       {"/etc/passwd", "../outside/x", "a/../../outside/x", "a/./b", "./a", "a//b", "a//",
        "..", ".", "a\\..\\..\\x", "..\\outside", ".lifeboat-tmp-1", "a/.lifeboat-tmp-x"}) {
    SCOPED_TRACE(key);
    EXPECT_EQ(PutKey(key).code(), absl::StatusCode::kInvalidArgument);
    std::string out;
    auto sink = StringSink(&out);
    EXPECT_EQ(store_->Get("bucket", key, *sink).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Exists("bucket", key).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Delete("bucket", key).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(PutKey(std::string("a\0b", 3)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PutKey(std::string(2000, 'k')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(*store_->ListObjects("bucket", ""), IsEmpty());
  EXPECT_TRUE(fs::is_empty(base_ / "outside"));
  EXPECT_FALSE(fs::exists(base_ / "x"));
}

TEST_F(LocalObjectStoreTest, FolderMarkerKeysAreNeverObjects) {
  ASSERT_TRUE(PutKey("a/b").ok());
  EXPECT_EQ(PutKey("a/").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(*store_->Exists("bucket", "a/"));
  std::string out;
  auto sink = StringSink(&out);
  EXPECT_EQ(store_->Get("bucket", "a/", *sink).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Delete("bucket", "a/").ok());
  EXPECT_TRUE(*store_->Exists("bucket", "a/b"));
}

TEST_F(LocalObjectStoreTest, UnsafeBucketsAreInvalidArgument) {
  for (std::string_view bucket : {"", "..", ".", "a/b", "../root", "a\\b"}) {
    SCOPED_TRACE(bucket);
    EXPECT_EQ(PutString(*store_, bucket, "k", "v").code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->ListObjects(bucket, "").status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(LocalObjectStoreTest, MissingBucketIsFailedPrecondition) {
  Status s = PutString(*store_, "nobucket", "k", "v");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("bucket nobucket does not exist"));
  EXPECT_EQ(store_->Exists("nobucket", "k").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(LocalObjectStoreTest, ListingPrefixWithDotDotMatchesNothing) {
  ASSERT_TRUE(PutKey("a/b").ok());
  fs::create_directories(root_ / "other");
  std::ofstream(root_ / "other" / "secret") << "s";
  EXPECT_THAT(*store_->ListObjects("bucket", "../other/"), IsEmpty());
  EXPECT_THAT(*store_->ListObjects("bucket", "a/../"), IsEmpty());
  EXPECT_THAT(*store_->ListCommonPrefixes("bucket", "../", "/"), IsEmpty());
}

TEST_F(LocalObjectStoreTest, SymlinksInsideRootAreNotFollowed) {
  std::ofstream(base_ / "outside" / "secret") << "secret data";
  fs::create_directories(root_ / "bucket" / "dir");
  fs::create_directory_symlink(base_ / "outside", root_ / "bucket" / "linkdir");
  fs::create_symlink(base_ / "outside" / "secret", root_ / "bucket" / "dir" / "linkfile");

  std::string out;
  auto sink = StringSink(&out);
  EXPECT_EQ(store_->Get("bucket", "linkdir/secret", *sink).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("bucket", "dir/linkfile", *sink).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(*store_->Exists("bucket", "linkdir/secret"));
  EXPECT_FALSE(*store_->Exists("bucket", "dir/linkfile"));
  EXPECT_THAT(*store_->ListObjects("bucket", ""), IsEmpty());
  EXPECT_THAT(*store_->ListObjects("bucket", "linkdir/"), IsEmpty());

  // Writing through a symlinked directory is refused; deleting through it does nothing.
  Status put = PutKey("linkdir/new");
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition) << put;
  EXPECT_FALSE(fs::exists(base_ / "outside" / "new"));
  EXPECT_TRUE(store_->Delete("bucket", "linkdir/secret").ok());
  EXPECT_TRUE(fs::exists(base_ / "outside" / "secret"));

  // Overwriting a symlinked object replaces the link, never the file it points to.
  ASSERT_TRUE(PutKey("dir/linkfile", "replaced").ok());
  EXPECT_EQ(*ReadFile(base_ / "outside" / "secret"), "secret data");
  EXPECT_EQ(*GetString(*store_, "bucket", "dir/linkfile"), "replaced");
}

TEST_F(LocalObjectStoreTest, SymlinkedBucketIsNotFollowed) {
  fs::create_directory_symlink(base_ / "outside", root_ / "linked");
  EXPECT_EQ(PutString(*store_, "linked", "k", "v").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(fs::is_empty(base_ / "outside"));
}

TEST_F(LocalObjectStoreTest, WritesLeaveNoTemporaryFiles) {
  ASSERT_TRUE(PutKey("a/b/c", "data").ok());
  testing::PseudoRandomSource failing({.seed = 1,
                                       .length = 100,
                                       .fail_with = absl::CancelledError("stop"),
                                       .fail_after = 10});
  EXPECT_FALSE(store_->Put("bucket", "a/b/d", failing).ok());
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(root_ / "bucket")) {
    names.push_back(fs::relative(e.path(), root_ / "bucket").string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ElementsAre("a", "a/b", "a/b/c"));
  EXPECT_EQ(*ReadFile(root_ / "bucket" / "a" / "b" / "c"), "data");
}

TEST_F(LocalObjectStoreTest, TakeableFilesAreLinkedOtherFilesCopied) {
  // A finished scratch file on the same file system becomes the object without a copy (the same
  // inode), readable like any object; a plain file source is copied.
  const fs::path scratch = base_ / "outside" / "archive";
  { std::ofstream(scratch) << "archive bytes"; }
  fs::permissions(scratch, fs::perms::owner_read | fs::perms::owner_write);
  auto takeable = TakeableFileSource(scratch);
  ASSERT_TRUE(takeable.ok()) << takeable.status();
  ASSERT_TRUE(store_->Put("bucket", "b/archive.tar.gz", **takeable).ok());
  const fs::path object = root_ / "bucket" / "b" / "archive.tar.gz";
  EXPECT_EQ(*ReadFile(object), "archive bytes");
  EXPECT_TRUE(fs::equivalent(object, scratch));
  EXPECT_EQ(fs::status(object).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  fs::remove(scratch);  // the caller deletes its scratch file: the object stays
  EXPECT_EQ(*ReadFile(object), "archive bytes");
  EXPECT_THAT(*store_->ListObjects("bucket", "b/"), ElementsAre("b/archive.tar.gz"));

  { std::ofstream(scratch) << "plain"; }
  auto plain = FileSource(scratch);
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(store_->Put("bucket", "b/plain", **plain).ok());
  EXPECT_FALSE(fs::equivalent(root_ / "bucket" / "b" / "plain", scratch));
  EXPECT_EQ(*ReadFile(root_ / "bucket" / "b" / "plain"), "plain");
}

TEST_F(LocalObjectStoreTest, TemporaryFilesAreNotListed) {
  ASSERT_TRUE(PutKey("a/real").ok());
  std::ofstream(root_ / "bucket" / "a" / ".lifeboat-tmp-123-0-0") << "partial";
  EXPECT_THAT(*store_->ListObjects("bucket", ""), ElementsAre("a/real"));
}

TEST_F(LocalObjectStoreTest, DeleteRemovesEmptyDirectories) {
  ASSERT_TRUE(PutKey("backups/b1/x").ok());
  ASSERT_TRUE(PutKey("backups/b2/y").ok());
  ASSERT_TRUE(store_->Delete("bucket", "backups/b1/x").ok());
  EXPECT_FALSE(fs::exists(root_ / "bucket" / "backups" / "b1"));
  EXPECT_TRUE(fs::exists(root_ / "bucket" / "backups" / "b2" / "y"));
  EXPECT_THAT(*store_->ListCommonPrefixes("bucket", "backups/", "/"), ElementsAre("backups/b2/"));
}

TEST_F(LocalObjectStoreTest, KeyThatIsAlsoADirectoryIsFailedPrecondition) {
  ASSERT_TRUE(PutKey("a/b").ok());
  EXPECT_EQ(PutKey("a").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PutKey("a/b/c").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*GetString(*store_, "bucket", "a/b"), "x");
}

TEST_F(LocalObjectStoreTest, SignedUrlIsAPercentEncodedFileUrl) {
  auto url = store_->CreateSignedUrl("bucket", "dir/a b#c?d%e", std::chrono::seconds(600));
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->starts_with("file://" + root_.string() + "/bucket/dir/a%20b%23c%3Fd%25e"))
      << *url;
}

TEST(LocalObjectStoreFactoryTest, Config) {
  auto dir = MakeTempDir();
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(NewLocalObjectStore({.config = {{"root", dir->string()}}}).ok());
  EXPECT_TRUE(NewLocalObjectStore(
                  {.config = {{"root", dir->string()}, {"bucket", "b"}, {"prefix", "p"}}})
                  .ok());
  auto missing = NewLocalObjectStore({});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("\"root\""));
  auto unknown = NewLocalObjectStore({.config = {{"root", dir->string()}, {"rooot", "x"}}});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("rooot"));
  EXPECT_EQ(NewLocalObjectStore({.config = {{"root", "relative/dir"}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewLocalObjectStore({.config = {{"root", (*dir / "missing").string()}}})
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  fs::remove_all(*dir);
}

}  // namespace
}  // namespace lifeboat::storage::local
