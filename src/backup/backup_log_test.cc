// BackupLog's Velero formats (logrus text lines, the results file) and the collection order.

#include "src/backup/backup_log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/gzip.h"
#include "src/backup/resource_order.h"

namespace lifeboat::backup {
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

TEST(ResourceOrderTest, VelerosCollectionOrder) {
  auto r = [](std::string group, std::string version, std::string name) {
    kube::ApiResource a;
    a.group = group;
    a.version = version;
    a.name = name;
    a.verbs = {"list", "create", "get", "delete"};
    return a;
  };
  std::vector<kube::ApiGroup> groups = {{"", {"v1"}, "v1"},
                                        {"extensions", {"v1beta1"}, "v1beta1"},
                                        {"apps", {"v1"}, "v1"},
                                        {"autoscaling", {"v2", "v1"}, "v2"}};
  kube::ApiResource readonly = r("", "v1", "componentstatuses");
  readonly.verbs = {"list", "get"};
  std::vector<kube::ApiResource> resources = {
      r("", "v1", "configmaps"), r("", "v1", "persistentvolumes"), r("", "v1", "pods"),
      r("", "v1", "persistentvolumeclaims"), readonly, r("extensions", "v1beta1", "deployments"),
      r("extensions", "v1beta1", "ingresses"), r("apps", "v1", "deployments"),
      r("autoscaling", "v1", "horizontalpodautoscalers"), r("autoscaling", "v2", "horizontalpodautoscalers")};
  std::vector<std::string> got;
  for (const auto& a : BackupOrder(groups, resources)) got.push_back(GroupResource(a) + "/" + a.version);
  EXPECT_THAT(got, ::testing::ElementsAre("pods/v1", "persistentvolumeclaims/v1", "persistentvolumes/v1",
                                          "configmaps/v1", "deployments.apps/v1",
                                          "horizontalpodautoscalers.autoscaling/v2",
                                          "ingresses.extensions/v1beta1"));
}

}  // namespace
}  // namespace lifeboat::backup
