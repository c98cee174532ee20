#include "lifeboat/common/byte_stream.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "byte_stream_test.XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::vector<std::string> Entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  fs::path path_;
};

void WriteRaw(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  f << data;
}

std::string ReadRaw(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

int ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return static_cast<int>(st.st_mode & 07777);
}

class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t m) : old_(::umask(m)) {}
  ~UmaskGuard() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(StringSourceTest, ReadInChunksThenEof) {
  auto src = StringSource("hello world");
  EXPECT_EQ(src->Size(), 11);
  char buf[4];
  std::string got;
  while (true) {
    auto n = src->Read(std::span<char>(buf, sizeof(buf)));
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    EXPECT_LE(*n, sizeof(buf));
    got.append(buf, *n);
  }
  EXPECT_EQ(got, "hello world");
  auto n = src->Read(std::span<char>(buf, sizeof(buf)));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST(StringSourceTest, RewindRestarts) {
  auto src = StringSource("abc");
  auto first = ReadAll(*src);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "abc");
  auto again = ReadAll(*src);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, "");
  ASSERT_TRUE(src->Rewind().ok());
  auto third = ReadAll(*src);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, "abc");
}

TEST(StringSourceTest, EmptySource) {
  auto src = StringSource("");
  EXPECT_EQ(src->Size(), 0);
  auto all = ReadAll(*src);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, "");
}

TEST(ByteSourceTest, DefaultRewindUnimplementedAndSizeUnknown) {
  class Once : public ByteSource {
   public:
    StatusOr<size_t> Read(std::span<char>) override { return size_t{0}; }
  } once;
  EXPECT_EQ(once.Rewind().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(once.Size(), -1);
}

TEST(ReadAllTest, MaxBytes) {
  auto src = StringSource("0123456789");
  EXPECT_EQ(ReadAll(*src, 9).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(src->Rewind().ok());
  auto ok = ReadAll(*src, 10);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "0123456789");
}

TEST(CopyTest, CopiesLargeData) {
  std::string data(1 << 20, '\0');
  std::mt19937 rng(1);
  for (auto& c : data) c = static_cast<char>(rng());
  auto src = StringSource(data);
  std::string out;
  auto sink = StringSink(&out);
  auto n = Copy(*src, *sink);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, static_cast<int64_t>(data.size()));
  EXPECT_TRUE(sink->Close().ok());
  EXPECT_EQ(out, data);
}

TEST(StringSinkTest, Appends) {
  std::string out = "pre-";
  auto sink = StringSink(&out);
  ASSERT_TRUE(sink->Write("a").ok());
  ASSERT_TRUE(sink->Write("").ok());
  ASSERT_TRUE(sink->Write("bc").ok());
  ASSERT_TRUE(sink->Close().ok());
  EXPECT_EQ(out, "pre-abc");
}

TEST(FileSourceTest, ReadsFileAndRewinds) {
  TempDir dir;
  fs::path p = dir.path() / "f.txt";
  WriteRaw(p, "file contents\n");
  auto src = FileSource(p);
  ASSERT_TRUE(src.ok()) << src.status();
  EXPECT_EQ((*src)->Size(), 14);
  auto all = ReadAll(**src);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, "file contents\n");
  ASSERT_TRUE((*src)->Rewind().ok());
  all = ReadAll(**src);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, "file contents\n");
}

TEST(FileSourceTest, MissingIsNotFound) {
  TempDir dir;
  auto src = FileSource(dir.path() / "missing");
  EXPECT_EQ(src.status().code(), absl::StatusCode::kNotFound);
}

TEST(FileSourceTest, DirectoryIsRejected) {
  TempDir dir;
  auto src = FileSource(dir.path());
  EXPECT_FALSE(src.ok());
}

TEST(ReadFileTest, ReadsWholeFile) {
  TempDir dir;
  fs::path p = dir.path() / "f";
  std::string data(200000, 'x');
  data[12345] = '\0';
  WriteRaw(p, data);
  auto got = ReadFile(p);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, data);
}

