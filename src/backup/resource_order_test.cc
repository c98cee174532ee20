// Velero's backup collection order.

#include "src/backup/resource_order.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lifeboat::backup {
namespace {

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
