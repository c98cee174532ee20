#include "src/restore/resource_modifiers.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/json.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

json::value J(std::string_view s) {
  auto v = ParseJson(s);
  EXPECT_TRUE(v.ok()) << v.status() << ": " << s;
  return v.ok() ? *v : json::value();
}

json::value Pvc(const std::string& ns, const std::string& name, const std::string& sc,
                const std::string& labels = "{}") {
  return J(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":")" + name +
           R"(","namespace":")" + ns + R"(","labels":)" + labels +
           R"(},"spec":{"storageClassName":")" + sc + R"("}})");
}

json::value Deployment() {
  return J(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","namespace":"app","labels":{"tier":"front"}},
    "spec":{"replicas":3,"template":{"spec":{"containers":[
      {"name":"app","image":"repo1/nginx:1","env":[{"name":"A","value":"1"}]},
      {"name":"side","image":"side:1"}]}}}})");
}

ResourceModifiers MustParse(std::string_view text) {
  auto m = ResourceModifiers::Parse(text);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : ResourceModifiers();
}

// Parses, applies to `item` as `gr`, and expects success.
json::value Applied(std::string_view rules, json::value item, std::string_view gr) {
  ResourceModifiers m = MustParse(rules);
  Status s = m.Apply(item, gr);
  EXPECT_TRUE(s.ok()) << s;
  return item;
}

std::string Sc(const json::value& pvc) {
  return std::string(pvc.at("spec").at("storageClassName").as_string());
}

constexpr char kDocExample[] = R"(
version: v1
resourceModifierRules:
- conditions:
    groupResource: persistentvolumeclaims
    resourceNameRegex: "^mysql.*$"
    namespaces:
    - bar
    - foo
    labelSelector:
      matchLabels:
        foo: bar
  patches:
  - operation: replace
    path: "/spec/storageClassName"
    value: "premium"
  - operation: remove
    path: "/metadata/labels/test"
)";

TEST(ResourceModifiersTest, VeleroDocExampleYaml) {
  json::value hit =
      Applied(kDocExample, Pvc("foo", "mysql-0", "standard", R"({"foo":"bar","test":"x"})"),
              "persistentvolumeclaims");
  EXPECT_EQ(Sc(hit), "premium");
  EXPECT_EQ(hit.at("metadata").at("labels"), J(R"({"foo":"bar"})"));
}

TEST(ResourceModifiersTest, EachConditionCanExclude) {
  const std::string labels = R"({"foo":"bar","test":"x"})";
  struct Case {
    const char* what;
    json::value item;
    const char* gr;
  } cases[] = {
      {"other namespace", Pvc("baz", "mysql-0", "standard", labels), "persistentvolumeclaims"},
      {"name regex", Pvc("foo", "pg-0", "standard", labels), "persistentvolumeclaims"},
      {"label selector", Pvc("foo", "mysql-0", "standard", R"({"foo":"qux","test":"x"})"),
       "persistentvolumeclaims"},
      {"group resource", Pvc("foo", "mysql-0", "standard", labels), "persistentvolumes"},
  };
  ResourceModifiers m = MustParse(kDocExample);
  for (auto& c : cases) {
    json::value before = c.item;
    ASSERT_TRUE(m.Apply(c.item, c.gr).ok()) << c.what;
    EXPECT_EQ(c.item, before) << c.what;
  }
}

TEST(ResourceModifiersTest, JsonFormAndRegexIsUnanchoredSearch) {
  json::value pvc = Applied(R"({"version":"v1","resourceModifierRules":[{"conditions":{
      "groupResource":"persistentvolumeclaims","resourceNameRegex":"sql"},
      "patches":[{"operation":"replace","path":"/spec/storageClassName","value":"fast"}]}]})",
                            Pvc("ns", "mysql-0", "slow"), "persistentvolumeclaims");
  EXPECT_EQ(Sc(pvc), "fast");
}

