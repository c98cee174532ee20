#include "lifeboat/archive/reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lifeboat/archive/writer.h"
#include "src/archive/hostile_archives.h"

namespace lifeboat::archive {
namespace {

using ::testing::HasSubstr;
using namespace ::lifeboat::archive::testing;  // NOLINT

// Reads everything; the first error, or the entries.
StatusOr<std::vector<Entry>> ReadAllEntries(std::string_view gz, ReaderLimits limits = {}) {
  ViewSource source(gz);
  LIFEBOAT_ASSIGN_OR_RETURN(auto reader, ArchiveReader::Open(&source, limits));
  std::vector<Entry> out;
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<Entry> e, reader->Next());
    if (!e) return out;
    out.push_back(std::move(*e));
  }
}

void ExpectDataLoss(std::string_view gz, std::string_view fragment, ReaderLimits limits = {}) {
  StatusOr<std::vector<Entry>> r = ReadAllEntries(gz, limits);
  ASSERT_FALSE(r.ok()) << "accepted a hostile archive, expected: " << fragment;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr(fragment));
}

std::string Good() { return RawEntry("resources/pods/namespaces/a/p.json", "{}"); }

TEST(ArchiveReaderTest, ReadsHandMadeArchiveAndSkipsDirectories) {
  std::string tar = RawEntry("resources/", "", '5') + RawEntry("./", "", '5') +
                    RawEntry("./metadata/version", "1.1.0\n") + Good() + TarEnd();
  auto r = ReadAllEntries(Gzip(tar));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].path, "metadata/version");
  EXPECT_EQ((*r)[0].data, "1.1.0\n");
  EXPECT_EQ((*r)[1].path, "resources/pods/namespaces/a/p.json");
}

TEST(ArchiveReaderTest, AcceptsZeroRecordPaddingAndMultipleMembers) {
  std::string tar = Good() + TarEnd() + std::string(8192, '\0');  // GNU tar pads to 10 KiB
  std::string gz = Gzip(tar.substr(0, 700)) + Gzip(tar.substr(700));
  auto r = ReadAllEntries(gz);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 1u);
}

TEST(ArchiveReaderTest, RejectsUnsafePaths) {
  ExpectDataLoss(Gzip(RawEntry("/etc/passwd", "x") + TarEnd()), "\"/etc/passwd\": absolute");
  ExpectDataLoss(Gzip(RawEntry("resources/../../etc/cron", "x") + TarEnd()), "'..' path segment");
  ExpectDataLoss(Gzip(RawEntry("..", "x") + TarEnd()), "'..'");
  ExpectDataLoss(Gzip(RawEntry("a/./b", "x") + TarEnd()), "'.' path segment");
  ExpectDataLoss(Gzip(RawEntry("a//b", "x") + TarEnd()), "empty path segment");
  ExpectDataLoss(Gzip(RawEntry("a\\..\\b", "x") + TarEnd()), "backslash");
  ExpectDataLoss(Gzip(PaxEntry({{"path", std::string("a\0b", 3)}}) + Good() + TarEnd()),
                 "NUL byte");
  ExpectDataLoss(Gzip(PaxEntry({{"path", "/abs/pax"}}) + Good() + TarEnd()), "absolute");
  ExpectDataLoss(Gzip(RawEntry("../evil/", "", '5') + TarEnd()), "'..'");
  ExpectDataLoss(Gzip(PaxEntry({{"path", "a/" + std::string(300, 'n')}}) + Good() + TarEnd()),
                 "longer than");
  RawHeader prefixed;
  prefixed.name = "x.json";
  prefixed.prefix = "../../up";
  ExpectDataLoss(Gzip(RawEntry(prefixed, "x") + TarEnd()), "\"../../up/x.json\"");
}

TEST(ArchiveReaderTest, RejectsLinksDevicesAndFifos) {
  ExpectDataLoss(LibarchiveSpecial(SpecialKind::kSymlink, "resources/link"),
                 "\"resources/link\" is a symbolic link");
  ExpectDataLoss(LibarchiveSpecial(SpecialKind::kHardlink, "resources/hard"),
                 "\"resources/hard\" is a hard link");
  ExpectDataLoss(LibarchiveSpecial(SpecialKind::kCharDevice, "dev/null"), "character device");
  ExpectDataLoss(LibarchiveSpecial(SpecialKind::kBlockDevice, "dev/sda"), "block device");
  ExpectDataLoss(LibarchiveSpecial(SpecialKind::kFifo, "pipe"), "is a FIFO");
  ExpectDataLoss(Gzip(RawEntry("vol", "", 'V') + TarEnd()), "unsupported type");
  ExpectDataLoss(Gzip(RawEntry("././@LongLink", "target", 'K') + Good() + TarEnd()),
                 "GNU long link");
  ExpectDataLoss(Gzip(PaxEntry({{"GNU.sparse.major", "1"}}) + Good() + TarEnd()), "sparse");
}

