// The cluster-reading restore actions against a real kubesim: plugin ConfigMaps in the Velero
// namespace (change-image-name, change-storage-class, change-pvc-node-selector), storage class
// and node lookups, and service accounts for token secrets. Each test uses its own Velero
// namespace so that ConfigMaps of one test are invisible to the others.

#include <chrono>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/rest_client.h"
#include "src/kube/testing/kubesim_cluster.h"
#include "src/restore/actions/action_test_util.h"
#include "src/restore/actions/actions.h"
#include "src/restore/actions/builtin_actions.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using testing::Mapping;
using testing::Parse;
using testing::RestoreFixture;

const kube::GroupVersionResource kNamespaces{"", "v1", "namespaces"};
const kube::GroupVersionResource kConfigMaps{"", "v1", "configmaps"};
const kube::GroupVersionResource kServiceAccounts{"", "v1", "serviceaccounts"};
const kube::GroupVersionResource kStorageClasses{"storage.k8s.io", "v1", "storageclasses"};
const kube::GroupVersionResource kNodes{"", "v1", "nodes"};

class RestoreActionsKubesimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = kube::testing::KubesimCluster::Start();
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = c->release();
    client_ = cluster_->client.get();
  }

  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    client_ = nullptr;
  }

  static void Create(const kube::GroupVersionResource& gvr, const std::string& ns,
                     const std::string& text) {
    auto created = client_->Create(gvr, ns, Parse(text));
    ASSERT_TRUE(created.ok()) << created.status();
  }

  static void CreateNamespace(const std::string& name) {
    Create(kNamespaces, "",
           R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + name + "\"}}");
  }

  // A plugin ConfigMap for `plugin` in `ns` with `data` (a JSON object).
  static void CreatePluginConfig(const std::string& ns, const std::string& name,
                                 const std::string& plugin, const std::string& data) {
    Create(kConfigMaps, ns,
           R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name +
               R"(","labels":{"velero.io/plugin-config":"","velero.io/)" + plugin +
               R"(":"RestoreItemAction"}},"data":)" + data + "}");
  }

  static std::shared_ptr<plugin::RestoreItemAction> Action(const std::string& velero_ns,
                                                           const std::string& name) {
    for (auto& a : BuiltinRestoreItemActions(client_, velero_ns)) {
      if (a->Name() == name) return a;
    }
    ADD_FAILURE() << "no action " << name;
    return nullptr;
  }

  // The name of one node kubesim simulates (they appear shortly after start).
  static std::string SomeNode() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto page = client_->List(kNodes, "");
      if (page.ok() && !page->items.empty()) {
        return JsonString(page->items[0], {"metadata", "name"}).value_or("");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "kubesim has no nodes";
    return "";
  }

  static kube::testing::KubesimCluster* cluster_;
  static kube::DynamicClient* client_;
};
kube::testing::KubesimCluster* RestoreActionsKubesimTest::cluster_ = nullptr;
kube::DynamicClient* RestoreActionsKubesimTest::client_ = nullptr;

constexpr char kDeployment[] = R"({"apiVersion":"apps/v1","kind":"Deployment",
  "metadata":{"name":"web","namespace":"app"},"spec":{"template":{"spec":{
    "containers":[{"name":"c","image":"registry.old:5000/web:1.0"}],
    "initContainers":[{"name":"i","image":"busybox"}]}}}})";