TEST(ResourceModifiersTest, GroupResourceGlobUsesDotSeparator) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: "%s"}
  mergePatches: [{patchData: '{"metadata":{"annotations":{"hit":"yes"}}}'}]
)";
  struct Case {
    const char* pattern;
    const char* gr;
    bool hit;
  } cases[] = {
      {"*", "pods", true},
      {"*", "deployments.apps", false},
      {"*.apps", "deployments.apps", true},
      {"deploy*.apps", "deployments.apps", true},
      {"*.*", "deployments.apps", true},
      {"**", "ingresses.networking.k8s.io", true},
      {"*.networking.k8s.io", "ingresses.networking.k8s.io", true},
      {"{pods,services}", "services", true},
      {"deployments.apps", "deployments.apps", true},
      {"deployments", "deployments.apps", false},
      {"pod?", "pods", true},
  };
  for (const auto& c : cases) {
    char buf[512];
    std::snprintf(buf, sizeof buf, rules, c.pattern);
    json::value item =
        J(R"({"apiVersion":"v1","kind":"X","metadata":{"name":"a","namespace":"n"}})");
    item = Applied(buf, item, c.gr);
    EXPECT_EQ(JsonFind(item, {"metadata", "annotations", "hit"}) != nullptr, c.hit)
        << c.pattern << " " << c.gr;
  }
}

TEST(ResourceModifiersTest, NamespacesDoNotFilterClusterScopedItems) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: persistentvolumes, namespaces: [foo]}
  patches: [{operation: add, path: /metadata/labels, value: '{"hit":"yes"}'}]
)";
  json::value pv = Applied(
      rules, J(R"({"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv1"}})"),
      "persistentvolumes");
  EXPECT_EQ(pv.at("metadata").at("labels"), J(R"({"hit":"yes"})"));
}

TEST(ResourceModifiersTest, NamespaceGlobsAndStar) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: persistentvolumeclaims, namespaces: ["team-*"]}
  patches: [{operation: replace, path: /spec/storageClassName, value: gold}]
)";
  EXPECT_EQ(Sc(Applied(rules, Pvc("team-a", "x", "s"), "persistentvolumeclaims")), "gold");
  EXPECT_EQ(Sc(Applied(rules, Pvc("other", "x", "s"), "persistentvolumeclaims")), "s");
}

TEST(ResourceModifiersTest, LabelSelectorExpressions) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions:
    groupResource: persistentvolumeclaims
    labelSelector:
      matchExpressions:
      - {key: env, operator: In, values: [prod, staging]}
      - {key: legacy, operator: DoesNotExist}
  patches: [{operation: replace, path: /spec/storageClassName, value: gold}]
)";
  const char* gr = "persistentvolumeclaims";
  EXPECT_EQ(Sc(Applied(rules, Pvc("n", "x", "s", R"({"env":"prod"})"), gr)), "gold");
  EXPECT_EQ(Sc(Applied(rules, Pvc("n", "x", "s", R"({"env":"dev"})"), gr)), "s");
  EXPECT_EQ(Sc(Applied(rules, Pvc("n", "x", "s", R"({"env":"prod","legacy":"1"})"), gr)), "s");
}

TEST(ResourceModifiersTest, MatchesCompareValuesAsVeleroDoes) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions:
    groupResource: deployments.apps
    matches:
    - path: /spec/replicas
      value: "3"
    - path: /spec/template/spec/containers/0/image
      value: repo1/nginx:1
  patches: [{operation: replace, path: /spec/replicas, value: "1"}]
)";
  json::value d = Applied(rules, Deployment(), "deployments.apps");
  EXPECT_EQ(d.at("spec").at("replicas"), json::value(1));
  // A different value or a missing path: the rule does not apply.
  json::value other = Deployment();
  other.at("spec").as_object()["replicas"] = 2;
  EXPECT_EQ(Applied(rules, other, "deployments.apps").at("spec").at("replicas"), json::value(2));
  json::value no_spec =
      J(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}})");
  EXPECT_EQ(Applied(rules, no_spec, "deployments.apps"), no_spec);
  // "\"3\"" is the string "3", which does not equal the number 3.
  std::string quoted = rules;
  quoted.replace(quoted.find(R"(value: "3")"), 10, R"(value: '"3"')");
  EXPECT_EQ(Applied(quoted, Deployment(), "deployments.apps").at("spec").at("replicas"),
            json::value(3));
}

