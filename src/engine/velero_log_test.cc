// BackupLog's Velero formats (logrus text lines, the results file), backup and restore forms.

#include "src/engine/velero_log.h"

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/gzip.h"

namespace lifeboat::engine {
namespace {

TEST(BackupLogTest, LinesAndResultsInVeleroForm) {
  std::string gz;
  auto sink = StringSink(&gz);
  FakeClock clock(std::chrono::system_clock::from_time_t(1777600800));  // 2026-05-01T02:00:00Z
  BackupLog log(sink.get(), "velero/b1", &clock);
  log.Info("Backing up item", {"pods", "shop", "web-1"});
  log.Warn("some warning text", {"pods", "shop", "web-1"});
  log.Error("Error executing hook", {"pods", "shop", "web-1"}, "command terminated with exit code 1");
  log.Error("Error listing items", {"nodes", "", ""}, "forbidden");
  EXPECT_EQ(log.warnings(), 1);
  EXPECT_EQ(log.errors(), 2);
  EXPECT_EQ(boost::json::serialize(log.ResultsJson()),
            R"({"errors":{"velero":[" resource: /nodes message: /Error listing items error: /forbidden"],)"
            R"("namespaces":{"shop":[" resource: /pods name: /web-1 message: /Error executing hook error: /command terminated with exit code 1"]}},)"
            R"("warnings":{"namespaces":{"shop":[" resource: /pods name: /web-1 message: /some warning text"]}}})");
  ASSERT_TRUE(log.Close().ok());
  auto text = Gunzip(gz);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, ::testing::StartsWith(
                         "time=\"2026-05-01T02:00:00Z\" level=info msg=\"Backing up item\" "
                         "backup=velero/b1 name=web-1 namespace=shop resource=pods\n"));
  EXPECT_THAT(*text, ::testing::HasSubstr(
                         "level=error msg=\"Error executing hook\" backup=velero/b1 "
                         "error=\"command terminated with exit code 1\" name=web-1"));
  EXPECT_EQ(LogfmtValue("plain-value_1.2/x"), "plain-value_1.2/x");
  EXPECT_EQ(LogfmtValue("has space \"q\""), "\"has space \\\"q\\\"\"");
  EXPECT_EQ(LogfmtValue(""), "\"\"");
}

// The restore form: restore= last (keys sorted), messages as sentences, cluster-scoped items
// under "cluster", lists sorted.
TEST(BackupLogTest, RestoreForm) {
  std::string gz;
  auto sink = StringSink(&gz);
  FakeClock clock(std::chrono::system_clock::from_time_t(1777600800));
  BackupLog log(sink.get(), "velero/r1", &clock, LogKind::kRestore);
  log.Warn("could not restore, ConfigMap:b already exists", {"configmaps", "shop", "b"});
  log.Warn("could not restore, ConfigMap:a already exists", {"configmaps", "shop", "a"});
  log.Error("error restoring persistentvolumes/pv1", {"persistentvolumes", "", "pv1"},
            absl::InvalidArgumentError("bad spec"));
  log.Error("the restore was cancelled");
  EXPECT_EQ(boost::json::serialize(log.ResultsJson()),
            R"({"errors":{"velero":["the restore was cancelled"],"cluster":["error restoring persistentvolumes/pv1: bad spec"]},)"
            R"("warnings":{"namespaces":{"shop":["could not restore, ConfigMap:a already exists","could not restore, ConfigMap:b already exists"]}}})");
  EXPECT_EQ(log.warnings(), 2);
  EXPECT_EQ(log.errors(), 2);
  ASSERT_TRUE(log.Close().ok());
  auto text = Gunzip(gz);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, ::testing::HasSubstr(
                         "level=warning msg=\"could not restore, ConfigMap:b already exists\" "
                         "name=b namespace=shop resource=configmaps restore=velero/r1\n"));
  EXPECT_THAT(*text, ::testing::HasSubstr("error=\"bad spec\" name=pv1 resource=persistentvolumes restore=velero/r1\n"));
}

// Lines are gzipped a block at a time, each block one member: a large log is a multi-member
// file holding every line in order, whatever block boundaries fell where.
TEST(BackupLogTest, LargeLogIsManyMembersReadAsOne) {
  std::string gz;
  auto sink = StringSink(&gz);
  FakeClock clock(std::chrono::system_clock::from_time_t(1777600800));
  BackupLog log(sink.get(), "velero/b1", &clock);
  constexpr int kLines = 20000;  // ~2.6 MiB of lines
  for (int i = 0; i < kLines; ++i) {
    log.Info("Backing up item", "configmaps", "ns-" + std::to_string(i % 7),
             "cm-" + std::to_string(i));
  }
  ASSERT_TRUE(log.Close().ok());
  int members = 0;
  for (size_t at = gz.find("\x1f\x8b\x08"); at != std::string::npos;
       at = gz.find("\x1f\x8b\x08", at + 1)) {
    ++members;
  }
  EXPECT_GT(members, 5);
  auto text = Gunzip(gz, 64u << 20);
  ASSERT_TRUE(text.ok()) << text.status();
  std::vector<std::string> lines = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kLines));
  for (int i = 0; i < kLines; i += 997) {
    EXPECT_EQ(lines[static_cast<size_t>(i)],
              "time=\"2026-05-01T02:00:00Z\" level=info msg=\"Backing up item\" "
              "backup=velero/b1 name=cm-" +
                  std::to_string(i) + " namespace=ns-" + std::to_string(i % 7) +
                  " resource=configmaps");
  }
}

// A log with no line is still a gzip file (of nothing); a checkpoint leaves whole members of
// the lines so far, and the lines after it follow in later members.
TEST(BackupLogTest, EmptyLogAndCheckpointPrefix) {
  {
    std::string gz;
    auto sink = StringSink(&gz);
    FakeClock clock(std::chrono::system_clock::from_time_t(1777600800));
    BackupLog log(sink.get(), "velero/b1", &clock);
    ASSERT_TRUE(log.Close().ok());
    ASSERT_FALSE(gz.empty());
    auto text = Gunzip(gz);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, "");
  }
  std::string gz;
  auto sink = StringSink(&gz);
  FakeClock clock(std::chrono::system_clock::from_time_t(1777600800));
  BackupLog log(sink.get(), "velero/b1", &clock);
  log.Info("first");
  ASSERT_TRUE(log.Checkpoint().ok());
  const std::string prefix = gz;
  auto before = Gunzip(prefix);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_THAT(*before, ::testing::HasSubstr("msg=first"));
  log.Info("second");
  ASSERT_TRUE(log.Close().ok());
  ASSERT_EQ(gz.compare(0, prefix.size(), prefix), 0);
  auto all = Gunzip(gz);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(*all, ::testing::HasSubstr("msg=first"));
  EXPECT_THAT(*all, ::testing::HasSubstr("msg=second"));
}

}  // namespace
}  // namespace lifeboat::engine