TEST_F(RestoreActionsKubesimTest, ChangeImageNameReadsTheConfigMapOncePerRestore) {
  CreateNamespace("velero-img");
  // A ConfigMap for another plugin and an unlabelled one are not ours.
  Create(kConfigMaps, "velero-img", R"({"apiVersion":"v1","kind":"ConfigMap",
    "metadata":{"name":"unlabelled"},"data":{"x":"registry.old:5000,wrong"}})");
  CreatePluginConfig("velero-img", "storage", "change-storage-class", R"({"a":"b"})");
  CreatePluginConfig("velero-img", "images", "change-image-name",
                     R"({"registry":"registry.old:5000,registry.new"})");
  auto action = Action("velero-img", "velero.io/change-image-name");
  RestoreFixture f;
  auto out = f.Run(*action, kDeployment);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"spec", "template", "spec"})->at("containers").at(0).at("image"),
            "registry.new/web:1.0");
  EXPECT_EQ(
      JsonFind(out->item, {"spec", "template", "spec"})->at("initContainers").at(0).at("image"),
      "busybox");

  // Changed mid-restore: this restore keeps what it read; the next restore sees the change.
  auto patched = client_->Patch(kConfigMaps, "velero-img", "images", kube::PatchType::kMerge,
                                R"({"data":{"registry":"registry.old:5000,registry.other"}})");
  ASSERT_TRUE(patched.ok()) << patched.status();
  out = f.Run(*action, kDeployment);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"spec", "template", "spec"})->at("containers").at(0).at("image"),
            "registry.new/web:1.0");
  out = f.Run(*Action("velero-img", "velero.io/change-image-name"), kDeployment);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"spec", "template", "spec"})->at("containers").at(0).at("image"),
            "registry.other/web:1.0");
}

TEST_F(RestoreActionsKubesimTest, NoConfigMapLeavesItemsAlone) {
  CreateNamespace("velero-none");
  RestoreFixture f;
  auto out = f.Run(*Action("velero-none", "velero.io/change-image-name"), kDeployment);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item, Parse(kDeployment));
  out = f.Run(*Action("velero-none", "velero.io/change-storage-class"),
              R"({"kind":"PersistentVolumeClaim","spec":{"storageClassName":"gold"}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonString(out->item, {"spec", "storageClassName"}), "gold");
}

TEST_F(RestoreActionsKubesimTest, TwoConfigMapsForOnePluginAreAnError) {
  CreateNamespace("velero-two");
  CreatePluginConfig("velero-two", "one", "change-image-name", R"({"a":"x,y"})");
  CreatePluginConfig("velero-two", "two", "change-image-name", R"({"a":"x,z"})");
  RestoreFixture f;
  auto out = f.Run(*Action("velero-two", "velero.io/change-image-name"), kDeployment);
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("more than one ConfigMap"));
  EXPECT_THAT(out.status().message(), HasSubstr("one two"));
}

TEST_F(RestoreActionsKubesimTest, MalformedImageRuleFromTheClusterIsAClearError) {
  CreateNamespace("velero-badimg");
  CreatePluginConfig("velero-badimg", "images", "change-image-name", R"({"r":"no-comma-here"})");
  RestoreFixture f;
  auto out = f.Run(*Action("velero-badimg", "velero.io/change-image-name"), kDeployment);
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("ConfigMap images: data[\"r\"]"));
}

TEST_F(RestoreActionsKubesimTest, ChangeStorageClassNeedsAnExistingClass) {
  CreateNamespace("velero-sc");
  Create(kStorageClasses, "", R"({"apiVersion":"storage.k8s.io/v1","kind":"StorageClass",
    "metadata":{"name":"fast"},"provisioner":"kubesim.io/hostpath"})");
  CreatePluginConfig("velero-sc", "classes", "change-storage-class",
                     R"({"gold":"fast","silver":"does-not-exist"})");
  auto action = Action("velero-sc", "velero.io/change-storage-class");
  RestoreFixture f;
  for (const char* kind : {"PersistentVolumeClaim", "PersistentVolume"}) {
    auto out =
        f.Run(*action, std::string(R"({"kind":")") + kind +
                           R"(","metadata":{"name":"x"},"spec":{"storageClassName":"gold"}})");
    ASSERT_TRUE(out.ok()) << kind << ": " << out.status();
    EXPECT_EQ(JsonString(out->item, {"spec", "storageClassName"}), "fast") << kind;
  }
  auto sts = f.Run(*action, R"({"kind":"StatefulSet","metadata":{"name":"db"},"spec":{
    "volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"storageClassName":"gold"}},
                            {"metadata":{"name":"logs"},"spec":{"storageClassName":"bronze"}},
                            {"metadata":{"name":"tmp"},"spec":{}}]}})");
  ASSERT_TRUE(sts.ok()) << sts.status();
  const json::value& templates = *JsonFind(sts->item, {"spec", "volumeClaimTemplates"});
  EXPECT_EQ(templates.at(0).at("spec").at("storageClassName"), "fast");
  EXPECT_EQ(templates.at(1).at("spec").at("storageClassName"), "bronze");
  EXPECT_FALSE(templates.at(2).at("spec").get_object().contains("storageClassName"));

  auto missing =
      f.Run(*action, R"({"kind":"PersistentVolumeClaim","spec":{"storageClassName":"silver"}})");
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("does-not-exist"));
  EXPECT_THAT(missing.status().message(), HasSubstr("ConfigMap classes"));
}

