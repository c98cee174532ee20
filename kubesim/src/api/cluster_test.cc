#include "kubesim/src/api/cluster.h"

#include "gtest/gtest.h"
#include "kubesim/src/api/object_util.h"

namespace kubesim {
namespace {

namespace json = boost::json;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *Store::Open({});
    cluster_ = std::make_unique<Cluster>(store_.get(), &registry_, Cluster::Options{});
    ASSERT_TRUE(cluster_->Bootstrap().ok());
  }
  ResourceType Type(const std::string& group, const std::string& resource) {
    return registry_.StorageType(group, resource)->type;
  }
  json::value ConfigMap(const std::string& name) {
    return json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name +
                       R"(","labels":{"app":"web"}},"data":{"k":"v"}})");
  }
  std::unique_ptr<Store> store_;
  Registry registry_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(ClusterTest, CreateSetsServerMetadataAndRejectsDuplicates) {
  auto cm = cluster_->Create(Type("", "configmaps"), "default", ConfigMap("a"), {});
  ASSERT_TRUE(cm.ok()) << cm.status();
  EXPECT_EQ(MetaString(*cm, "namespace"), "default");
  EXPECT_EQ(MetaString(*cm, "uid").size(), 36u);
  EXPECT_FALSE(MetaString(*cm, "resourceVersion").empty());
  EXPECT_FALSE(MetaString(*cm, "creationTimestamp").empty());
  auto dup = cluster_->Create(Type("", "configmaps"), "default", ConfigMap("a"), {});
  EXPECT_EQ(ErrorInfo(dup.status()).code, 409);
  EXPECT_EQ(ErrorInfo(dup.status()).reason, "AlreadyExists");
  EXPECT_EQ(dup.status().message(), "configmaps \"a\" already exists");
}

TEST_F(ClusterTest, CreateInMissingOrTerminatingNamespaceFails) {
  auto missing = cluster_->Create(Type("", "configmaps"), "nope", ConfigMap("a"), {});
  EXPECT_EQ(ErrorInfo(missing.status()).code, 404);
  EXPECT_EQ(missing.status().message(), "namespaces \"nope\" not found");
  json::value ns = json::parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"doomed"}})");
  ASSERT_TRUE(cluster_->Create(Type("", "namespaces"), "", ns, {}).ok());
  auto del = cluster_->Delete(Type("", "namespaces"), "", "doomed", {});
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_EQ(del->at("status").at("phase"), "Terminating");
  auto term = cluster_->Create(Type("", "configmaps"), "doomed", ConfigMap("a"), {});
  EXPECT_EQ(ErrorInfo(term.status()).code, 403);
}

TEST_F(ClusterTest, InvalidNamesAreUnprocessable) {
  auto bad = cluster_->Create(Type("", "configmaps"), "default", ConfigMap("Bad_Name"), {});
  EXPECT_EQ(ErrorInfo(bad.status()).code, 422);
  EXPECT_EQ(ErrorInfo(bad.status()).reason, "Invalid");
  EXPECT_NE(std::string(bad.status().message()).find("metadata.name: Invalid value: \"Bad_Name\""), std::string::npos);
}

TEST_F(ClusterTest, UpdateWithStaleResourceVersionConflicts) {
  auto cm = *cluster_->Create(Type("", "configmaps"), "default", ConfigMap("a"), {});
  json::value v2 = cm;
  v2.as_object()["data"].as_object()["k"] = "v2";
  auto updated = cluster_->Update(Type("", "configmaps"), "default", "a", v2, {});
  ASSERT_TRUE(updated.ok()) << updated.status();
  auto stale = cluster_->Update(Type("", "configmaps"), "default", "a", v2, {});
  EXPECT_EQ(ErrorInfo(stale.status()).code, 409);
  EXPECT_EQ(ErrorInfo(stale.status()).reason, "Conflict");
}

TEST_F(ClusterTest, GenerationBumpsOnlyOnSpecChange) {
  json::value d = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
    "spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},
    "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}})");
  auto created = *cluster_->Create(Type("apps", "deployments"), "default", d, {});
  EXPECT_EQ(created.at("metadata").at("generation"), 1);
  EXPECT_EQ(created.at("spec").at("strategy").at("type"), "RollingUpdate");
  auto labelled = *cluster_->Patch(Type("apps", "deployments"), "default", "web", PatchType::kMerge,
                                   json::parse(R"({"metadata":{"labels":{"x":"y"}}})"), {});
  EXPECT_EQ(labelled.at("metadata").at("generation"), 1);
  auto scaled = *cluster_->Patch(Type("apps", "deployments"), "default", "web", PatchType::kMerge,
                                 json::parse(R"({"spec":{"replicas":3}})"), {});
  EXPECT_EQ(scaled.at("metadata").at("generation"), 2);
  auto status = *cluster_->Patch(Type("apps", "deployments"), "default", "web", PatchType::kMerge,
                                 json::parse(R"({"status":{"replicas":3}})"), {}, "status");
  EXPECT_EQ(status.at("metadata").at("generation"), 2);
  EXPECT_EQ(status.at("status").at("replicas"), 3);
}

