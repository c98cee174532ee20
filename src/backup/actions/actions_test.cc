// Unit tests of the built-in BackupItemActions over small JSON items; the service-account action
// lists ClusterRoleBindings through a FakeRestClient.

#include "src/backup/actions/actions.h"

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/discovery.h"
#include "src/backup/actions/builtin_actions.h"
#include "src/kube/testing/fake_rest_client.h"

namespace lifeboat::backup {
namespace {

namespace json = boost::json;
using plugin::ResourceIdentifier;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

json::value Parse(std::string_view text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : json::value();
}

plugin::BackupContext Backup(std::string name = "b1") {
  plugin::BackupContext c;
  c.backup_name = std::move(name);
  c.backup_namespace = "velero";
  return c;
}

// ---------------------------------------------------------------------------------------------
// velero.io/pod

TEST(PodActionTest, NameAndAppliesToAreVeleros) {
  PodAction a;
  EXPECT_EQ(a.Name(), "velero.io/pod");
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("pods"));
  EXPECT_THAT(a.AppliesTo().excluded_resources, IsEmpty());
}

TEST(PodActionTest, PriorityClassThenClaimsOfTheVolumes) {
  PodAction a;
  json::value pod = Parse(R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"p","namespace":"app"},
    "spec":{"priorityClassName":"high","containers":[{"name":"c"}],"volumes":[
      {"name":"data","persistentVolumeClaim":{"claimName":"data-0"}},
      {"name":"cfg","configMap":{"name":"cfg"}},
      {"name":"empty","persistentVolumeClaim":{"claimName":""}},
      {"name":"logs","persistentVolumeClaim":{"claimName":"logs"}}]}})");
  auto out = a.Execute(pod, Backup());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{"scheduling.k8s.io", "priorityclasses", "", "high"},
                          ResourceIdentifier{"", "persistentvolumeclaims", "app", "data-0"},
                          ResourceIdentifier{"", "persistentvolumeclaims", "app", "logs"}));
  EXPECT_EQ(out->item, pod);  // unchanged
  EXPECT_TRUE(out->operation_id.empty());
  EXPECT_EQ(out->additional_items[0].GroupResource(), "priorityclasses.scheduling.k8s.io");
}

TEST(PodActionTest, PodWithoutVolumesOrPriorityClassHasNoAdditionalItems) {
  PodAction a;
  auto out = a.Execute(Parse(R"({"metadata":{"name":"p","namespace":"app"},"spec":{}})"), Backup());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->additional_items, IsEmpty());
}

TEST(PodActionTest, MalformedItemsAreInvalidArgument) {
  PodAction a;
  EXPECT_EQ(a.Execute(json::value("x"), Backup()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.Execute(Parse(R"({"spec":{"volumes":{"a":1}}})"), Backup()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// velero.io/pv (persistentvolumeclaims)

TEST(PvcActionTest, NameAndAppliesToAreVeleros) {
  PvcAction a;
  EXPECT_EQ(a.Name(), "velero.io/pv");
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("persistentvolumeclaims"));
}

TEST(PvcActionTest, BoundClaimAddsItsVolumeAndIsCleaned) {
  PvcAction a;
  json::value pvc = Parse(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
    "metadata":{"name":"data","namespace":"app","labels":{"app":"db",
      "velero.io/restore-name":"r1","velero.io/backup-name":"old",
      "velero.io/volume-snapshot-name":"vs-1","velero.io/other":"kept"}},
    "spec":{"storageClassName":"fast","volumeName":"pv-1",
      "dataSource":{"kind":"VolumeSnapshot","name":"vs"},
      "dataSourceRef":{"kind":"VolumeSnapshot","name":"vs"},
      "selector":{"matchLabels":{"velero.io/x":"y"}},"resources":{"requests":{"storage":"1Gi"}}},
    "status":{"phase":"Bound"}})");
  auto out = a.Execute(pvc, Backup("b1"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{"", "persistentvolumes", "", "pv-1"}));
  json::value want = Parse(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
    "metadata":{"name":"data","namespace":"app","labels":{"app":"db","velero.io/other":"kept"}},
    "spec":{"storageClassName":"fast","volumeName":"pv-1",
      "resources":{"requests":{"storage":"1Gi"}}},
    "status":{"phase":"Bound"}})");
  EXPECT_EQ(out->item, want) << json::serialize(out->item);
}

TEST(PvcActionTest, LabelOfThisBackupIsKeptAndEmptyLabelsVanish) {
  PvcAction a;
  auto out = a.Execute(Parse(R"({"metadata":{"name":"d","namespace":"n","labels":{
      "velero.io/backup-name":"b1"}},"spec":{"volumeName":"pv"},"status":{"phase":"Bound"}})"),
                       Backup("b1"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->item.at("metadata").at("labels").at("velero.io/backup-name"), "b1");

  out = a.Execute(Parse(R"({"metadata":{"name":"d","namespace":"n","labels":{
      "velero.io/restore-name":"r"}},"spec":{"volumeName":"pv"},"status":{"phase":"Bound"}})"),
                  Backup("b1"));
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->item.at("metadata").as_object().contains("labels"));
}

