// The backup journal's files: checkpoint.json's structure (golden file
// test/testdata/backup/checkpoint-v1.json, the format of docs/formats/backup-journal.md), its
// round trip, rejection of damaged checkpoints, and the journal file's truncate-and-append.

#include "src/backup/journal.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"
#include "lifeboat/common/json.h"
#include "src/backup/item_backupper.h"

namespace lifeboat::backup {
namespace {

std::filesystem::path TempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("lifeboat-journal-test-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(d);
  return d;
}

Checkpoint Sample() {
  Checkpoint c;
  c.uid = "3f1c2a4e-0000-4000-8000-000000000001";
  api::BackupSpec spec;
  spec.included_namespaces = {"app"};
  c.spec_hash = SpecHash(spec);
  c.start_timestamp = "2026-01-02T03:04:05Z";
  c.expiration = "2026-02-01T03:04:05Z";
  c.archive_mtime = 1767323045;
  c.archive_bytes = 2048;
  c.archive_entries = 5;
  c.archive_tar_bytes = 5120;
  c.log_bytes = 300;
  c.sequence = 3;
  c.completed_tasks = {{"", "v1", "configmaps", "app", ""},
                       {"apps", "v1", "deployments", "app", ""}};
  c.discovery_warnings = {"metrics.k8s.io/v1beta1"};
  ItemBackupper::State items;
  items.counts = {2, 0, 0};
  items.written = {ItemKeyHash("configmaps/app/a"), ItemKeyHash("configmaps/app/b")};
  items.namespaces_used = {"app"};
  items.group_resources_used = {"configmaps"};
  items.resource_list = {{"v1/ConfigMap", "app/b\napp/a\n"}};
  c.items = ItemBackupper::StateToJson(items);
  c.hooks_attempted = 1;
  c.hooks_failed = 0;
  c.warnings.namespaces["app"] = {" resource: /configmaps name: /a message: /odd"};
  return c;
}

TEST(BackupJournalTest, CheckpointJsonMatchesGoldenFile) {
  const std::string got = GoJsonIndent(CheckpointToJson(Sample())) + "\n";
  const std::string path =
      std::string(LIFEBOAT_SOURCE_DIR) + "/test/testdata/backup/checkpoint-v1.json";
  if (std::getenv("LIFEBOAT_UPDATE_GOLDEN") != nullptr) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << got;
  }
  auto want = ReadFile(path);
  ASSERT_TRUE(want.ok()) << want.status();
  EXPECT_EQ(got, *want) << "set LIFEBOAT_UPDATE_GOLDEN=1 to rewrite " << path;
  // The golden file reads back into the same checkpoint (and item state).
  auto parsed = ParseJson(*want);
  ASSERT_TRUE(parsed.ok());
  auto c = CheckpointFromJson(*parsed);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(GoJsonIndent(CheckpointToJson(*c)) + "\n", *want);
  auto items = ItemBackupper::ParseState(c->items);
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(items->counts.items, 2);
  EXPECT_EQ(items->written.size(), 2u);
  EXPECT_EQ(items->resource_list.at("v1/ConfigMap"), "app/b\napp/a\n");
}

TEST(BackupJournalTest, SpecHashFollowsTheSpec) {
  api::BackupSpec a, b;
  a.included_namespaces = {"app"};
  b.included_namespaces = {"app"};
  EXPECT_EQ(SpecHash(a), SpecHash(b));
  b.ttl = std::chrono::hours(1);
  EXPECT_NE(SpecHash(a), SpecHash(b));
}

TEST(BackupJournalTest, DamagedCheckpointsAreDataLoss) {
  const boost::json::object good = CheckpointToJson(Sample());
  auto without = [&](std::string_view key) {
    boost::json::object o = good;
    o.erase(key);
    return boost::json::value(o);
  };
  auto with = [&](std::string_view key, boost::json::value v) {
    boost::json::object o = good;
    o[key] = std::move(v);
    return boost::json::value(o);
  };
  for (const boost::json::value& bad :
       {boost::json::value("text"), without("version"), with("version", 2), without("items"),
        with("completedTasks", boost::json::array{boost::json::array{"", "v1"}}),
        with("archive", boost::json::object{{"bytes", -1}}), without("results")}) {
    EXPECT_EQ(CheckpointFromJson(bad).status().code(), absl::StatusCode::kDataLoss) << bad;
  }
  boost::json::object items = good.at("items").as_object();
  items["written"] = "not base64!";
  EXPECT_EQ(ItemBackupper::ParseState(items).status().code(), absl::StatusCode::kDataLoss);
  items = good.at("items").as_object();
  items["written"] = "AAAA";  // 3 bytes: not whole hashes
  EXPECT_EQ(ItemBackupper::ParseState(items).status().code(), absl::StatusCode::kDataLoss);
}

TEST(BackupJournalTest, SaveLoadAndFilePermissions) {
  const auto root = TempDir("save");
  const auto dir = JournalDir(root, "uid-1");
  EXPECT_EQ(LoadCheckpoint(dir).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(CreateJournalDir(dir).ok());
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(SaveCheckpoint(dir, Sample()).ok());
  auto loaded = LoadCheckpoint(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(CheckpointToJson(*loaded), CheckpointToJson(Sample()));
  std::ofstream(dir / kJournalCheckpoint) << "{\"version\":1,";
  EXPECT_EQ(LoadCheckpoint(dir).status().code(), absl::StatusCode::kDataLoss);
  RemoveJournal(dir);
  EXPECT_FALSE(std::filesystem::exists(dir));
  std::filesystem::remove_all(root);
}

TEST(BackupJournalTest, JournalFileTruncatesAndAppends) {
  const auto root = TempDir("file");
  ASSERT_TRUE(CreateJournalDir(root).ok());
  const auto path = root / "f";
  {
    auto f = JournalFile::Open(path, 0);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write("hello ").ok());
    ASSERT_TRUE((*f)->Sync().ok());
    EXPECT_EQ((*f)->size(), 6);
    ASSERT_TRUE((*f)->Write("lost tail").ok());  // written after the "checkpoint"
  }
  {
    auto f = JournalFile::Open(path, 6);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write("world").ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  EXPECT_EQ(*ReadFile(path), "hello world");
  EXPECT_EQ(JournalFile::Open(path, 100).status().code(), absl::StatusCode::kDataLoss);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace lifeboat::backup