TEST_F(ClusterTest, FinalizersDeferDeletion) {
  json::value cm = ConfigMap("f");
  Meta(cm)["finalizers"] = json::array{"example.com/hold"};
  ASSERT_TRUE(cluster_->Create(Type("", "configmaps"), "default", cm, {}).ok());
  auto del = *cluster_->Delete(Type("", "configmaps"), "default", "f", {});
  EXPECT_FALSE(MetaString(del, "deletionTimestamp").empty());
  ASSERT_TRUE(cluster_->Get(Type("", "configmaps"), "default", "f").ok());
  auto add = cluster_->Patch(Type("", "configmaps"), "default", "f", PatchType::kMerge,
                             json::parse(R"({"metadata":{"finalizers":["example.com/hold","new/one"]}})"), {});
  EXPECT_EQ(ErrorInfo(add.status()).code, 422);
  auto rm = cluster_->Patch(Type("", "configmaps"), "default", "f", PatchType::kMerge,
                            json::parse(R"({"metadata":{"finalizers":null}})"), {});
  ASSERT_TRUE(rm.ok()) << rm.status();
  EXPECT_EQ(ErrorInfo(cluster_->Get(Type("", "configmaps"), "default", "f").status()).code, 404);
}

TEST_F(ClusterTest, ListPaginatesWithContinueAndExpiresAfterCompaction) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(cluster_->Create(Type("", "configmaps"), "default", ConfigMap("c" + std::to_string(i)), {}).ok());
  ListOptions o;
  o.limit = 3;
  o.label_selector = "app=web";
  auto p1 = *cluster_->List(Type("", "configmaps"), "default", o);
  EXPECT_EQ(p1.items.size(), 3u);
  ASSERT_FALSE(p1.continue_token.empty());
  o.continue_token = p1.continue_token;
  auto p2 = *cluster_->List(Type("", "configmaps"), "default", o);
  EXPECT_EQ(p2.items.front()->name, "c3");
  // A write after the token's revision, then a compaction: the token's snapshot is gone.
  ASSERT_TRUE(cluster_->Create(Type("", "configmaps"), "default", ConfigMap("later"), {}).ok());
  store_->Compact();
  auto expired = cluster_->List(Type("", "configmaps"), "default", o);
  EXPECT_EQ(ErrorInfo(expired.status()).code, 410);
  EXPECT_EQ(ErrorInfo(expired.status()).reason, "Expired");
  o.continue_token = "garbage";
  EXPECT_EQ(ErrorInfo(cluster_->List(Type("", "configmaps"), "default", o).status()).code, 400);
  ListOptions bad;
  bad.label_selector = "a in (";
  EXPECT_EQ(ErrorInfo(cluster_->List(Type("", "configmaps"), "default", bad).status()).code, 400);
}

TEST_F(ClusterTest, ServicesGetClusterIpsAndNodePortsWithoutConflicts) {
  json::value svc = json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"s1"},
    "spec":{"type":"NodePort","selector":{"app":"web"},"ports":[{"port":80,"nodePort":30080}]}})");
  auto s1 = cluster_->Create(Type("", "services"), "default", svc, {});
  ASSERT_TRUE(s1.ok()) << s1.status();
  EXPECT_TRUE(s1->at("spec").at("clusterIP").as_string().starts_with("10."));
  Meta(svc)["name"] = "s2";
  auto s2 = cluster_->Create(Type("", "services"), "default", svc, {});
  EXPECT_EQ(ErrorInfo(s2.status()).code, 422);
  EXPECT_NE(std::string(s2.status().message()).find("provided port is already allocated"), std::string::npos);

  // Many services: every one gets its own address (the allocator's index follows the store).
  std::set<std::string> ips = {std::string(s1->at("spec").at("clusterIP").as_string())};
  for (int i = 0; i < 50; ++i) {
    json::value plain = json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"p)" +
                                    std::to_string(i) + R"("},"spec":{"ports":[{"port":80}]}})");
    auto p = cluster_->Create(Type("", "services"), "default", plain, {});
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_TRUE(ips.insert(std::string(p->at("spec").at("clusterIP").as_string())).second);
  }
  // An update keeps the service's own node port; a deleted service's IP and port are free again.
  json::value again = *s1;
  Meta(again)["labels"] = json::object{{"x", "1"}};
  EXPECT_TRUE(cluster_->Update(Type("", "services"), "default", "s1", again, {}).ok());
  const std::string ip1(s1->at("spec").at("clusterIP").as_string());
  ASSERT_TRUE(cluster_->Delete(Type("", "services"), "default", "s1", {}).ok());
  json::value reuse = svc;
  Meta(reuse)["name"] = "s3";
  reuse.as_object()["spec"].as_object()["clusterIP"] = ip1;
  auto s3 = cluster_->Create(Type("", "services"), "default", reuse, {});
  EXPECT_TRUE(s3.ok()) << s3.status();
}

