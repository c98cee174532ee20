// Unit tests of lifeboat/common/json_patch.h (moved here from kubesim, which serves these
// patch types).

#include "lifeboat/common/json_patch.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lifeboat::jsonpatch {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

json::value J(std::string_view s) { return json::parse(s); }

// ---------------- merge patch (RFC 7386) ----------------

TEST(MergePatchTest, Rfc7386Examples) {
  struct Case {
    const char* target;
    const char* patch;
    const char* result;
  } cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", R"(null)", R"(null)"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    auto r = ApplyMergePatch(J(c.target), J(c.patch));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, J(c.result)) << c.target << " + " << c.patch << " = " << json::serialize(*r);
  }
}

// ---------------- JSON patch (RFC 6902 appendix A) ----------------

struct JsonPatchCase {
  const char* name;
  const char* doc;
  const char* patch;
  const char* expected;  // nullptr: error
  absl::StatusCode code = absl::StatusCode::kOk;
};

TEST(JsonPatchTest, Rfc6902AppendixA) {
  JsonPatchCase cases[] = {
      {"A.1", R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])",
       R"({"foo":"bar","baz":"qux"})"},
      {"A.2", R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])",
       R"({"foo":["bar","qux","baz"]})"},
      {"A.3", R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])",
       R"({"foo":"bar"})"},
      {"A.4", R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])",
       R"({"foo":["bar","baz"]})"},
      {"A.5", R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])",
       R"({"baz":"boo","foo":"bar"})"},
      {"A.6", R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
       R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
       R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"},
      {"A.7", R"({"foo":["all","grass","cows","eat"]})",
       R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
       R"({"foo":["all","cows","eat","grass"]})"},
      {"A.8", R"({"baz":"qux","foo":["a",2,"c"]})",
       R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
       R"({"baz":"qux","foo":["a",2,"c"]})"},
      {"A.9", R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])", nullptr,
       absl::StatusCode::kFailedPrecondition},
      {"A.10", R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
       R"({"foo":"bar","child":{"grandchild":{}}})"},
      {"A.11", R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])",
       R"({"foo":"bar","baz":"qux"})"},
      {"A.12", R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])", nullptr,
       absl::StatusCode::kFailedPrecondition},
      {"A.14", R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])",
       R"({"/":9,"~1":10})"},
      {"A.15", R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":"10"}])", nullptr,
       absl::StatusCode::kFailedPrecondition},
      {"A.16", R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
       R"({"foo":["bar",["abc","def"]]})"},
      {"copy", R"({"a":{"b":1}})", R"([{"op":"copy","from":"/a","path":"/c"}])",
       R"({"a":{"b":1},"c":{"b":1}})"},
      {"replace whole", R"({"a":1})", R"([{"op":"replace","path":"","value":[1]}])", R"([1])"},
      {"remove missing", R"({"a":1})", R"([{"op":"remove","path":"/b"}])", nullptr,
       absl::StatusCode::kFailedPrecondition},
      {"index out of range", R"({"a":[1]})", R"([{"op":"add","path":"/a/5","value":2}])", nullptr,
       absl::StatusCode::kFailedPrecondition},
      {"slash key", R"({})", R"([{"op":"add","path":"/a~1b","value":1}])", R"({"a/b":1})"},
      {"empty patch", R"({"a":1})", R"([])", R"({"a":1})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = ApplyJsonPatch(J(c.doc), J(c.patch));
    if (c.expected == nullptr) {
      ASSERT_FALSE(r.ok()) << json::serialize(*r);
      EXPECT_EQ(r.status().code(), c.code) << r.status();
    } else {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(*r, J(c.expected)) << json::serialize(*r);
    }
  }
}

TEST(JsonPatchTest, MalformedIsInvalidArgument) {
  // Documents that do not decode as a patch: 400.
  for (const char* p : {R"({"op":"add"})", R"([1])", R"("x")"}) {
    auto r = ApplyJsonPatch(J(R"({"a":1})"), J(p));
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << p << ": " << r.status();
  }
  // Operations that decode but cannot be applied (kube answers 422, as evanphx/json-patch's Apply
  // fails on them).
  for (const char* p : {R"([{"op":"frob","path":"/a"}])", R"([{"path":"/a","value":1}])",
                        R"([{"op":"add","value":1}])", R"([{"op":"add","path":"a","value":1}])",
                        R"([{"op":"move","path":"/a"}])"}) {
    auto r = ApplyJsonPatch(J(R"({"a":1})"), J(p));
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << p << ": " << r.status();
  }
  auto r = ApplyJsonPatch(J(R"({"a":1})"), J(R"([{"op":"frob","path":"/a"}])"));
  EXPECT_EQ(r.status().message(), "Unexpected kind: frob");
}