TEST(ResourceModifiersTest, PatchValuesFollowVeleroQuotingRules) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: configmaps}
  patches:
  - {operation: add, path: /data/str, value: hello}
  - {operation: add, path: /data/num, value: "42"}
  - {operation: add, path: /data/unquoted, value: 7}
  - {operation: add, path: /data/bool, value: "true"}
  - {operation: add, path: /data/null, value: "null"}
  - {operation: add, path: /data/empty, value: ""}
  - {operation: add, path: /data/forced, value: '"true"'}
  - {operation: add, path: /data/obj, value: '{"a": [1, 2]}'}
  - {operation: add, path: /data/escaped, value: 'a\tb'}
)";
  json::value cm = Applied(
      rules, J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{}})"),
      "configmaps");
  EXPECT_EQ(cm.at("data"),
            J(R"({"str":"hello","num":42,"unquoted":7,"bool":true,"null":null,"empty":"",
                                  "forced":"true","obj":{"a":[1,2]},"escaped":"a\tb"})"));
}

TEST(ResourceModifiersTest, AllJsonPatchOperations) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: deployments.apps}
  patches:
  - operation: add
    path: /spec/template/spec/containers/0
    value: '{"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}'
  - {operation: copy, from: /spec/template/spec/containers/0, path: /spec/template/spec/containers/-}
  - {operation: move, from: /metadata/labels/tier, path: /metadata/labels/layer}
  - {operation: Replace, path: /spec/replicas, value: "5"}
  - {operation: remove, path: /spec/template/spec/containers/1/env}
  - {operation: test, path: /spec/replicas, value: "5"}
)";
  json::value d = Applied(rules, Deployment(), "deployments.apps");
  const auto& cs = d.at("spec").at("template").at("spec").at("containers").as_array();
  ASSERT_EQ(cs.size(), 4u);
  EXPECT_EQ(cs[0].at("name"), "nginx");
  EXPECT_EQ(cs[1].at("name"), "app");
  EXPECT_FALSE(cs[1].as_object().contains("env"));
  EXPECT_EQ(cs[3], cs[0]);
  EXPECT_EQ(d.at("metadata").at("labels"), J(R"({"layer":"front"})"));
  EXPECT_EQ(d.at("spec").at("replicas"), json::value(5));
}

TEST(ResourceModifiersTest, FailedTestOperationSkipsTheRulesPatch) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: persistentvolumeclaims}
  patches:
  - {operation: replace, path: /metadata/name, value: renamed}
  - {operation: test, path: /spec/storageClassName, value: premium}
  - {operation: replace, path: /spec/storageClassName, value: standard}
)";
  json::value unchanged = Pvc("n", "a", "gold");
  EXPECT_EQ(Applied(rules, unchanged, "persistentvolumeclaims"), unchanged);
  json::value changed = Applied(rules, Pvc("n", "a", "premium"), "persistentvolumeclaims");
  EXPECT_EQ(Sc(changed), "standard");
  EXPECT_EQ(changed.at("metadata").at("name"), "renamed");
}

TEST(ResourceModifiersTest, MergePatchesInOrder) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: pods, namespaces: [ns1]}
  mergePatches:
  - patchData: |
      {"metadata": {"annotations": {"foo": null, "bar": "1"}}}
  - patchData: |
      metadata:
        annotations:
          bar: "2"
      spec:
        nodeSelector: {disk: ssd}
)";
  json::value pod = J(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns1",
      "annotations":{"foo":"x","keep":"y"}},"spec":{"containers":[{"name":"c","image":"i"}]}})");
  pod = Applied(rules, pod, "pods");
  EXPECT_EQ(pod.at("metadata").at("annotations"), J(R"({"keep":"y","bar":"2"})"));
  EXPECT_EQ(pod.at("spec").at("nodeSelector"), J(R"({"disk":"ssd"})"));
  EXPECT_EQ(pod.at("spec").at("containers").as_array().size(), 1u);
}