TEST(ArchiveReaderTest, ReadsGnuLongNames) {
  std::string name =
      "resources/" + std::string(150, 'g') + "/namespaces/n/" + std::string(120, 'x') + ".json";
  auto r = ReadAllEntries(LibarchiveGnuTar(name, "{\"a\":1}"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].path, name);
  EXPECT_EQ((*r)[0].data, "{\"a\":1}");
}

TEST(ArchiveReaderTest, RejectsOversizeEntries) {
  ReaderLimits limits;
  limits.max_entry_bytes = 100;
  ExpectDataLoss(Gzip(RawEntry("big.json", std::string(101, 'x')) + TarEnd()),
                 "\"big.json\" declares 101 bytes", limits);
  // The header claims 1 GiB but the data is not there: refused before reading anything.
  RawHeader huge;
  huge.name = "huge.json";
  huge.size = int64_t{1} << 30;
  ExpectDataLoss(Gzip(huge.Encode()), "\"huge.json\" declares 1073741824 bytes", limits);
  // The ustar size is small but a PAX size record says otherwise.
  ExpectDataLoss(Gzip(PaxEntry({{"size", "5000"}}) + RawEntry("liar.json", "x") +
                      std::string(5000, 'y') + TarEnd()),
                 "\"liar.json\" declares 5000", limits);
  // A data size exactly at the limit is fine.
  EXPECT_TRUE(ReadAllEntries(Gzip(RawEntry("ok", std::string(100, 'x')) + TarEnd()), limits).ok());
}

TEST(ArchiveReaderTest, RejectsTotalsAndEntryCountsOverLimits) {
  ReaderLimits limits;
  limits.max_total_bytes = 4096;
  std::string tar;
  for (int i = 0; i < 5; ++i) tar += RawEntry("f" + std::to_string(i), std::string(600, 'a'));
  ExpectDataLoss(Gzip(tar + TarEnd()), "more than 4096 bytes", limits);
  ReaderLimits few;
  few.max_entries = 3;
  ExpectDataLoss(Gzip(tar + TarEnd()), "more than 3 entries", few);
}

TEST(ArchiveReaderTest, RejectsCompressionBombs) {
  std::string tar = RawEntry("bomb", std::string(16 << 20, '\0')) + TarEnd();
  std::string gz = Gzip(tar, 12);
  ReaderLimits limits;
  limits.max_expansion_ratio = 100;
  ExpectDataLoss(gz, "compression bomb", limits);
  // Under the default ratio (1000) the same bytes are close to deflate's maximum (~1032).
  ReaderLimits strict;
  strict.max_expansion_ratio = 1000;
  StatusOr<std::vector<Entry>> r = ReadAllEntries(gz, strict);
  if (!r.ok()) {
    EXPECT_THAT(r.status().message(), HasSubstr("compression bomb"));
  }
  // Small archives are never judged by their ratio.
  EXPECT_TRUE(
      ReadAllEntries(Gzip(RawEntry("z", std::string(512 << 10, '\0')) + TarEnd()), limits).ok());
}

TEST(ArchiveReaderTest, RejectsMalformedHeaders) {
  RawHeader bad_sum;
  bad_sum.name = "a";
  bad_sum.corrupt_checksum = true;
  ExpectDataLoss(Gzip(RawEntry(bad_sum, "x") + TarEnd()), "bad tar header checksum at offset 0");
  RawHeader bad_size;
  bad_size.name = "a";
  bad_size.size_field = "0000001x";
  ExpectDataLoss(Gzip(RawEntry(bad_size, "") + TarEnd()), "malformed size");
  RawHeader bad_magic;
  bad_magic.name = "a";
  bad_magic.magic = std::string("badmag\0\0", 8);
  ExpectDataLoss(Gzip(RawEntry(bad_magic, "x") + TarEnd()), "unrecognised tar header");
  ExpectDataLoss(Gzip(PaxEntry({{"size", "-5"}}) + Good() + TarEnd()), "bad size record");
  std::string broken_pax = PaxEntry({{"path", "a"}});
  broken_pax[512] = '5';  // record length no longer matches
  ExpectDataLoss(Gzip(broken_pax + Good() + TarEnd()), "malformed PAX header");
  ExpectDataLoss(Gzip(PaxEntry({{"path", "a"}}) + TarEnd()), "extended header without an entry");
}