TEST_F(ClusterTest, CrdRegistersTypesAndDeletionRemovesInstances) {
  json::value crd = json::parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.example.com"},
    "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
      "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object",
                     "properties":{"spec":{"type":"object","properties":{"x":{"type":"integer"}}}}}}},
                  {"name":"v1beta1","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object",
                     "properties":{"spec":{"type":"object","properties":{"x":{"type":"integer"}}}}}}}]}})");
  auto created = cluster_->Create(Type("apiextensions.k8s.io", "customresourcedefinitions"), "", crd, {});
  ASSERT_TRUE(created.ok()) << created.status();
  auto t = registry_.Find("example.com", "v1beta1", "widgets");
  ASSERT_TRUE(t.has_value());
  json::value w = json::parse(R"({"apiVersion":"example.com/v1beta1","kind":"Widget","metadata":{"name":"w1"},"spec":{"x":1}})");
  ASSERT_TRUE(cluster_->Create(t->type, "default", w, {}).ok());
  auto v1 = cluster_->Get(registry_.Find("example.com", "v1", "widgets")->type, "default", "w1");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->at("apiVersion"), "example.com/v1");
  ASSERT_TRUE(cluster_->Delete(Type("apiextensions.k8s.io", "customresourcedefinitions"), "", "widgets.example.com", {}).ok());
  EXPECT_FALSE(registry_.Find("example.com", "v1", "widgets").has_value());
  EXPECT_EQ(store_->Count("widgets.example.com"), 0u);
  EXPECT_EQ(store_->Get("customresourcedefinitions.apiextensions.k8s.io", "", "widgets.example.com"), nullptr);
}

TEST_F(ClusterTest, CustomResourcesFollowTheirStructuralSchema) {
  json::value no_schema = json::parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"gadgets.example.com"},
    "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"gadgets","singular":"gadget","kind":"Gadget"},
      "versions":[{"name":"v1","served":true,"storage":true}]}})");
  auto rejected = cluster_->Create(Type("apiextensions.k8s.io", "customresourcedefinitions"), "", no_schema, {});
  EXPECT_EQ(ErrorInfo(rejected.status()).code, 422);
  EXPECT_NE(std::string(rejected.status().message()).find("schemas are required"), std::string::npos);

  json::value crd = no_schema;
  crd.at("spec").at("versions").at(0).as_object()["schema"] = json::parse(R"({"openAPIV3Schema":{"type":"object",
    "properties":{"spec":{"type":"object","required":["x"],"properties":{
      "x":{"type":"integer"},"size":{"type":"integer","default":3},
      "mode":{"type":"string","enum":["fast","safe"]}}}}}})");
  ASSERT_TRUE(cluster_->Create(Type("apiextensions.k8s.io", "customresourcedefinitions"), "", crd, {}).ok());
  ResourceType t = registry_.Find("example.com", "v1", "gadgets")->type;
  // Defaults are applied and undeclared fields pruned.
  json::value g = json::parse(R"({"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"g1"},
    "spec":{"x":1,"junk":"dropped"}})");
  WriteOptions warn;
  warn.warnings = std::make_shared<std::vector<std::string>>();
  auto stored = cluster_->Create(t, "default", g, warn);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->at("spec").at("size"), 3);
  EXPECT_FALSE(stored->at("spec").as_object().contains("junk"));
  EXPECT_EQ(*warn.warnings, (std::vector<std::string>{"unknown field \"spec.junk\""}));
  // fieldValidation=Strict refuses them instead.
  WriteOptions strict;
  strict.field_validation = "Strict";
  g.at("metadata").as_object()["name"] = "g2";
  auto strict_result = cluster_->Create(t, "default", g, strict);
  EXPECT_EQ(ErrorInfo(strict_result.status()).code, 400);
  EXPECT_NE(std::string(strict_result.status().message()).find("unknown field \"spec.junk\""), std::string::npos);
  // Invalid values are 422 with kube's causes.
  json::value bad = json::parse(R"({"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"g3"},
    "spec":{"x":"one","mode":"slow"}})");
  auto invalid = cluster_->Create(t, "default", bad, {});
  EXPECT_EQ(ErrorInfo(invalid.status()).code, 422);
  std::string msg(invalid.status().message());
  EXPECT_NE(msg.find("spec.x"), std::string::npos) << msg;
  EXPECT_NE(msg.find("supported values: \"fast\", \"safe\""), std::string::npos) << msg;
}