TEST(ResourceModifiersTest, StrategicPatchMergesContainersByName) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: deployments.apps, resourceNameRegex: "^web$"}
  strategicPatches:
  - patchData: |
      spec:
        template:
          spec:
            containers:
            - name: app
              image: repo2/nginx:1
              env:
              - {name: B, value: "2"}
)";
  json::value d = Applied(rules, Deployment(), "deployments.apps");
  const auto& cs = d.at("spec").at("template").at("spec").at("containers").as_array();
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].at("image"), "repo2/nginx:1");
  EXPECT_EQ(cs[0].at("env"), J(R"([{"name":"A","value":"1"},{"name":"B","value":"2"}])"));
  EXPECT_EQ(cs[1].at("name"), "side");
}

TEST(ResourceModifiersTest, StrategicPatchOnCustomResourceIsAnError) {
  ResourceModifiers m = MustParse(R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: widgets.example.com}
  strategicPatches: [{patchData: '{"spec": {"size": 2}}'}]
)");
  json::value w = J(
      R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","namespace":"n"}})");
  Status s = m.Apply(w, "widgets.example.com");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("widgets.example.com n/w"), HasSubstr("resourceModifierRules[0]"),
                    HasSubstr("strategic merge patch is not supported for Widget.example.com")));
}

TEST(ResourceModifiersTest, MultipleRulesMatchTheOriginalAndPatchCumulatively) {
  const char* rules = R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: persistentvolumeclaims, labelSelector: {matchLabels: {tier: db}}}
  patches:
  - {operation: replace, path: /spec/storageClassName, value: gold}
  - {operation: replace, path: /metadata/labels/tier, value: changed}
- conditions:
    groupResource: persistentvolumeclaims
    labelSelector: {matchLabels: {tier: db}}
    matches: [{path: /spec/storageClassName, value: standard}]
  mergePatches: [{patchData: '{"metadata": {"annotations": {"second": "yes"}}}'}]
- conditions: {groupResource: "*"}
  patches: [{operation: add, path: /metadata/labels/third, value: "yes"}]
)";
  json::value pvc =
      Applied(rules, Pvc("n", "data", "standard", R"({"tier":"db"})"), "persistentvolumeclaims");
  EXPECT_EQ(Sc(pvc), "gold");
  EXPECT_EQ(pvc.at("metadata").at("labels"), J(R"({"tier":"changed","third":"yes"})"));
  EXPECT_EQ(pvc.at("metadata").at("annotations"), J(R"({"second":"yes"})"));
}

TEST(ResourceModifiersTest, FailingPatchNamesRuleAndItemAndLaterRulesStillRun) {
  ResourceModifiers m = MustParse(R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: persistentvolumeclaims}
  patches: [{operation: replace, path: /spec/missing/field, value: x}]
- conditions: {groupResource: persistentvolumeclaims}
  patches: [{operation: replace, path: /spec/storageClassName, value: gold}]
)");
  json::value pvc = Pvc("ns", "data", "standard");
  Status s = m.Apply(pvc, "persistentvolumeclaims");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      std::string(s.message()),
      AllOf(HasSubstr("persistentvolumeclaims ns/data"), HasSubstr("resourceModifierRules[0]"),
            HasSubstr("error in applying JSON patch"), HasSubstr("/spec/missing/field"),
            ::testing::Not(HasSubstr("resourceModifierRules[1]"))));
  EXPECT_EQ(Sc(pvc), "gold");
}

TEST(ResourceModifiersTest, FromConfigMap) {
  json::object cm{{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"metadata", json::object{{"name", "mods"}, {"namespace", "velero"}}},
                  {"data", json::object{{"rules.yaml", kDocExample}}}};
  auto m = ResourceModifiers::FromConfigMap(cm);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rule_count(), 1u);

  cm["data"].as_object()["other.yaml"] = "x: 1";
  auto two = ResourceModifiers::FromConfigMap(cm);
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(two.status().message()),
              HasSubstr("illegal resource modifiers velero/mods configmap: want exactly one key in "
                        "data, found 2"));
  cm.erase("data");
  EXPECT_THAT(std::string(ResourceModifiers::FromConfigMap(cm).status().message()),
              HasSubstr("found 0"));

  cm["data"] = json::object{{"r", "version: v2\nresourceModifierRules: []"}};
  auto bad = ResourceModifiers::FromConfigMap(cm);
  EXPECT_THAT(std::string(bad.status().message()),
              AllOf(HasSubstr("resource modifiers configmap velero/mods"),
                    HasSubstr("unsupported resource modifier version v2"),
                    HasSubstr("resource modifier rules cannot be empty")));
}

