// Unit tests of velero.io/service: cluster IPs, node ports (last-applied annotation,
// managedFields, preserveNodePorts) and the health-check node port.

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/restore/actions/action_test_util.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Parse;
using testing::RestoreFixture;

// A service of `type` with `ports`, extra metadata fields and extra spec fields.
std::string Service(const std::string& type, const std::string& ports,
                    const std::string& metadata = "", const std::string& spec = "") {
  return absl::StrCat(
      R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"app")",
      metadata.empty() ? "" : ",", metadata, R"(},"spec":{"type":")", type,
      R"(","clusterIP":"10.0.0.7","clusterIPs":["10.0.0.7"],"ports":)", ports,
      spec.empty() ? "" : ",", spec, "}}");
}

std::string LastApplied(const std::string& config) {
  return absl::StrCat(R"("annotations":{"kubectl.kubernetes.io/last-applied-configuration":)",
                      json::serialize(json::value(json::string(config))), "}");
}

// nodePort of each port (0 when absent).
std::vector<int64_t> NodePorts(const json::value& svc) {
  std::vector<int64_t> out;
  for (const json::value& p : JsonFind(svc, {"spec", "ports"})->get_array()) {
    out.push_back(JsonInt(p, {"nodePort"}).value_or(0));
  }
  return out;
}

constexpr char kTwoPorts[] = R"([{"name":"http","port":80,"protocol":"TCP","nodePort":30080},
                                 {"name":"https","port":443,"protocol":"TCP","nodePort":30443}])";

TEST(ServiceActionTest, ClusterIPsAreClearedAndAutoNodePortsDropped) {
  ServiceAction a;
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("services"));
  RestoreFixture f;
  auto out = f.Run(a, Service("NodePort", kTwoPorts));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"spec", "clusterIP"}), nullptr);
  EXPECT_EQ(JsonFind(out->item, {"spec", "clusterIPs"}), nullptr);
  EXPECT_THAT(NodePorts(out->item), ElementsAre(0, 0));
  EXPECT_EQ(JsonInt(out->item, {"spec", "ports"}).has_value(), false);
  EXPECT_EQ(JsonFind(out->item, {"spec", "ports"})->at(0).at("port"), 80);
}

TEST(ServiceActionTest, HeadlessServiceKeepsClusterIPNone) {
  ServiceAction a;
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"Service","metadata":{"name":"db"},
    "spec":{"clusterIP":"None","clusterIPs":["None"],"ports":[{"port":5432,"protocol":"TCP"}]}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonString(out->item, {"spec", "clusterIP"}), "None");
  EXPECT_EQ(*JsonFind(out->item, {"spec", "clusterIPs"}), Parse(R"(["None"])"));
}

TEST(ServiceActionTest, PreserveNodePortsKeepsThemAll) {
  ServiceAction a;
  RestoreFixture f({}, true);
  auto out = f.Run(a, Service("NodePort", kTwoPorts));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(NodePorts(out->item), ElementsAre(30080, 30443));
  EXPECT_EQ(JsonFind(out->item, {"spec", "clusterIP"}), nullptr);  // still a fresh IP
  RestoreFixture explicit_false({}, false);
  out = explicit_false.Run(a, Service("NodePort", kTwoPorts));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(NodePorts(out->item), ElementsAre(0, 0));
}

TEST(ServiceActionTest, NamedNodePortFromLastAppliedIsKept) {
  ServiceAction a;
  RestoreFixture f;
  auto out = f.Run(a, Service("NodePort", kTwoPorts,
                              LastApplied(R"({"apiVersion":"v1","kind":"Service","spec":{"ports":[
                                {"name":"http","port":80,"nodePort":30080},{"name":"https","port":443}]}})")));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(NodePorts(out->item), ElementsAre(30080, 0));
}

TEST(ServiceActionTest, UnnamedNodePortFromLastAppliedMatchesByValue) {
  ServiceAction a;
  RestoreFixture f;
  // A string nodePort is read as a number too (Velero accepts both).
  auto out =
      f.Run(a, Service("LoadBalancer", R"([{"port":80,"protocol":"TCP","nodePort":31000},
                                                 {"port":81,"protocol":"TCP","nodePort":31001}])",
                       LastApplied(R"({"spec":{"ports":[{"port":80,"nodePort":"31000"}]}})")));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(NodePorts(out->item), ElementsAre(31000, 0));
}

TEST(ServiceActionTest, LastAppliedWinsOverManagedFields) {
  ServiceAction a;
  RestoreFixture f;
  // The annotation exists but names no nodePort; the managedFields entry is then not consulted.
  auto out = f.Run(a, Service("NodePort", kTwoPorts,
                              LastApplied(R"({"spec":{"ports":[{"name":"http","port":80}]}})") +
                                  R"(,"managedFields":[{"manager":"kubectl","operation":"Apply",
      "fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:ports":{
        "k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:nodePort":{}}}}}}])"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(NodePorts(out->item), ElementsAre(0, 0));
}