TEST(JsonPatchTest, AtomicOnFailure) {
  json::value doc = J(R"({"a":1})");
  auto r = ApplyJsonPatch(
      doc, J(R"([{"op":"add","path":"/b","value":2},{"op":"test","path":"/a","value":5}])"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(doc, J(R"({"a":1})"));
}

TEST(JsonPatchTest, TestFailureIsDistinguishable) {
  json::value doc = J(R"({"a": 1, "b": [1]})");
  auto failed = ApplyJsonPatch(doc, J(R"([{"op": "test", "path": "/a", "value": 2}])"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsJsonPatchTestFailure(failed.status()));
  auto missing = ApplyJsonPatch(doc, J(R"([{"op": "test", "path": "/zzz", "value": 2}])"));
  EXPECT_TRUE(IsJsonPatchTestFailure(missing.status()));
  auto other = ApplyJsonPatch(doc, J(R"([{"op": "replace", "path": "/zzz", "value": 2}])"));
  ASSERT_FALSE(other.ok());
  EXPECT_FALSE(IsJsonPatchTestFailure(other.status()));
  EXPECT_FALSE(IsJsonPatchTestFailure(absl::OkStatus()));
  EXPECT_TRUE(ApplyJsonPatch(doc, J(R"([{"op": "test", "path": "/a", "value": 1.0}])")).ok());
}

// ---------------- strategic merge patch ----------------

json::value Deployment() {
  return J(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "finalizers": ["a/x", "b/y", "c/z"]},
    "spec": {
      "replicas": 2,
      "selector": {"matchLabels": {"app": "web"}},
      "template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {
          "containers": [
            {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}],
             "args": ["--a", "--b"]},
            {"name": "sidecar", "image": "side:1"}
          ],
          "tolerations": [{"key": "k1", "operator": "Exists"}],
          "volumes": [{"name": "v1", "emptyDir": {}}]
        }
      }
    }
  })");
}

json::value Smp(const json::value& target, std::string_view patch) {
  auto r = ApplyStrategicMergePatch(target, J(patch), "apps", "Deployment");
  EXPECT_TRUE(r.ok()) << r.status() << " patch: " << patch;
  return r.ok() ? *r : json::value();
}

const json::array& Containers(const json::value& d) {
  return d.at("spec").at("template").at("spec").at("containers").as_array();
}

TEST(StrategicMergeTest, ContainersMergeByName) {
  json::value r =
      Smp(Deployment(),
          R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:2"}]}}}})");
  const auto& cs = Containers(r);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].at("name"), "app");
  EXPECT_EQ(cs[0].at("image"), "app:2");
  EXPECT_EQ(cs[0].at("env").as_array().size(), 2u);  // untouched fields kept
  EXPECT_EQ(cs[1].at("name"), "sidecar");
}

TEST(StrategicMergeTest, NewContainerAppended) {
  json::value r =
      Smp(Deployment(),
          R"({"spec":{"template":{"spec":{"containers":[{"name":"new","image":"n:1"}]}}}})");
  const auto& cs = Containers(r);
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[2].at("name"), "new");
}

TEST(StrategicMergeTest, EnvMergeByName) {
  json::value r = Smp(Deployment(), R"({"spec":{"template":{"spec":{"containers":[
      {"name":"app","env":[{"name":"B","value":"22"},{"name":"C","value":"3"}]}]}}}})");
  const auto& env = Containers(r)[0].at("env").as_array();
  ASSERT_EQ(env.size(), 3u);
  EXPECT_EQ(env[0], J(R"({"name":"A","value":"1"})"));
  EXPECT_EQ(env[1], J(R"({"name":"B","value":"22"})"));
  EXPECT_EQ(env[2], J(R"({"name":"C","value":"3"})"));
}

