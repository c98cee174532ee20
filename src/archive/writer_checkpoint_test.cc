// ArchiveWriter::Checkpoint and continuing an archive from a checkpointed prefix (the backup
// engine's crash safety): the prefix alone is a complete gzip file of a tar stream cut at an
// entry boundary, and prefix + continuation holds exactly the tar stream a one-shot writer
// makes, readable by our reader, libarchive and gzip -d.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "lifeboat/archive/reader.h"
#include "lifeboat/archive/writer.h"
#include "src/archive/hostile_archives.h"
#include "src/archive/tar_format.h"

namespace lifeboat::archive {
namespace {

using testing::CountGzipMembers;
using testing::Gunzip;

using Files = std::vector<std::pair<std::string, std::string>>;

Files Sample(int n) {
  Files f;
  for (int i = 0; i < n; ++i) {
    std::string data;
    for (int k = 0; k < 50 + i * 37; ++k) data += static_cast<char>('a' + (i * 7 + k * 13) % 26);
    f.emplace_back("resources/configmaps/namespaces/ns" + std::to_string(i % 3) + "/cm-" +
                       std::to_string(i) + ".json",
                   data);
  }
  return f;
}

WriterOptions Options() {
  WriterOptions o;
  o.threads = 3;
  o.member_bytes = 2048;  // several members between checkpoints
  o.mtime = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  return o;
}

Files Read(std::string_view gz) {
  ViewSource source(gz);
  auto reader = ArchiveReader::Open(&source);
  EXPECT_TRUE(reader.ok()) << reader.status();
  Files out;
  if (!reader.ok()) return out;
  while (true) {
    auto e = (*reader)->Next();
    EXPECT_TRUE(e.ok()) << e.status();
    if (!e.ok() || !e->has_value()) break;
    out.emplace_back((*e)->path, (*e)->data);
  }
  return out;
}

std::string OneShot(const Files& files) {
  std::string out;
  auto sink = StringSink(&out);
  auto w = ArchiveWriter::Create(sink.get(), Options());
  EXPECT_TRUE(w.ok());
  for (const auto& [p, d] : files) EXPECT_TRUE((*w)->Add(p, d).ok());
  EXPECT_TRUE((*w)->Finish().ok());
  return out;
}

TEST(ArchiveWriterCheckpointTest, PrefixIsCompleteGzipOfTarCutAtEntryBoundary) {
  const Files files = Sample(20);
  std::string out;
  auto sink = StringSink(&out);
  auto w = ArchiveWriter::Create(sink.get(), Options());
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE((*w)->Add(files[i].first, files[i].second).ok());
  ASSERT_TRUE((*w)->Checkpoint().ok());
  const std::string tar = Gunzip(out);  // fails the test on a truncated member
  EXPECT_EQ(static_cast<int64_t>(tar.size()), (*w)->uncompressed_bytes());
  EXPECT_EQ(tar.size() % tar::kBlockSize, 0u);
  // A second checkpoint with nothing added writes nothing.
  const size_t size = out.size();
  ASSERT_TRUE((*w)->Checkpoint().ok());
  EXPECT_EQ(out.size(), size);
  // No end-of-archive blocks: the one-shot tar stream starts with exactly these bytes.
  const std::string whole = Gunzip(OneShot(files));
  EXPECT_EQ(whole.substr(0, tar.size()), tar);
  EXPECT_NE(whole.size(), tar.size());
}

TEST(ArchiveWriterCheckpointTest, ContinuationGivesTheOneShotTarStream) {
  const Files files = Sample(40);
  const std::string one_shot = OneShot(files);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{13}, size_t{39}}) {
    std::string out;
    int64_t entries = 0, bytes = 0;
    size_t prefix = 0;
    {
      auto sink = StringSink(&out);
      auto w = ArchiveWriter::Create(sink.get(), Options());
      ASSERT_TRUE(w.ok());
      for (size_t i = 0; i < cut; ++i) {
        ASSERT_TRUE((*w)->Add(files[i].first, files[i].second).ok());
        if (i % 5 == 4) {
          ASSERT_TRUE((*w)->Checkpoint().ok());
        }
      }
      ASSERT_TRUE((*w)->Checkpoint().ok());
      entries = (*w)->entries();
      bytes = (*w)->uncompressed_bytes();
      prefix = out.size();
      // Entries added after the checkpoint and never checkpointed are lost with the process.
      ASSERT_TRUE((*w)->Add("lost/after/checkpoint.json", "x").ok());
    }
    out.resize(prefix);  // what the journal's truncation does on resume
    std::string tail;
    auto sink = StringSink(&tail);
    WriterOptions o = Options();
    o.prior_entries = entries;
    o.prior_uncompressed_bytes = bytes;
    auto w = ArchiveWriter::Create(sink.get(), o);
    ASSERT_TRUE(w.ok());
    for (size_t i = cut; i < files.size(); ++i) {
      ASSERT_TRUE((*w)->Add(files[i].first, files[i].second).ok());
    }
    ASSERT_TRUE((*w)->Finish().ok());
    EXPECT_EQ((*w)->entries(), static_cast<int64_t>(files.size()));
    const std::string whole = out + tail;
    EXPECT_EQ(Gunzip(whole), Gunzip(one_shot)) << "cut " << cut;
    EXPECT_EQ(Read(whole), files) << "cut " << cut;
    EXPECT_GT(CountGzipMembers(whole), 1);
    EXPECT_EQ((*w)->uncompressed_bytes(), static_cast<int64_t>(Gunzip(whole).size()));
  }
}