TEST(ResourceModifiersTest, VersionIsCaseInsensitive) {
  EXPECT_TRUE(ResourceModifiers::Parse(R"(
version: V1
resourceModifierRules:
- conditions: {groupResource: pods}
  patches: [{operation: remove, path: /spec/nodeName}]
)")
                  .ok());
}

TEST(ResourceModifiersTest, BadInputListsEveryProblem) {
  auto m = ResourceModifiers::Parse(R"(
version: v1
extra: 1
resourceModifierRules:
- conditions:
    resourceNameRegex: "(unclosed"
    labelSelector: {matchExpressions: [{key: a, operator: Sometimes}]}
    matches: [{value: x}]
    colour: red
  patches: [{operation: add, path: /a, value: x}]
  mergePatches: [{patchData: '{}'}]
- conditions: {groupResource: pods}
  patches:
  - {operation: frobnicate, path: /a}
  - {operation: replace, path: ""}
  - {operation: add, path: no-slash, value: x}
  - {operation: move, path: /a}
  - {operation: add, path: /a, value: '{"broken": '}
  - {operation: add, path: /a, value: {nested: map}}
- conditions: {groupResource: pods}
- conditions: {groupResource: pods}
  strategicPatches: [{patchData: "- a list"}, {patchData: "{bad yaml"}]
)");
  ASSERT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  std::string msg(m.status().message());
  for (const char* want : {
           "resource modifiers: unknown field \"extra\"",
           "resourceModifierRules[0].conditions: unknown field \"colour\"",
           "resourceModifierRules[0].conditions.groupResource: groupResource cannot be empty",
           "resourceModifierRules[0].conditions.resourceNameRegex: invalid regular expression "
           "\"(unclosed\"",
           "resourceModifierRules[0].conditions.labelSelector: ",
           "resourceModifierRules[0].conditions.matches[0].path: path is required for match rule",
           "resourceModifierRules[0]: only one of patches, mergePatches, strategicPatches can be "
           "specified",
           "resourceModifierRules[1].patches[0].operation: unsupported operation frobnicate",
           "resourceModifierRules[1].patches[1].path: path cannot be empty",
           "resourceModifierRules[1].patches[2].path: \"no-slash\" is not a JSON pointer",
           "resourceModifierRules[1].patches[3].from: path cannot be empty",
           "resourceModifierRules[1].patches[4].value: ",
           "resourceModifierRules[1].patches[5].value: must be a string",
           "resourceModifierRules[2]: no patch data found",
           "resourceModifierRules[3].strategicPatches[0].patchData: must be a YAML or JSON object",
           "resourceModifierRules[3].strategicPatches[1].patchData: not YAML or JSON",
       }) {
    EXPECT_THAT(msg, HasSubstr(want));
  }
}

TEST(ResourceModifiersTest, NotYamlAtAll) {
  auto m = ResourceModifiers::Parse("version: [unclosed");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("not YAML or JSON"));
  EXPECT_THAT(std::string(ResourceModifiers::Parse("- a\n- b").status().message()),
              HasSubstr("resource modifiers: must be an object"));
}

TEST(ResourceModifiersTest, CaseInsensitiveRegexFlag) {
  json::value pvc = Applied(R"(
version: v1
resourceModifierRules:
- conditions: {groupResource: persistentvolumeclaims, resourceNameRegex: "(?i)^MYSQL"}
  patches: [{operation: replace, path: /spec/storageClassName, value: gold}]
)",
                            Pvc("n", "mysql-0", "s"), "persistentvolumeclaims");
  EXPECT_EQ(Sc(pvc), "gold");
}

}  // namespace
}  // namespace lifeboat::restore
