#include "lifeboat/archive/writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lifeboat/archive/layout.h"
#include "lifeboat/archive/reader.h"
#include "src/archive/hostile_archives.h"
#include "src/archive/tar_format.h"

namespace lifeboat::archive {
namespace {

using testing::CountGzipMembers;
using testing::Gunzip;
using ::testing::HasSubstr;

using Files = std::vector<std::pair<std::string, std::string>>;

std::chrono::system_clock::time_point At(int64_t seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

std::string Write(const Files& files, WriterOptions options) {
  std::string out;
  auto sink = StringSink(&out);
  auto writer = ArchiveWriter::Create(sink.get(), options);
  EXPECT_TRUE(writer.ok()) << writer.status();
  for (const auto& [path, data] : files) EXPECT_TRUE((*writer)->Add(path, data).ok()) << path;
  EXPECT_TRUE((*writer)->Finish().ok());
  return out;
}

Files Read(std::string_view gz) {
  ViewSource source(gz);
  auto reader = ArchiveReader::Open(&source);
  EXPECT_TRUE(reader.ok());
  Files out;
  while (true) {
    auto e = (*reader)->Next();
    EXPECT_TRUE(e.ok()) << e.status();
    if (!e.ok() || !e->has_value()) break;
    out.emplace_back((*e)->path, (*e)->data);
  }
  return out;
}

// A pseudo-random, poorly compressible payload.
std::string Noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (char& c : s) {
    seed = seed * 1664525 + 1013904223;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

Files Sample() {
  Files files = {{VersionPath(), VersionFileContents()}};
  for (int i = 0; i < 200; ++i) {
    std::string name = "cm-" + std::to_string(i);
    std::string json = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" +
                       name + "\"},\"data\":{\"k\":\"" + Noise(50 + i * 7, i) + "\"}}";
    files.emplace_back(ItemPath("configmaps", "ns", name), json);
    files.emplace_back(PreferredVersionItemPath("configmaps", "v1", "ns", name), json);
  }
  files.emplace_back(ItemPath("big", "", "blob"), Noise(3 << 20, 7));
  return files;
}

TEST(ArchiveWriterTest, RoundTrip) {
  Files files = Sample();
  WriterOptions options;
  options.mtime = At(1'700'000'000);
  std::string gz = Write(files, options);
  EXPECT_EQ(Read(gz), files);
}

TEST(ArchiveWriterTest, EmptyArchiveIsValid) {
  std::string gz = Write({}, WriterOptions());
  EXPECT_EQ(Gunzip(gz), std::string(1024, '\0'));
  EXPECT_TRUE(Read(gz).empty());
}

TEST(ArchiveWriterTest, WritesParallelMembersInOrder) {
  Files files = Sample();
  WriterOptions options;
  options.member_bytes = 64 << 10;
  options.threads = 4;
  std::string gz = Write(files, options);
  EXPECT_GT(CountGzipMembers(gz), 40);
  EXPECT_EQ(Read(gz), files);
}

TEST(ArchiveWriterTest, DeterministicForSameInputAndMtime) {
  Files files = Sample();
  WriterOptions a;
  a.mtime = At(1'700'000'000);
  a.threads = 1;
  a.member_bytes = 100'000;
  WriterOptions b = a;
  b.threads = 4;
  std::string first = Write(files, a);
  EXPECT_EQ(first, Write(files, a));
  EXPECT_EQ(first, Write(files, b));  // thread count never changes the bytes
  WriterOptions c = a;
  c.member_bytes = 1 << 20;  // other cut points: other gzip bytes, same tar stream
  std::string other = Write(files, c);
  EXPECT_NE(first, other);
  EXPECT_EQ(Gunzip(first), Gunzip(other));
  WriterOptions d = a;
  d.mtime = At(1'700'000'001);
  EXPECT_NE(Gunzip(first), Gunzip(Write(files, d)));
}

TEST(ArchiveWriterTest, AFileInTwoPiecesIsTheFileJoined) {
  Files files = Sample();
  WriterOptions o;
  o.mtime = At(1'700'000'000);
  o.threads = 2;
  o.member_bytes = 1000;  // pieces cross member boundaries
  std::string pieces;
  auto sink = StringSink(&pieces);
  auto writer = ArchiveWriter::Create(sink.get(), o);
  ASSERT_TRUE(writer.ok()) << writer.status();
  size_t k = 0;
  for (const auto& [path, data] : files) {
    const size_t cut = (k++ * 7919) % (data.size() + 1);  // empty heads and bodies too
    std::string_view all(data);
    ASSERT_TRUE((*writer)->Add(path, all.substr(0, cut), all.substr(cut)).ok()) << path;
  }
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ(pieces, Write(files, o));
}

// The fast compressor (ISA-L when built with it) writes the same tar stream in gzip members that
// every reader accepts, incompressible pieces included; archives are larger than libdeflate's
// level 6 only when ISA-L is in use.
TEST(ArchiveWriterTest, FastestCompressorWritesTheSameTarStream) {
  Files files = Sample();
  // Highly repetitive items, like a backup's (each item twice), so sizes can be compared.
  for (int i = 0; i < 2000; ++i) {
    const std::string name = "s-" + std::to_string(i);
    std::string json = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"" +
                       name + "\"},\"data\":{\"k\":\"" + std::string(200, 'a' + i % 26) + "\"}}";
    files.emplace_back(ItemPath("secrets", "ns", name), json);
    files.emplace_back(PreferredVersionItemPath("secrets", "v1", "ns", name), json);
  }
  WriterOptions slow;
  slow.mtime = At(1'700'000'000);
  slow.member_bytes = 256 << 10;
  WriterOptions fast = slow;
  fast.compressor = Compressor::kFastest;
  fast.level = 1;
  std::string a = Write(files, slow);
  std::string b = Write(files, fast);
  EXPECT_EQ(Gunzip(a), Gunzip(b));
  EXPECT_EQ(Read(b), files);
  EXPECT_GT(CountGzipMembers(b), 4);
  EXPECT_EQ(b, Write(files, fast));  // the same build gives the same bytes
  WriterOptions four = fast;
  four.threads = 4;
  EXPECT_EQ(b, Write(files, four));
  if (FastCompressorAvailable()) {
    EXPECT_NE(a, b);
  } else {
    WriterOptions level1 = slow;
    level1.level = 1;
    EXPECT_EQ(b, Write(files, level1));  // kFastest falls back to libdeflate at `level`
  }
  // libarchive (bsdtar's reader) reads the multi-member output too.
  struct archive* ar = archive_read_new();
  archive_read_support_filter_gzip(ar);
  archive_read_support_format_tar(ar);
  ASSERT_EQ(archive_read_open_memory(ar, b.data(), b.size()), ARCHIVE_OK);
  struct archive_entry* entry = nullptr;
  size_t count = 0;
  while (archive_read_next_header(ar, &entry) == ARCHIVE_OK) ++count;
  archive_read_free(ar);
  EXPECT_EQ(count, files.size());
}

// The header fast path (a template plus the varying fields, checksum added up from them) gives
// blocks whose checksum and fields read back, for every header shape and extreme values.
TEST(ArchiveWriterTest, HeaderBlocksHaveValidChecksums) {
  const std::vector<std::string> paths = {
      "a", std::string(100, 'n'), "resources/" + std::string(120, 'p') + "/x.json",
      "resources/" + std::string(200, 'q') + "/" + std::string(120, 'r') + ".json",
      "resources/caf\xc3\xa9/x.json"};
  for (const std::string& path : paths) {
    for (int64_t size : {int64_t{0}, int64_t{1}, int64_t{511}, int64_t{1} << 20,
                         (int64_t{1} << 33) - 1}) {
      for (int64_t mtime : {int64_t{0}, int64_t{1'700'000'000}, (int64_t{1} << 33) - 1}) {
        std::string header = tar::EncodeFileHeader(path, size, mtime);
        ASSERT_EQ(header.size() % tar::kBlockSize, 0u) << path;
        std::string_view last = std::string_view(header).substr(header.size() - tar::kBlockSize);
        EXPECT_TRUE(tar::ChecksumOk(last)) << path << " " << size << " " << mtime;
        EXPECT_EQ(tar::ParseNumber(last.substr(tar::kSize.offset, tar::kSize.size)), size);
        EXPECT_EQ(tar::ParseNumber(last.substr(tar::kMtime.offset, tar::kMtime.size)), mtime);
        std::string appended = "prefix";
        tar::AppendFileHeader(appended, path, size, mtime);
        EXPECT_EQ(appended, "prefix" + header);
      }
    }
  }
}

TEST(ArchiveWriterTest, HeaderFieldsMatchGoArchiveTar) {
  WriterOptions options;
  options.mtime = At(1'700'000'000) + std::chrono::milliseconds(600);  // rounds up, like Go
  std::string tar = Gunzip(Write({{"metadata/version", "1.1.0\n"}}, options));
  ASSERT_EQ(tar.size(), 512u + 512u + 1024u);
  std::string_view h(tar.data(), 512);
  auto field = [&](tar::Field f) { return std::string(h.substr(f.offset, f.size)); };
  EXPECT_EQ(tar::CString(field(tar::kName)), "metadata/version");
  EXPECT_EQ(field(tar::kMode), std::string("0000755\0", 8));
  EXPECT_EQ(field(tar::kUid), std::string("0000000\0", 8));
  EXPECT_EQ(field(tar::kGid), std::string("0000000\0", 8));
  EXPECT_EQ(field(tar::kSize), std::string("00000000006\0", 12));
  EXPECT_EQ(field(tar::kMtime), std::string("14524770401\0", 12));  // 1700000001 in octal
  EXPECT_EQ(field(tar::kTypeflag), "0");
  EXPECT_EQ(field(tar::kMagic) + field(tar::kVersion), std::string("ustar\0"
                                                                   "00",
                                                                   8));
  EXPECT_EQ(field(tar::kUname), std::string(32, '\0'));
  EXPECT_EQ(field(tar::kGname), std::string(32, '\0'));
  EXPECT_EQ(field(tar::kDevmajor), std::string("0000000\0", 8));
  EXPECT_EQ(field(tar::kDevminor), std::string("0000000\0", 8));
  EXPECT_EQ(field(tar::kPrefix), std::string(155, '\0'));
  std::string sum = field(tar::kChecksum);
  EXPECT_EQ(sum.substr(6), std::string("\0 ", 2));  // six digits, NUL, space
  EXPECT_TRUE(tar::ChecksumOk(h));
  EXPECT_EQ(tar.substr(512, 6), "1.1.0\n");
  EXPECT_EQ(tar.substr(1024), std::string(1024, '\0'));  // no record padding
}

TEST(ArchiveWriterTest, LongNamesUseUstarPrefixOrPax) {
  std::string split = "resources/" + std::string(60, 'c') + ".example.com/namespaces/ns/" +
                      std::string(40, 'n') + ".json";  // > 100 bytes, splits at a '/'
  std::string pax = "resources/x.io/namespaces/ns/" + std::string(150, 'p') + ".json";
  std::string utf8 = "resources/configmaps/namespaces/ns/caf\xc3\xa9.json";
  Files files = {{split, "1"}, {pax, "2"}, {utf8, "3"}};
  std::string gz = Write(files, WriterOptions());
  EXPECT_EQ(Read(gz), files);

  std::string tar = Gunzip(gz);
  // 1: USTAR with prefix.
  EXPECT_EQ(tar::CString(tar.substr(tar::kPrefix.offset, tar::kPrefix.size)),
            split.substr(0, split.rfind('/')));
  EXPECT_EQ(tar[tar::kTypeflag.offset], '0');
  // 2: a PAX header named like Go names it, then the file header with a truncated name.
  size_t at = 1024;
  EXPECT_EQ(tar[at + tar::kTypeflag.offset], 'x');
  EXPECT_EQ(tar::CString(tar.substr(at, 100)),
            ("resources/x.io/namespaces/ns/PaxHeaders.0/" + std::string(150, 'p')).substr(0, 100));
  std::string record = " path=" + pax + "\n";
  EXPECT_EQ(tar.substr(at + 512, 3 + record.size()), std::to_string(3 + record.size()) + record);
  EXPECT_EQ(tar.substr(at + 1024, 100), pax.substr(0, 100));
  // 3: non-ASCII names need PAX too; the ustar name drops the non-ASCII bytes.
  at = tar.find("caf.json");
  ASSERT_NE(at, std::string::npos);
}

TEST(ArchiveWriterTest, LibarchiveReadsTheOutput) {
  Files files = {{VersionPath(), VersionFileContents()},
                 {"resources/" + std::string(120, 'l') + "/cluster/x.json", "{}"},
                 {ItemPath("pods", "ns", "p"), "{\"kind\":\"Pod\"}"}};
  WriterOptions options;
  options.member_bytes = 512;
  std::string gz = Write(files, options);
  struct archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  ASSERT_EQ(archive_read_open_memory(a, gz.data(), gz.size()), ARCHIVE_OK);
  Files got;
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    EXPECT_EQ(archive_entry_filetype(e), AE_IFREG);
    EXPECT_EQ(archive_entry_perm(e), 0755);
    EXPECT_EQ(archive_entry_uid(e), 0);
    std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
    archive_read_data(a, data.data(), data.size());
    got.emplace_back(archive_entry_pathname(e), data);
  }
  archive_read_free(a);
  EXPECT_EQ(got, files);
}

TEST(ArchiveWriterTest, RejectsBadPathsAndOptions) {
  std::string out;
  auto sink = StringSink(&out);
  auto writer = ArchiveWriter::Create(sink.get(), WriterOptions());
  ASSERT_TRUE(writer.ok());
  for (const std::string& bad : std::vector<std::string>{"", "/abs", "a/../b", "a//b", "./a",
                                                         "a\\b", "a/", std::string("a\0b", 3)}) {
    Status s = (*writer)->Add(bad, "x");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ((*writer)->entries(), 0);
  EXPECT_TRUE((*writer)->Add("ok", "x").ok());  // a refused path does not break the writer
  EXPECT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ((*writer)->Add("late", "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*writer)->entries(), 1);
  EXPECT_EQ((*writer)->uncompressed_bytes(), 512 + 512 + 1024);

  for (auto mutate : std::vector<void (*)(WriterOptions&)>{
           [](WriterOptions& o) { o.level = 0; }, [](WriterOptions& o) { o.level = 13; },
           [](WriterOptions& o) { o.threads = 0; }, [](WriterOptions& o) { o.member_bytes = 100; },
           [](WriterOptions& o) { o.mtime = At(-5); }}) {
    WriterOptions o;
    mutate(o);
    EXPECT_EQ(ArchiveWriter::Create(sink.get(), o).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ArchiveWriter::Create(nullptr, WriterOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ArchiveWriterTest, SinkErrorsBreakTheWriter) {
  class FailingSink : public ByteSink {
   public:
    Status Write(std::string_view) override { return absl::UnavailableError("bucket went away"); }
    Status Close() override { return absl::OkStatus(); }
  } sink;
  WriterOptions options;
  options.member_bytes = 512;
  options.threads = 1;
  auto writer = ArchiveWriter::Create(&sink, options);
  ASSERT_TRUE(writer.ok());
  Status s;
  for (int i = 0; i < 10 && s.ok(); ++i) s = (*writer)->Add("f" + std::to_string(i), "data");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  Status later = (*writer)->Add("g", "x");
  EXPECT_EQ(later.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(later.message(), HasSubstr("bucket went away"));
  EXPECT_FALSE((*writer)->Finish().ok());
}

}  // namespace
}  // namespace lifeboat::archive