TEST(StrategicMergeTest, DeleteContainerDirective) {
  json::value r = Smp(Deployment(), R"({"spec":{"template":{"spec":{"containers":[
      {"name":"sidecar","$patch":"delete"}]}}}})");
  const auto& cs = Containers(r);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].at("name"), "app");
}

TEST(StrategicMergeTest, SetElementOrder) {
  json::value r = Smp(Deployment(), R"({"spec":{"template":{"spec":{
      "$setElementOrder/containers":[{"name":"sidecar"},{"name":"app"}],
      "containers":[{"name":"app","image":"app:3"}]}}}})");
  const auto& cs = Containers(r);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].at("name"), "sidecar");
  EXPECT_EQ(cs[1].at("name"), "app");
  EXPECT_EQ(cs[1].at("image"), "app:3");
  EXPECT_FALSE(
      r.at("spec").at("template").at("spec").as_object().contains("$setElementOrder/containers"));
}

TEST(StrategicMergeTest, RetainKeys) {
  json::value d = Deployment();
  d.at("spec").as_object()["strategy"] =
      J(R"({"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}})");
  json::value r = Smp(d, R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}})");
  EXPECT_EQ(r.at("spec").at("strategy"), J(R"({"type":"Recreate"})"));
}

TEST(StrategicMergeTest, DeleteFromPrimitiveListFinalizers) {
  json::value r =
      Smp(Deployment(), R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b/y"]}})");
  EXPECT_EQ(r.at("metadata").at("finalizers"), J(R"(["a/x","c/z"])"));
  json::value r2 = Smp(Deployment(), R"({"metadata":{"finalizers":["d/w","a/x"]}})");
  // finalizers merge as a set: existing kept, new appended.
  const auto& f = r2.at("metadata").at("finalizers").as_array();
  EXPECT_EQ(f.size(), 4u) << json::serialize(f);
  EXPECT_NE(std::find(f.begin(), f.end(), json::value("d/w")), f.end());
}

TEST(StrategicMergeTest, NullDeletes) {
  json::value r =
      Smp(Deployment(), R"({"metadata":{"labels":{"app":null}},"spec":{"replicas":null}})");
  EXPECT_FALSE(r.at("spec").as_object().contains("replicas"));
  EXPECT_TRUE(r.at("metadata").at("labels").as_object().empty());
}

TEST(StrategicMergeTest, PortsMergeByContainerPort) {
  json::value r = Smp(Deployment(), R"({"spec":{"template":{"spec":{"containers":[
      {"name":"app","ports":[{"containerPort":443,"name":"https"},{"containerPort":8080}]}]}}}})");
  const auto& ports = Containers(r)[0].at("ports").as_array();
  ASSERT_EQ(ports.size(), 3u) << json::serialize(ports);
  EXPECT_EQ(ports[0].at("containerPort"), 80);
  EXPECT_EQ(ports[1].at("containerPort"), 443);
  EXPECT_EQ(ports[1].at("name"), "https");
  EXPECT_EQ(ports[1].at("protocol"), "TCP");
  EXPECT_EQ(ports[2].at("containerPort"), 8080);
}

TEST(StrategicMergeTest, TolerationsAndArgsReplaced) {
  json::value r = Smp(Deployment(), R"({"spec":{"template":{"spec":{
      "tolerations":[{"key":"k2","operator":"Exists"}],
      "containers":[{"name":"app","args":["--c"]}]}}}})");
  EXPECT_EQ(r.at("spec").at("template").at("spec").at("tolerations"),
            J(R"([{"key":"k2","operator":"Exists"}])"));
  EXPECT_EQ(Containers(r)[0].at("args"), J(R"(["--c"])"));
}

TEST(StrategicMergeTest, PatchReplaceOnMap) {
  json::value r =
      Smp(Deployment(), R"({"spec":{"selector":{"$patch":"replace","matchLabels":{"x":"y"}}}})");
  EXPECT_EQ(r.at("spec").at("selector"), J(R"({"matchLabels":{"x":"y"}})"));
}

TEST(StrategicMergeTest, SupportsStrategicMerge) {
  EXPECT_TRUE(SupportsStrategicMerge("apps", "Deployment"));
  EXPECT_TRUE(SupportsStrategicMerge("", "ConfigMap"));
  EXPECT_FALSE(SupportsStrategicMerge("example.com", "Widget"));
}

}  // namespace
}  // namespace lifeboat::jsonpatch