TEST(PvcActionTest, SelectorKeptOnlyForExplicitEmptyStorageClassWithoutVeleroKeys) {
  PvcAction a;
  auto out = a.Execute(Parse(R"({"metadata":{"name":"d","namespace":"n"},
    "spec":{"storageClassName":"","volumeName":"pv",
      "selector":{"matchLabels":{"velero.io/restore-name":"r","disk":"ssd"},
                  "matchExpressions":[{"key":"zone","operator":"Exists"}]}},
    "status":{"phase":"Bound"}})"),
                       Backup());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->item.at("spec").at("selector"), Parse(R"({"matchLabels":{"disk":"ssd"},
                      "matchExpressions":[{"key":"zone","operator":"Exists"}]})"));

  // Only velero.io keys: the empty map goes, the selector stays (as Go's round trip leaves it).
  out = a.Execute(Parse(R"({"metadata":{"name":"d","namespace":"n"},
    "spec":{"storageClassName":"","volumeName":"pv","selector":{"matchLabels":{"velero.io/a":"b"}}},
    "status":{"phase":"Bound"}})"),
                  Backup());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->item.at("spec").at("selector"), json::object());

  // No storageClassName at all (the default class): the selector goes.
  out = a.Execute(Parse(R"({"metadata":{"name":"d","namespace":"n"},
    "spec":{"volumeName":"pv","selector":{"matchLabels":{"disk":"ssd"}}},
    "status":{"phase":"Bound"}})"),
                  Backup());
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->item.at("spec").as_object().contains("selector"));
}

TEST(PvcActionTest, UnboundClaimIsUntouched) {
  PvcAction a;
  for (const char* text : {
           R"({"metadata":{"name":"d","namespace":"n","labels":{"velero.io/restore-name":"r"}},
               "spec":{"dataSource":{"kind":"X"}},"status":{"phase":"Pending"}})",
           // volumeName set but not Bound yet
           R"({"metadata":{"name":"d","namespace":"n"},
               "spec":{"volumeName":"pv","dataSource":{"kind":"X"}},"status":{"phase":"Pending"}})",
           // Bound but no volumeName
           R"({"metadata":{"name":"d","namespace":"n"},"spec":{"dataSource":{"kind":"X"}},
               "status":{"phase":"Bound"}})"}) {
    json::value pvc = Parse(text);
    auto out = a.Execute(pvc, Backup());
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->item, pvc);
    EXPECT_THAT(out->additional_items, IsEmpty());
  }
}

TEST(PvcActionTest, NonObjectIsInvalidArgument) {
  PvcAction a;
  EXPECT_EQ(a.Execute(json::array{1}, Backup()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// velero.io/service-account

constexpr char kCrbPath[] = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";

class ServiceAccountActionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kube::testing::AddDiscovery(fake_);
    // AddDiscovery's groups plus rbac.authorization.k8s.io.
    fake_.OnJson("GET", "/apis", R"({"kind":"APIGroupList","groups":[
      {"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],
       "preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},
      {"name":"rbac.authorization.k8s.io","versions":[
        {"groupVersion":"rbac.authorization.k8s.io/v1","version":"v1"}],
       "preferredVersion":{"groupVersion":"rbac.authorization.k8s.io/v1","version":"v1"}}]})");
    fake_.OnJson("GET", "/apis/rbac.authorization.k8s.io/v1",
                 R"({"kind":"APIResourceList","groupVersion":"rbac.authorization.k8s.io/v1",
      "resources":[{"name":"clusterrolebindings","singularName":"clusterrolebinding",
        "namespaced":false,"kind":"ClusterRoleBinding","verbs":["get","list"]},
       {"name":"clusterroles","singularName":"clusterrole","namespaced":false,
        "kind":"ClusterRole","verbs":["get","list"]}]})");
    fake_.On("GET", kCrbPath, [this](const kube::RestRequest&) {
      ++lists_;
      return kube::testing::FakeRestClient::Json(R"({"kind":"ClusterRoleBindingList",
        "apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"resourceVersion":"7"},"items":[
        {"metadata":{"name":"z-admin"},"roleRef":{"kind":"ClusterRole","name":"admin"},
         "subjects":[{"kind":"ServiceAccount","name":"sa","namespace":"app"}]},
        {"metadata":{"name":"a-view"},"roleRef":{"kind":"ClusterRole","name":"view"},
         "subjects":[{"kind":"User","name":"sa"},
                     {"kind":"ServiceAccount","name":"sa","namespace":"app"},
                     {"kind":"ServiceAccount","name":"sa","namespace":"app"}]},
        {"metadata":{"name":"m-also-admin"},"roleRef":{"kind":"ClusterRole","name":"admin"},
         "subjects":[{"kind":"ServiceAccount","name":"sa","namespace":"app"}]},
        {"metadata":{"name":"other-ns"},"roleRef":{"kind":"ClusterRole","name":"edit"},
         "subjects":[{"kind":"ServiceAccount","name":"sa","namespace":"other"}]},
        {"metadata":{"name":"user-only"},"roleRef":{"kind":"ClusterRole","name":"edit"},
         "subjects":[{"kind":"User","name":"sa","namespace":"app"}]},
        {"metadata":{"name":"no-subjects"},"roleRef":{"kind":"ClusterRole","name":"edit"}}]})");
    });
  }

  json::value Account(const std::string& ns, const std::string& name) {
    return Parse(R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":")" + name +
                 R"(","namespace":")" + ns + "\"}}");
  }

  kube::testing::FakeRestClient fake_;
  kube::Discovery discovery_{&fake_};
  kube::DynamicClient client_{&fake_, &discovery_};
  std::atomic<int> lists_{0};
};