TEST(ReadFileTest, MaxBytesIsFailedPrecondition) {
  TempDir dir;
  fs::path p = dir.path() / "f";
  WriteRaw(p, "0123456789");
  EXPECT_EQ(ReadFile(p, 9).status().code(), absl::StatusCode::kFailedPrecondition);
  auto exact = ReadFile(p, 10);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(*exact, "0123456789");
  EXPECT_EQ(ReadFile(p, 0).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ReadFileTest, NotFound) {
  TempDir dir;
  EXPECT_EQ(ReadFile(dir.path() / "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(ReadFileTest, EmptyFile) {
  TempDir dir;
  fs::path p = dir.path() / "empty";
  WriteRaw(p, "");
  auto got = ReadFile(p, 0);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "");
}

TEST(AtomicFileSinkTest, FileAbsentUntilClose) {
  TempDir dir;
  fs::path p = dir.path() / "out.txt";
  auto sink = AtomicFileSink(p);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write("hello ").ok());
  ASSERT_TRUE((*sink)->Write("world").ok());
  EXPECT_FALSE(fs::exists(p));
  ASSERT_TRUE((*sink)->Close().ok());
  EXPECT_TRUE(fs::exists(p));
  EXPECT_EQ(ReadRaw(p), "hello world");
  EXPECT_THAT(dir.Entries(), ::testing::ElementsAre("out.txt"));
  // Writes and Close after Close fail.
  EXPECT_FALSE((*sink)->Write("x").ok());
  EXPECT_FALSE((*sink)->Close().ok());
  EXPECT_EQ(ReadRaw(p), "hello world");
}

TEST(ScratchFileSinkTest, WritesInPlaceAndTruncates) {
  TempDir dir;
  fs::path p = dir.path() / "scratch";
  WriteRaw(p, "an older, longer content");
  auto sink = ScratchFileSink(p);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write("hello ").ok());
  ASSERT_TRUE((*sink)->Write("world").ok());
  ASSERT_TRUE((*sink)->Close().ok());
  EXPECT_EQ(ReadRaw(p), "hello world");
  EXPECT_EQ(fs::status(p).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_THAT(dir.Entries(), ::testing::ElementsAre("scratch"));
  EXPECT_FALSE((*sink)->Write("x").ok());
  EXPECT_FALSE((*sink)->Close().ok());
  EXPECT_FALSE(ScratchFileSink(dir.path() / "missing" / "f").ok());

  // With early writeback (the kernel is asked to write each few MiB as they come): the same
  // bytes, whatever the pieces.
  const fs::path big = dir.path() / "big";
  auto early = ScratchFileSink(big, 0600, /*early_writeback=*/true);
  ASSERT_TRUE(early.ok()) << early.status();
  std::string want;
  for (int i = 0; i < 700; ++i) {
    std::string piece(10000 + i, static_cast<char>('a' + i % 26));
    want += piece;
    ASSERT_TRUE((*early)->Write(piece).ok());
  }
  ASSERT_TRUE((*early)->Close().ok());
  EXPECT_EQ(ReadRaw(big), want);
  auto source = TakeableFileSource(big);
  ASSERT_TRUE(source.ok());
  ASSERT_NE((*source)->TakeableFile(), nullptr);
  EXPECT_EQ(*(*source)->TakeableFile(), big);
  EXPECT_EQ((*source)->Size(), static_cast<int64_t>(want.size()));
  auto plain = FileSource(big);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->TakeableFile(), nullptr);
}

TEST(AtomicFileSinkTest, ReplacesExistingOnlyOnClose) {
  TempDir dir;
  fs::path p = dir.path() / "out.txt";
  WriteRaw(p, "old");
  auto sink = AtomicFileSink(p);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("new contents").ok());
  EXPECT_EQ(ReadRaw(p), "old");
  ASSERT_TRUE((*sink)->Close().ok());
  EXPECT_EQ(ReadRaw(p), "new contents");
}