TEST(ArchiveReaderTest, RejectsTruncation) {
  std::string tar = Good() + TarEnd();
  ExpectDataLoss(Gzip(tar.substr(0, 300)), "truncated tar header at offset 0");
  ExpectDataLoss(Gzip(tar.substr(0, 513)), "truncated archive: entry");
  ExpectDataLoss(Gzip(Good()), "no end-of-archive marker");
  ExpectDataLoss(Gzip(Good() + std::string(512, '\0')), "malformed end-of-archive marker");
  std::string gz = Gzip(tar);
  ExpectDataLoss(gz.substr(0, gz.size() - 3), "truncated gzip stream");
  ExpectDataLoss(gz.substr(0, 10), "truncated gzip stream");
  ExpectDataLoss("", "empty");
  ExpectDataLoss("plain text, not gzip", "not gzip");
}

TEST(ArchiveReaderTest, RejectsTrailingGarbageAndCorruption) {
  std::string tar = Good() + TarEnd();
  ExpectDataLoss(Gzip(tar) + "garbage", "trailing garbage after gzip member 1");
  ExpectDataLoss(Gzip(tar) + std::string(1, '\x1f'), "trailing garbage");
  ExpectDataLoss(Gzip(tar) + std::string(16, '\0'), "trailing garbage");
  ExpectDataLoss(Gzip(tar + "junk"), "trailing data after the end-of-archive marker");
  std::string gz = Gzip(tar);
  gz[gz.size() - 6] ^= 0x55;  // CRC-32
  ExpectDataLoss(gz, "corrupt gzip data");
}

TEST(ArchiveReaderTest, ErrorsAreSticky) {
  std::string gz = Gzip(Good() + RawEntry("/abs", "x") + TarEnd());
  ViewSource source(gz);
  auto reader = ArchiveReader::Open(&source);
  ASSERT_TRUE(reader.ok());
  auto first = (*reader)->Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  auto second = (*reader)->Next();
  ASSERT_FALSE(second.ok());
  auto third = (*reader)->Next();
  EXPECT_EQ(second.status(), third.status());
}

TEST(ArchiveReaderTest, EndIsStableAndSourceErrorsPassThrough) {
  std::string gz = Gzip(Good() + TarEnd());
  ViewSource source(gz);
  auto reader = ArchiveReader::Open(&source);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Next().value().has_value());
  EXPECT_FALSE((*reader)->Next().value().has_value());
  EXPECT_FALSE((*reader)->Next().value().has_value());
  EXPECT_GT((*reader)->compressed_bytes(), 0);
  EXPECT_EQ((*reader)->uncompressed_bytes(), 1024 + 1024);

  class FailingSource : public ByteSource {
   public:
    StatusOr<size_t> Read(std::span<char>) override {
      return absl::UnavailableError("connection reset");
    }
  } failing;
  auto r2 = ArchiveReader::Open(&failing);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ((*r2)->Next().status().code(), absl::StatusCode::kUnavailable);
}

TEST(ArchiveReaderTest, CheckedInHostileArchivesAreRejected) {
  const std::string dir = LIFEBOAT_SOURCE_DIR "/test/testdata/archive/hostile/";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"absolute-path.tar.gz", "absolute path"},
      {"dotdot.tar.gz", "'..' path segment"},
      {"symlink.tar.gz", "\"resources\" is a symbolic link"},
      {"hardlink.tar.gz", "\"h\" is a hard link"},
      {"fifo.tar.gz", "is a FIFO"},
      {"chardev.tar.gz", "character device"},
      {"bomb.tar.gz", "compression bomb"},
      {"truncated-gzip.tar.gz", "truncated gzip stream"},
      {"trailing-garbage.tar.gz", "trailing garbage"},
      {"bad-checksum.tar.gz", "bad tar header checksum"},
      {"no-end-marker.tar.gz", "no end-of-archive marker"},
  };
  ReaderLimits limits;
  limits.max_expansion_ratio = 200;
  for (const auto& [file, fragment] : cases) {
    StatusOr<std::string> gz = ReadFile(dir + file);
    ASSERT_TRUE(gz.ok()) << gz.status();
    SCOPED_TRACE(file);
    ExpectDataLoss(*gz, fragment, limits);
  }
}

TEST(ArchiveReaderTest, InvalidLimits) {
  ViewSource source("");
  ReaderLimits limits;
  limits.max_expansion_ratio = 0;
  EXPECT_EQ(ArchiveReader::Open(&source, limits).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ArchiveReader::Open(nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat::archive