TEST_F(ServiceAccountActionTest, NameAndAppliesToAreVeleros) {
  ServiceAccountAction a(&client_);
  EXPECT_EQ(a.Name(), "velero.io/service-account");
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("serviceaccounts"));
  EXPECT_EQ(lists_.load(), 0);  // nothing listed before the first item
}

TEST_F(ServiceAccountActionTest, BindingsNamingTheAccountAndTheirRoles) {
  ServiceAccountAction a(&client_);
  json::value sa = Account("app", "sa");
  auto out = a.Execute(sa, Backup());
  ASSERT_TRUE(out.ok()) << out.status();
  const std::string g = "rbac.authorization.k8s.io";
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{g, "clusterrolebindings", "", "a-view"},
                          ResourceIdentifier{g, "clusterrolebindings", "", "m-also-admin"},
                          ResourceIdentifier{g, "clusterrolebindings", "", "z-admin"},
                          ResourceIdentifier{g, "clusterroles", "", "admin"},
                          ResourceIdentifier{g, "clusterroles", "", "view"}));
  EXPECT_EQ(out->item, sa);

  // Same name in another namespace: only the binding for that namespace.
  out = a.Execute(Account("other", "sa"), Backup());
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{g, "clusterrolebindings", "", "other-ns"},
                          ResourceIdentifier{g, "clusterroles", "", "edit"}));
  // Not a subject anywhere.
  out = a.Execute(Account("app", "nobody"), Backup());
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(out->additional_items, IsEmpty());
  EXPECT_EQ(lists_.load(), 1);  // listed once for all three
}

TEST_F(ServiceAccountActionTest, ListedOnceAcrossConcurrentCalls) {
  ServiceAccountAction a(&client_);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto out = a.Execute(Account("app", "sa"), Backup());
        if (out.ok() && out->additional_items.size() == 5) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 160);
  EXPECT_EQ(lists_.load(), 1);
  // A new instance (a new backup) lists again.
  ServiceAccountAction b(&client_);
  ASSERT_TRUE(b.Execute(Account("app", "sa"), Backup()).ok());
  EXPECT_EQ(lists_.load(), 2);
}

TEST_F(ServiceAccountActionTest, ListFailureIsReturnedAndRetried) {
  fake_.On("GET", kCrbPath, [this](const kube::RestRequest& r) -> StatusOr<kube::RestResponse> {
    if (++lists_ == 1) return kube::testing::FakeRestClient::Error(403, "Forbidden", "forbidden");
    return kube::testing::FakeRestClient::Json(R"({"kind":"ClusterRoleBindingList",
      "metadata":{},"items":[{"metadata":{"name":"b"},"roleRef":{"name":"r"},
      "subjects":[{"kind":"ServiceAccount","name":"sa","namespace":"app"}]}]})");
  });
  ServiceAccountAction a(&client_);
  auto out = a.Execute(Account("app", "sa"), Backup());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(out.status().message()), ::testing::HasSubstr("clusterrolebindings"));
  out = a.Execute(Account("app", "sa"), Backup());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->additional_items.size(), 2u);
  EXPECT_EQ(lists_.load(), 2);
}

TEST_F(ServiceAccountActionTest, ClusterWithoutRbacHasNoBindings) {
  fake_.OnJson("GET", "/apis", R"({"kind":"APIGroupList","groups":[]})");
  ServiceAccountAction a(&client_);
  auto out = a.Execute(Account("app", "sa"), Backup());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->additional_items, IsEmpty());
  EXPECT_EQ(lists_.load(), 0);
}

// ---------------------------------------------------------------------------------------------
// The registration list.

TEST(BuiltinActionsTest, VelerosNamesInRegistrationOrder) {
  auto actions = BuiltinBackupItemActions(nullptr);
  std::vector<std::string> names;
  for (const auto& a : actions) names.push_back(a->Name());
  EXPECT_THAT(names, ElementsAre("velero.io/pod", "velero.io/pv", "velero.io/service-account",
                                 "velero.io/csi-pvc-backupper",
                                 "velero.io/csi-volumesnapshot-backupper",
                                 "velero.io/csi-volumesnapshotcontent-backupper",
                                 "velero.io/csi-volumesnapshotclass-backupper"));
}

}  // namespace
}  // namespace lifeboat::backup