TEST(ServiceActionTest, NodePortOwnedInManagedFieldsIsKept) {
  ServiceAction a;
  RestoreFixture f;
  auto out = f.Run(a, Service("NodePort", kTwoPorts, R"("managedFields":[
      {"manager":"kube-controller-manager","operation":"Update","fieldsType":"FieldsV1",
       "fieldsV1":{"f:status":{}}},
      {"manager":"helm","operation":"Apply","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:ports":{
        "k:{\"port\":443,\"protocol\":\"TCP\"}":{".":{},"f:nodePort":{},"f:port":{}},
        "k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:port":{}}}}}}])"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(NodePorts(out->item), ElementsAre(0, 30443));
}

TEST(ServiceActionTest, ManagedFieldsKeyNeedsTheSameProtocol) {
  ServiceAction a;
  RestoreFixture f;
  auto out = f.Run(
      a, Service("NodePort", R"([{"name":"dns","port":53,"protocol":"UDP","nodePort":30053}])",
                 R"("managedFields":[{"fieldsV1":{"f:spec":{"f:ports":{
        "k:{\"port\":53,\"protocol\":\"TCP\"}":{"f:nodePort":{}}}}}}])"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(NodePorts(out->item), ElementsAre(0));
}

TEST(ServiceActionTest, ExternalNameIsLeftAlone) {
  ServiceAction a;
  RestoreFixture f;
  // Even a malformed annotation is not read for ExternalName services.
  auto out = f.Run(a, R"({"kind":"Service","metadata":{"name":"ext","annotations":{
      "kubectl.kubernetes.io/last-applied-configuration":"{not json"}},
    "spec":{"type":"ExternalName","externalName":"example.com","ports":[{"port":80,"nodePort":30000}]}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(NodePorts(out->item), ElementsAre(30000));
}

TEST(ServiceActionTest, MalformedLastAppliedIsAnError) {
  ServiceAction a;
  RestoreFixture f;
  for (const char* config : {"{not json", "[1]", R"({"spec":{"ports":{"a":1}}})",
                             R"({"spec":{"ports":[{"name":"http","nodePort":"thirty"}]}})"}) {
    auto out = f.Run(a, Service("NodePort", kTwoPorts, LastApplied(config)));
    ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << config;
    EXPECT_THAT(out.status().message(), HasSubstr("velero.io/service"));
  }
}

TEST(ServiceActionTest, MalformedManagedFieldsIsAnError) {
  ServiceAction a;
  RestoreFixture f;
  auto out =
      f.Run(a, Service("NodePort", kTwoPorts, R"("managedFields":[{"fieldsV1":{"f:spec":"x"}}])"));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
}

constexpr char kLbLocal[] = R"("externalTrafficPolicy":"Local","healthCheckNodePort":32000)";

TEST(ServiceActionTest, AutoHealthCheckNodePortIsDropped) {
  ServiceAction a;
  RestoreFixture f;
  auto out = f.Run(a, Service("LoadBalancer", kTwoPorts, "", kLbLocal));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"spec", "healthCheckNodePort"}), nullptr);
  EXPECT_EQ(JsonString(out->item, {"spec", "externalTrafficPolicy"}), "Local");
}

TEST(ServiceActionTest, ExplicitHealthCheckNodePortIsKept) {
  ServiceAction a;
  RestoreFixture f;
  auto via_annotation =
      f.Run(a, Service("LoadBalancer", kTwoPorts,
                       LastApplied(R"({"spec":{"healthCheckNodePort":32000}})"), kLbLocal));
  ASSERT_TRUE(via_annotation.ok()) << via_annotation.status();
  EXPECT_EQ(JsonInt(via_annotation->item, {"spec", "healthCheckNodePort"}), 32000);
  // Unlike nodePorts, managedFields are consulted even when the annotation exists.
  auto via_managed = f.Run(
      a, Service("LoadBalancer", kTwoPorts,
                 LastApplied(R"({"spec":{}})") +
                     R"(,"managedFields":[{"fieldsV1":{"f:spec":{"f:healthCheckNodePort":{}}}}])",
                 kLbLocal));
  ASSERT_TRUE(via_managed.ok()) << via_managed.status();
  EXPECT_EQ(JsonInt(via_managed->item, {"spec", "healthCheckNodePort"}), 32000);
}

TEST(ServiceActionTest, HealthCheckNodePortOnlyForLoadBalancerLocal) {
  ServiceAction a;
  RestoreFixture f;
  // Cluster policy: the field is kept as is (the API server will reject or ignore it).
  auto out = f.Run(a, Service("LoadBalancer", kTwoPorts, "",
                              R"("externalTrafficPolicy":"Cluster","healthCheckNodePort":32000)"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonInt(out->item, {"spec", "healthCheckNodePort"}), 32000);
  RestoreFixture preserve({}, true);
  out = preserve.Run(a, Service("LoadBalancer", kTwoPorts, "", kLbLocal));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonInt(out->item, {"spec", "healthCheckNodePort"}), 32000);
}

}  // namespace
}  // namespace lifeboat::restore