TEST(AtomicFileSinkTest, DestroyedWithoutCloseLeavesNothing) {
  TempDir dir;
  fs::path p = dir.path() / "out.txt";
  {
    auto sink = AtomicFileSink(p);
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE((*sink)->Write("partial").ok());
    EXPECT_EQ(dir.Entries().size(), 1u);  // the temporary file
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(dir.Entries().empty());
}

TEST(AtomicFileSinkTest, DestroyedWithoutCloseKeepsOldFile) {
  TempDir dir;
  fs::path p = dir.path() / "out.txt";
  WriteRaw(p, "old");
  {
    auto sink = AtomicFileSink(p);
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE((*sink)->Write("partial").ok());
  }
  EXPECT_EQ(ReadRaw(p), "old");
  EXPECT_THAT(dir.Entries(), ::testing::ElementsAre("out.txt"));
}

TEST(AtomicFileSinkTest, ModeHonouredDespiteUmask) {
  TempDir dir;
  UmaskGuard guard(022);
  fs::path secret = dir.path() / "secret";
  ASSERT_TRUE(WriteFileAtomically(secret, "s3cr3t", 0600).ok());
  EXPECT_EQ(ModeOf(secret), 0600);
  EXPECT_EQ(ReadRaw(secret), "s3cr3t");

  fs::path shared = dir.path() / "shared";
  ASSERT_TRUE(WriteFileAtomically(shared, "x", 0664).ok());
  EXPECT_EQ(ModeOf(shared), 0664);  // umask 022 would narrow it to 0644

  fs::path def = dir.path() / "default";
  ASSERT_TRUE(WriteFileAtomically(def, "x").ok());
  EXPECT_EQ(ModeOf(def), 0644);
}

TEST(AtomicFileSinkTest, ModeAppliedBeforeData) {
  TempDir dir;
  UmaskGuard guard(0);
  fs::path p = dir.path() / "secret";
  auto sink = AtomicFileSink(p, 0600);
  ASSERT_TRUE(sink.ok());
  auto entries = dir.Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(ModeOf(dir.path() / entries[0]), 0600);
  ASSERT_TRUE((*sink)->Write("s").ok());
  ASSERT_TRUE((*sink)->Close().ok());
  EXPECT_EQ(ModeOf(p), 0600);
}

TEST(AtomicFileSinkTest, ReplacingKeepsRequestedMode) {
  TempDir dir;
  fs::path p = dir.path() / "f";
  WriteRaw(p, "old");
  fs::permissions(p, fs::perms::owner_all | fs::perms::group_all | fs::perms::others_all);
  ASSERT_TRUE(WriteFileAtomically(p, "new", 0600).ok());
  EXPECT_EQ(ModeOf(p), 0600);
}

TEST(AtomicFileSinkTest, MissingDirectoryIsNotFound) {
  TempDir dir;
  auto sink = AtomicFileSink(dir.path() / "no" / "such" / "file");
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kNotFound);
}

TEST(AtomicFileSinkTest, CopyFromSourceIntoFile) {
  TempDir dir;
  fs::path in = dir.path() / "in";
  fs::path out = dir.path() / "out";
  std::string data(300000, 'q');
  WriteRaw(in, data);
  auto src = FileSource(in);
  ASSERT_TRUE(src.ok());
  auto sink = AtomicFileSink(out);
  ASSERT_TRUE(sink.ok());
  auto n = Copy(**src, **sink);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 300000);
  ASSERT_TRUE((*sink)->Close().ok());
  EXPECT_EQ(ReadRaw(out), data);
}

TEST(WriteFileAtomicallyTest, WritesAndOverwrites) {
  TempDir dir;
  fs::path p = dir.path() / "f";
  ASSERT_TRUE(WriteFileAtomically(p, "one").ok());
  EXPECT_EQ(ReadRaw(p), "one");
  ASSERT_TRUE(WriteFileAtomically(p, "").ok());
  EXPECT_EQ(ReadRaw(p), "");
  EXPECT_THAT(dir.Entries(), ::testing::ElementsAre("f"));
}

TEST(WriteFileAtomicallyTest, RelativePathInCurrentDirectory) {
  TempDir dir;
  fs::path old = fs::current_path();
  fs::current_path(dir.path());
  Status s = WriteFileAtomically("relative.txt", "rel");
  fs::current_path(old);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadRaw(dir.path() / "relative.txt"), "rel");
}

}  // namespace
}  // namespace lifeboat