TEST_F(RestoreActionsKubesimTest, PvcSelectedNodeIsKeptMappedOrCleared) {
  CreateNamespace("velero-node");
  const std::string node = SomeNode();
  ASSERT_FALSE(node.empty());
  CreatePluginConfig("velero-node", "nodes", "change-pvc-node-selector",
                     R"({"old-node-1":")" + node + R"(","old-node-2":"not-a-node"})");
  auto action = Action("velero-node", "velero.io/pvc");
  RestoreFixture f;
  auto run = [&](const std::string& selected) {
    auto out =
        f.Run(*action, R"({"kind":"PersistentVolumeClaim","metadata":{"name":"d","namespace":"app",
      "annotations":{"volume.kubernetes.io/selected-node":")" +
                           selected + R"(","keep":"x"}},"spec":{}})");
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? JsonString(out->item,
                                 {"metadata", "annotations", "volume.kubernetes.io/selected-node"})
                    : std::nullopt;
  };
  EXPECT_EQ(run(node), node);                  // exists: kept
  EXPECT_EQ(run("old-node-1"), node);          // mapped
  EXPECT_EQ(run("old-node-2"), "not-a-node");  // mapped even to a missing node (warning)
  EXPECT_EQ(run("gone-node"), std::nullopt);   // missing and unmapped: cleared
}

TEST_F(RestoreActionsKubesimTest, TokenSecretsOfExistingAccountsAreSkipped) {
  CreateNamespace("tok");
  Create(kServiceAccounts, "tok",
         R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"web"}})");
  auto action = Action("velero", "velero.io/secret");
  // Backed up in "src", restored into "tok": the accounts of "tok" decide.
  RestoreFixture f(Mapping{{"src", "tok"}});
  auto skipped = f.Run(
      *action, R"({"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token",
    "metadata":{"name":"web-token-abcde","namespace":"src",
      "annotations":{"kubernetes.io/service-account.name":"web","kubernetes.io/service-account.uid":"u1"}},
    "data":{"token":"dA==","ca.crt":"Yw==","namespace":"c3Jj"}})");
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_TRUE(skipped->skip_restore);

  auto kept = f.Run(
      *action, R"({"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token",
    "metadata":{"name":"builder-token","namespace":"src",
      "annotations":{"kubernetes.io/service-account.name":"builder","kubernetes.io/service-account.uid":"u2"}},
    "data":{"token":"dA==","ca.crt":"Yw==","namespace":"c3Jj"}})");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_FALSE(kept->skip_restore);
  EXPECT_EQ(*JsonFind(kept->item, {"metadata", "annotations"}),
            Parse(R"({"kubernetes.io/service-account.name":"builder"})"));
  EXPECT_EQ(*JsonFind(kept->item, {"data"}), Parse(R"({"namespace":"c3Jj"})"));

  // Without the mapping the original namespace "src" has no such account.
  RestoreFixture unmapped;
  auto other = unmapped.Run(
      *action, R"({"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token",
    "metadata":{"name":"web-token-abcde","namespace":"src"},"data":{"token":"dA=="}})");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(other->skip_restore);
  EXPECT_EQ(JsonFind(other->item, {"data"}), nullptr);
}

}  // namespace
}  // namespace lifeboat::restore
