// LoadResourceModifiers against a real kubesim: a ConfigMap created with the API is read,
// parsed and applied; a missing or malformed one gives a clear error.

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/rest_client.h"
#include "src/kube/testing/kubesim_cluster.h"
#include "src/restore/resource_modifiers.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

const kube::GroupVersionResource kConfigMaps{"", "v1", "configmaps"};

class ResourceModifiersKubesimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = kube::testing::KubesimCluster::Start();
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
    client_ = cluster_->client.get();
    auto ns = ParseJson(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"velero"}})");
    ASSERT_TRUE(client_->Create({"", "v1", "namespaces"}, "", *ns).ok());
  }

  void CreateConfigMap(const std::string& name, json::object data) {
    json::object cm{{"apiVersion", "v1"},
                    {"kind", "ConfigMap"},
                    {"metadata", json::object{{"name", name}, {"namespace", "velero"}}},
                    {"data", std::move(data)}};
    auto created = client_->Create(kConfigMaps, "velero", cm);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  std::unique_ptr<kube::testing::KubesimCluster> cluster_;
  kube::DynamicClient* client_ = nullptr;
};

TEST_F(ResourceModifiersKubesimTest, LoadsAndAppliesTheConfigMap) {
  CreateConfigMap("mods", json::object{{"modifiers.yaml", R"(
version: v1
resourceModifierRules:
- conditions:
    groupResource: deployments.apps
    namespaces: [app]
  strategicPatches:
  - patchData: |
      spec:
        template:
          spec:
            containers:
            - name: web
              image: registry.example/web:2
)"}});
  auto mods = LoadResourceModifiers(*client_, "velero", "mods");
  ASSERT_TRUE(mods.ok()) << mods.status();
  EXPECT_EQ(mods->rule_count(), 1u);
  auto item = ParseJson(
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"app"},
      "spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:1"},{"name":"log","image":"log:1"}]}}}})");
  ASSERT_TRUE(item.ok());
  ASSERT_TRUE(mods->Apply(*item, "deployments.apps").ok());
  const auto& cs = item->at("spec").at("template").at("spec").at("containers").as_array();
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].at("image"), "registry.example/web:2");
  EXPECT_EQ(cs[1].at("image"), "log:1");
}

TEST_F(ResourceModifiersKubesimTest, MissingConfigMapIsNotFound) {
  auto mods = LoadResourceModifiers(*client_, "velero", "nope");
  EXPECT_EQ(mods.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(mods.status().message()),
              HasSubstr("resource modifiers ConfigMap velero/nope not found"));
}

TEST_F(ResourceModifiersKubesimTest, InvalidConfigMapIsInvalidArgument) {
  CreateConfigMap("two-keys", json::object{{"a", "version: v1"}, {"b", "version: v1"}});
  auto two = LoadResourceModifiers(*client_, "velero", "two-keys");
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(two.status().message()),
              HasSubstr("illegal resource modifiers velero/two-keys"));

  CreateConfigMap("bad-version",
                  json::object{{"m.yaml", "version: v9\nresourceModifierRules: []\n"}});
  auto bad = LoadResourceModifiers(*client_, "velero", "bad-version");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("unsupported resource modifier version v9"));
}

}  // namespace
}  // namespace lifeboat::restore