// A prefix written with one compressor and continued with the other (a backup resumed by a
// build with other defaults) is still one archive: members are independent.
TEST(ArchiveWriterCheckpointTest, ContinuationMayUseTheOtherCompressor) {
  const Files files = Sample(30);
  for (Compressor first : {Compressor::kLibdeflate, Compressor::kFastest}) {
    std::string out;
    WriterOptions o = Options();
    o.compressor = first;
    int64_t entries = 0, bytes = 0;
    {
      auto sink = StringSink(&out);
      auto w = ArchiveWriter::Create(sink.get(), o);
      ASSERT_TRUE(w.ok());
      for (size_t i = 0; i < 11; ++i) ASSERT_TRUE((*w)->Add(files[i].first, files[i].second).ok());
      ASSERT_TRUE((*w)->Checkpoint().ok());
      entries = (*w)->entries();
      bytes = (*w)->uncompressed_bytes();
    }
    std::string tail;
    auto sink = StringSink(&tail);
    WriterOptions next = Options();
    next.compressor =
        first == Compressor::kLibdeflate ? Compressor::kFastest : Compressor::kLibdeflate;
    next.level = 1;
    next.prior_entries = entries;
    next.prior_uncompressed_bytes = bytes;
    auto w = ArchiveWriter::Create(sink.get(), next);
    ASSERT_TRUE(w.ok());
    for (size_t i = 11; i < files.size(); ++i) {
      ASSERT_TRUE((*w)->Add(files[i].first, files[i].second).ok());
    }
    ASSERT_TRUE((*w)->Finish().ok());
    EXPECT_EQ(Gunzip(out + tail), Gunzip(OneShot(files)));
    EXPECT_EQ(Read(out + tail), files);
  }
}

TEST(ArchiveWriterCheckpointTest, GzipAndPythonReadTheContinuedFile) {
  const Files files = Sample(12);
  std::string out;
  {
    auto sink = StringSink(&out);
    auto w = ArchiveWriter::Create(sink.get(), Options());
    ASSERT_TRUE(w.ok());
    for (size_t i = 0; i < 5; ++i) ASSERT_TRUE((*w)->Add(files[i].first, files[i].second).ok());
    ASSERT_TRUE((*w)->Checkpoint().ok());
  }
  {
    auto sink = StringSink(&out);  // appends
    auto w = ArchiveWriter::Create(sink.get(), Options());
    ASSERT_TRUE(w.ok());
    for (size_t i = 5; i < files.size(); ++i) {
      ASSERT_TRUE((*w)->Add(files[i].first, files[i].second).ok());
    }
    ASSERT_TRUE((*w)->Finish().ok());
  }
  const auto dir =
      std::filesystem::temp_directory_path() / ("lifeboat-ckpt-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "a.tar.gz";
  std::ofstream(path, std::ios::binary) << out;
  const std::string cmd = "gzip -dc " + path.string() + " | tar -tf - > " +
                          (dir / "gz.txt").string() +
                          " && /usr/bin/python3 -c 'import sys,tarfile; "
                          "print(\"\\n\".join(tarfile.open(sys.argv[1]).getnames()))' " +
                          path.string() + " > " + (dir / "py.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::string expected;
  for (const auto& [p, d] : files) expected += p + "\n";
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(slurp(dir / "gz.txt"), expected);
  EXPECT_EQ(slurp(dir / "py.txt"), expected);
  std::filesystem::remove_all(dir);
}

TEST(ArchiveWriterCheckpointTest, CheckpointAfterFinishAndBadPriorCounts) {
  std::string out;
  auto sink = StringSink(&out);
  auto w = ArchiveWriter::Create(sink.get(), Options());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ((*w)->Checkpoint().code(), absl::StatusCode::kFailedPrecondition);
  WriterOptions o = Options();
  o.prior_uncompressed_bytes = 100;  // not a whole number of tar blocks
  EXPECT_EQ(ArchiveWriter::Create(sink.get(), o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat::archive