TEST_F(ClusterTest, ListPagesShowTheFirstPagesRevision) {
  auto type = Type("", "configmaps");
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(cluster_->Create(type, "default", ConfigMap("c" + std::to_string(i)), {}).ok());
  ListOptions o;
  o.limit = 3;
  auto p1 = *cluster_->List(type, "default", o);
  ASSERT_EQ(p1.items.size(), 3u);
  // Changes after the first page: a delete, a create in the middle, a label change.
  ASSERT_TRUE(cluster_->Delete(type, "default", "c4", {}).ok());
  ASSERT_TRUE(cluster_->Create(type, "default", ConfigMap("c35"), {}).ok());
  ASSERT_TRUE(cluster_->Patch(type, "default", "c5", PatchType::kMerge,
                              json::parse(R"({"data":{"changed":"yes"}})"), {}).ok());
  o.continue_token = p1.continue_token;
  auto p2 = cluster_->List(type, "default", o);
  ASSERT_TRUE(p2.ok()) << p2.status();
  std::vector<std::string> names;
  for (const auto& item : p2->items) names.push_back(item->name);
  EXPECT_EQ(names, (std::vector<std::string>{"c3", "c4", "c5"}));
  EXPECT_EQ(p2->resource_version, p1.resource_version);
  EXPECT_FALSE(p2->items[2]->object.at("data").as_object().contains("changed"));
  o.continue_token = p2->continue_token;
  auto p3 = *cluster_->List(type, "default", o);
  ASSERT_EQ(p3.items.size(), 1u);
  EXPECT_EQ(p3.items[0]->name, "c6");
  EXPECT_TRUE(p3.continue_token.empty());
}

TEST_F(ClusterTest, WatchSeesChangesAndSelectorTransitions) {
  auto type = Type("", "configmaps");
  ASSERT_TRUE(cluster_->Create(type, "default", ConfigMap("w"), {}).ok());
  WatchOptions wo;
  wo.label_selector = "app=web";
  auto watch = *cluster_->StartWatch(type, "default", wo);
  auto initial = watch->Next(std::chrono::milliseconds(10));
  ASSERT_EQ(initial.size(), 1u);
  EXPECT_EQ(initial[0].type, "ADDED");
  ASSERT_TRUE(cluster_->Patch(type, "default", "w", PatchType::kMerge,
                              json::parse(R"({"metadata":{"labels":{"app":"db"}}})"), {}).ok());
  auto ev = watch->Next(std::chrono::milliseconds(1000));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, "DELETED");
}

TEST_F(ClusterTest, HpaIsServedInBothAutoscalingVersions) {
  auto v2 = registry_.Find("autoscaling", "v2", "horizontalpodautoscalers");
  auto v1 = registry_.Find("autoscaling", "v1", "horizontalpodautoscalers");
  ASSERT_TRUE(v1 && v2);
  json::value hpa = json::parse(R"({"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"h"},
    "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"maxReplicas":5,"targetCPUUtilizationPercentage":70}})");
  ASSERT_TRUE(cluster_->Create(v1->type, "default", hpa, {}).ok());
  auto as_v2 = *cluster_->Get(v2->type, "default", "h");
  EXPECT_EQ(as_v2.at("spec").at("metrics").at(0).at("resource").at("target").at("averageUtilization"), 70);
  auto as_v1 = *cluster_->Get(v1->type, "default", "h");
  EXPECT_EQ(as_v1.at("spec").at("targetCPUUtilizationPercentage"), 70);
}

}  // namespace
}  // namespace kubesim
