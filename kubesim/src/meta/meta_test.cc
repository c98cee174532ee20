#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kubesim/src/meta/resource_type.h"
#include "kubesim/src/meta/selectors.h"
#include "kubesim/src/meta/validation.h"

namespace kubesim {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

const char kSubdomainMsg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const char kLabelMsg[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const char kNamePartMsg[] =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const char kLabelValueMsg[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

json::object Labels(std::initializer_list<std::pair<const char*, const char*>> kv) {
  json::object o;
  for (const auto& [k, v] : kv) o[k] = v;
  return o;
}

LabelSelector MustParse(std::string_view s) {
  auto sel = LabelSelector::Parse(s);
  EXPECT_TRUE(sel.ok()) << s << ": " << sel.status();
  return sel.ok() ? *sel : LabelSelector();
}

bool Match(std::string_view selector, const json::object& labels) { return MustParse(selector).Matches(&labels); }

// ---------------- label selectors ----------------

TEST(LabelSelectorTest, EmptyMatchesEverything) {
  EXPECT_TRUE(MustParse("").Empty());
  EXPECT_TRUE(MustParse("   ").Empty());
  EXPECT_TRUE(MustParse("").Matches(nullptr));
  json::object l = Labels({{"a", "b"}});
  EXPECT_TRUE(MustParse("").Matches(&l));
  EXPECT_TRUE(LabelSelector().Matches(nullptr));
}

TEST(LabelSelectorTest, Equality) {
  json::object l = Labels({{"app", "web"}, {"tier", "front"}});
  EXPECT_TRUE(Match("app=web", l));
  EXPECT_TRUE(Match("app==web", l));
  EXPECT_FALSE(Match("app=db", l));
  EXPECT_TRUE(Match("app=web,tier=front", l));
  EXPECT_FALSE(Match("app=web,tier=back", l));
  EXPECT_FALSE(Match("missing=x", l));
  EXPECT_FALSE(MustParse("app=web").Matches(nullptr));
}

TEST(LabelSelectorTest, EmptyValue) {
  json::object l = Labels({{"a", ""}});
  EXPECT_TRUE(Match("a=", l));
  EXPECT_FALSE(Match("a=x", l));
  EXPECT_FALSE(Match("b=", l));
}

TEST(LabelSelectorTest, NotEquals) {
  json::object l = Labels({{"app", "web"}});
  EXPECT_FALSE(Match("app!=web", l));
  EXPECT_TRUE(Match("app!=db", l));
  EXPECT_TRUE(Match("missing!=x", l));  // absent keys match !=
  EXPECT_TRUE(MustParse("app!=web").Matches(nullptr));
}

TEST(LabelSelectorTest, InAndNotIn) {
  json::object l = Labels({{"env", "prod"}});
  EXPECT_TRUE(Match("env in (prod,dev)", l));
  EXPECT_TRUE(Match("env in (prod)", l));
  EXPECT_FALSE(Match("env in (dev,qa)", l));
  EXPECT_FALSE(Match("x in (prod)", l));
  EXPECT_FALSE(Match("env notin (prod,dev)", l));
  EXPECT_TRUE(Match("env notin (dev)", l));
  EXPECT_TRUE(Match("x notin (prod)", l));
  EXPECT_TRUE(Match("env in (in,notin,prod)", l));  // keywords usable as values
}

TEST(LabelSelectorTest, ExistsAndDoesNotExist) {
  json::object l = Labels({{"a", "1"}});
  EXPECT_TRUE(Match("a", l));
  EXPECT_FALSE(Match("b", l));
  EXPECT_FALSE(Match("!a", l));
  EXPECT_TRUE(Match("!b", l));
  EXPECT_TRUE(Match("a,!b", l));
  EXPECT_TRUE(MustParse("!a").Matches(nullptr));
  EXPECT_FALSE(MustParse("a").Matches(nullptr));
}

TEST(LabelSelectorTest, GreaterAndLessThan) {
  json::object l = Labels({{"n", "5"}, {"s", "abc"}});
  EXPECT_TRUE(Match("n>3", l));
  EXPECT_FALSE(Match("n>5", l));
  EXPECT_TRUE(Match("n<6", l));
  EXPECT_FALSE(Match("n<5", l));
  EXPECT_FALSE(Match("s>1", l));  // non-integer label value
  EXPECT_FALSE(Match("m>1", l));  // absent
  EXPECT_FALSE(Match("m<1", l));
}

TEST(LabelSelectorTest, Whitespace) {
  json::object l = Labels({{"a", "b"}, {"c", "d"}});
  EXPECT_TRUE(Match("  a = b ,  c  ==  d  ", l));
  EXPECT_TRUE(Match("a in ( x , b )", l));
  EXPECT_TRUE(Match("a\tin\t(b)", l));
  EXPECT_TRUE(Match(" ! e ", l));
}

TEST(LabelSelectorTest, QualifiedKeys) {
  json::object l = Labels({{"app.kubernetes.io/name", "web"}});
  EXPECT_TRUE(Match("app.kubernetes.io/name=web", l));
  EXPECT_TRUE(Match("app.kubernetes.io/name", l));
}

TEST(LabelSelectorTest, NonStringLabelValuesDoNotMatch) {
  json::object l;
  l["a"] = 1;
  EXPECT_FALSE(Match("a=1", l));
}

TEST(LabelSelectorTest, InvalidSelectors) {
  for (const char* s : {"=a", "a=b=c", "a in", "a in b", "a in (b", "a notin (b c)", "a b", "a,", ",a", "a,,b",
                        "!", "!a=b", "a=(b)", "x>a", "x<", "a>1.5", "a=b c", "a in (b,c", "a!"}) {
    auto sel = LabelSelector::Parse(s);
    EXPECT_FALSE(sel.ok()) << "'" << s << "' parsed as " << (sel.ok() ? sel->ToString() : "");
    if (!sel.ok()) { EXPECT_EQ(sel.status().code(), absl::StatusCode::kInvalidArgument) << s; }
  }
}

TEST(LabelSelectorTest, ErrorWording) {
  auto s = LabelSelector::Parse("=a");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("found '='"));

  s = LabelSelector::Parse("a b");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("found 'b', expected:"));

  s = LabelSelector::Parse("!=a");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("found '!='"));

  s = LabelSelector::Parse("a=b c");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "found 'c', expected: ',' or 'end of string'");

  s = LabelSelector::Parse("a,");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "found '', expected: identifier after ','");

  s = LabelSelector::Parse("x>a");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value "
            "must be an integer");
}

TEST(LabelSelectorTest, InvalidKeyAndValueMessages) {
  auto s = LabelSelector::Parse("bad_key_=x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "unable to parse requirement: key: Invalid value: \"bad_key_\": " +
                                      std::string(kNamePartMsg));

  s = LabelSelector::Parse("Bad.Prefix/name=x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "unable to parse requirement: key: Invalid value: \"Bad.Prefix/name\": prefix part " +
                                      std::string(kSubdomainMsg));

  s = LabelSelector::Parse("a=-bad");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            "unable to parse requirement: values[0][-bad]: Invalid value: \"-bad\": " + std::string(kLabelValueMsg));

  s = LabelSelector::Parse("a in (ok,zz-)");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("values[1][zz-]: Invalid value: \"zz-\""));

  std::string long_value(64, 'a');
  s = LabelSelector::Parse("a=" + long_value);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("must be no more than 63 characters"));

  std::string long_key(64, 'k');
  s = LabelSelector::Parse(long_key);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("name part must be no more than 63 characters"));
  EXPECT_TRUE(LabelSelector::Parse(std::string(63, 'k')).ok());

  s = LabelSelector::Parse("a/b/c");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("a qualified name must consist of"));
}

TEST(LabelSelectorTest, ParsedRequirements) {
  LabelSelector s = MustParse("z in (c,a,b,a), a!=x, m");
  ASSERT_EQ(s.requirements().size(), 3u);
  EXPECT_EQ(s.requirements()[0].key, "a");
  EXPECT_EQ(s.requirements()[0].op, LabelSelector::Op::kNotEquals);
  EXPECT_EQ(s.requirements()[1].key, "m");
  EXPECT_EQ(s.requirements()[1].op, LabelSelector::Op::kExists);
  EXPECT_EQ(s.requirements()[2].key, "z");
  EXPECT_EQ(s.requirements()[2].op, LabelSelector::Op::kIn);
  EXPECT_THAT(s.requirements()[2].values, ::testing::ElementsAre("a", "b", "c"));
}

TEST(LabelSelectorTest, EmptySetValues) {
  // "()" and trailing commas mean the empty value.
  json::object empty = Labels({{"a", ""}});
  EXPECT_TRUE(Match("a in ()", empty));
  EXPECT_TRUE(Match("a in (x,)", empty));
  EXPECT_TRUE(Match("a in (,x)", empty));
}

TEST(LabelSelectorTest, ToStringCanonical) {
  EXPECT_EQ(MustParse("z=1,a in (c,b),!m,k,x notin (q),n>3,o<2,p!=v").ToString(),
            "a in (b,c),k,!m,n>3,o<2,p!=v,x notin (q),z=1");
  EXPECT_EQ(MustParse("").ToString(), "");
  EXPECT_EQ(MustParse("a=").ToString(), "a=");
  // Round trip.
  std::string canonical = MustParse("b in (y,x), a=1").ToString();
  EXPECT_EQ(MustParse(canonical).ToString(), canonical);
}

TEST(LabelSelectorTest, FromJsonMatchLabelsAndExpressions) {
  json::value v = json::parse(R"({
    "matchLabels": {"app": "web", "tier": "front"},
    "matchExpressions": [
      {"key": "env", "operator": "In", "values": ["prod", "dev"]},
      {"key": "canary", "operator": "DoesNotExist"},
      {"key": "zone", "operator": "NotIn", "values": ["b"]},
      {"key": "tier", "operator": "Exists"}
    ]})");
  auto s = LabelSelector::FromJson(&v);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->ToString(), "app=web,!canary,env in (dev,prod),tier=front,tier,zone notin (b)");
  json::object good = Labels({{"app", "web"}, {"tier", "front"}, {"env", "prod"}});
  EXPECT_TRUE(s->Matches(&good));
  json::object canary = Labels({{"app", "web"}, {"tier", "front"}, {"env", "prod"}, {"canary", "1"}});
  EXPECT_FALSE(s->Matches(&canary));
  json::object wrong_zone = Labels({{"app", "web"}, {"tier", "front"}, {"env", "prod"}, {"zone", "b"}});
  EXPECT_FALSE(s->Matches(&wrong_zone));
}

TEST(LabelSelectorTest, FromJsonEmptyAndNull) {
  auto s = LabelSelector::FromJson(nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Empty());
  json::value null_v;
  s = LabelSelector::FromJson(&null_v);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Empty());
  json::value empty = json::object();
  s = LabelSelector::FromJson(&empty);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Empty());
  json::object l = Labels({{"x", "y"}});
  EXPECT_TRUE(s->Matches(&l));
}

TEST(LabelSelectorTest, FromJsonErrors) {
  for (const char* j : {
           R"({"matchExpressions": [{"key": "a", "operator": "Foo"}]})",
           R"({"matchExpressions": [{"key": "a", "operator": "In"}]})",
           R"({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})",
           R"({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})",
           R"({"matchExpressions": [{"key": "bad key", "operator": "Exists"}]})",
           R"({"matchLabels": {"a": "bad value"}})",
           R"({"matchLabels": {"a": 1}})",
           R"("string")",
       }) {
    json::value v = json::parse(j);
    auto s = LabelSelector::FromJson(&v);
    EXPECT_FALSE(s.ok()) << j;
    if (!s.ok()) { EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << j; }
  }
  json::value v = json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Foo"}]})");
  EXPECT_EQ(LabelSelector::FromJson(&v).status().message(), "\"Foo\" is not a valid label selector operator");
}

// ---------------- field selectors ----------------

json::value Pod() {
  return json::parse(R"({
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "node-a", "hostNetwork": false},
    "status": {"phase": "Running"}
  })");
}

TEST(FieldSelectorTest, ParseAndMatch) {
  auto s = FieldSelector::Parse("metadata.name=web-1,status.phase!=Pending,spec.nodeName==node-a");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->requirements().size(), 3u);
  EXPECT_TRUE(s->Matches(Pod()));
  auto t = FieldSelector::Parse("status.phase=Pending");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->Matches(Pod()));
  auto u = FieldSelector::Parse("status.phase!=Running");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->Matches(Pod()));
}

TEST(FieldSelectorTest, MissingFieldComparesAsEmpty) {
  auto s = FieldSelector::Parse("status.podIP=");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches(Pod()));
  auto t = FieldSelector::Parse("spec.nodeName!=");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->Matches(Pod()));
  auto u = FieldSelector::Parse("spec.schedulerName!=");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->Matches(Pod()));
}

TEST(FieldSelectorTest, BoolFields) {
  auto s = FieldSelector::Parse("spec.hostNetwork=false");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches(Pod()));
}

TEST(FieldSelectorTest, Empty) {
  auto s = FieldSelector::Parse("");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Empty());
  EXPECT_TRUE(s->Matches(Pod()));
}

TEST(FieldSelectorTest, Escapes) {
  json::value obj = json::parse(R"({"metadata": {"name": "a,b=c\\d"}})");
  auto s = FieldSelector::Parse(R"(metadata.name=a\,b\=c\\d)");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->requirements().size(), 1u);
  EXPECT_EQ(s->requirements()[0].field, "metadata.name");
  EXPECT_TRUE(s->requirements()[0].equals);
  EXPECT_EQ(s->requirements()[0].value, "a,b=c\\d");
  EXPECT_TRUE(s->Matches(obj));
}

TEST(FieldSelectorTest, Errors) {
  for (const char* t : {"metadata.name", "foo", "a=b=c", R"(a=b\x)", R"(a=b\)", "a=b,c"}) {
    auto s = FieldSelector::Parse(t);
    EXPECT_FALSE(s.ok()) << t;
    if (!s.ok()) { EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << t; }
  }
  EXPECT_EQ(FieldSelector::Parse("foo").status().message(), "invalid selector: 'foo'; can't understand 'foo'");
  EXPECT_EQ(FieldSelector::Parse(R"(a=b\x)").status().message(),
            "invalid field selector: invalid escape sequence: \\x");
  EXPECT_EQ(FieldSelector::Parse(R"(a=b\)").status().message(), "invalid field selector: invalid escape sequence: \\");
}

TEST(FieldSelectorTest, ValidateFor) {
  auto s = FieldSelector::Parse("metadata.name=x,metadata.namespace=y");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->ValidateFor("", "configmaps").ok());
  EXPECT_TRUE(s->ValidateFor("apps", "deployments").ok());
  EXPECT_TRUE(s->ValidateFor("example.com", "widgets").ok());

  auto foo = FieldSelector::Parse("spec.foo=bar");
  ASSERT_TRUE(foo.ok());
  Status st = foo->ValidateFor("", "pods");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "field label not supported: spec.foo");

  auto pod = FieldSelector::Parse("spec.nodeName=n,status.phase=Running,spec.restartPolicy=Always");
  ASSERT_TRUE(pod.ok());
  EXPECT_TRUE(pod->ValidateFor("", "pods").ok());
  EXPECT_FALSE(pod->ValidateFor("", "configmaps").ok());

  auto secret = FieldSelector::Parse("type=Opaque");
  ASSERT_TRUE(secret.ok());
  EXPECT_TRUE(secret->ValidateFor("", "secrets").ok());
  EXPECT_EQ(secret->ValidateFor("", "configmaps").message(), "field label not supported: type");

  auto ev = FieldSelector::Parse("involvedObject.name=x,reason=Failed,type=Warning");
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE(ev->ValidateFor("", "events").ok());

  auto ns = FieldSelector::Parse("status.phase=Active");
  ASSERT_TRUE(ns.ok());
  EXPECT_TRUE(ns->ValidateFor("", "namespaces").ok());
  auto rs = FieldSelector::Parse("status.replicas=1");
  ASSERT_TRUE(rs.ok());
  EXPECT_TRUE(rs->ValidateFor("apps", "replicasets").ok());
  EXPECT_FALSE(rs->ValidateFor("apps", "deployments").ok());
  auto job = FieldSelector::Parse("status.successful=1");
  ASSERT_TRUE(job.ok());
  EXPECT_TRUE(job->ValidateFor("batch", "jobs").ok());
  auto node = FieldSelector::Parse("spec.unschedulable=false");
  ASSERT_TRUE(node.ok());
  EXPECT_TRUE(node->ValidateFor("", "nodes").ok());
}

// ---------------- ObjectMeta validation ----------------

json::value Obj(const char* meta_json) {
  json::object o;
  o["metadata"] = json::parse(meta_json);
  return o;
}

std::string Msg(std::string_view kind, std::string_view name, const std::vector<FieldCause>& causes) {
  return FormatInvalidMessage(kind, name, causes);
}

TEST(ValidationTest, ValidObject) {
  auto causes = ValidateObjectMeta(
      Obj(R"({"name": "my-config.v1", "namespace": "default", "labels": {"app.kubernetes.io/name": "web", "e": ""},
              "annotations": {"example.com/x": "anything at all: !"}, "finalizers": ["example.com/f", "kubernetes"]})"),
      true, NameRule::kSubdomain);
  EXPECT_TRUE(causes.empty()) << Msg("ConfigMap", "x", causes);
}

TEST(ValidationTest, BadSubdomainNameExactMessage) {
  auto causes = ValidateObjectMeta(Obj(R"({"name": "Bad_Name", "namespace": "default"})"), true, NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].reason, "FieldValueInvalid");
  EXPECT_EQ(causes[0].field, "metadata.name");
  EXPECT_EQ(causes[0].message, "Invalid value: \"Bad_Name\": " + std::string(kSubdomainMsg));
  EXPECT_EQ(Msg("ConfigMap", "Bad_Name", causes),
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 "
            "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with "
            "an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
}

TEST(ValidationTest, TooLongSubdomain) {
  std::string name(254, 'a');
  auto causes = ValidateObjectMeta(Obj(("{\"name\": \"" + name + "\", \"namespace\": \"d\"}").c_str()), true,
                                   NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].message, "Invalid value: \"" + name + "\": must be no more than 253 characters");
  std::string ok(253, 'a');
  EXPECT_TRUE(ValidateObjectMeta(Obj(("{\"name\": \"" + ok + "\", \"namespace\": \"d\"}").c_str()), true,
                                 NameRule::kSubdomain)
                  .empty());
}

TEST(ValidationTest, NameRequired) {
  auto causes = ValidateObjectMeta(Obj(R"({"namespace": "default"})"), true, NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].reason, "FieldValueRequired");
  EXPECT_EQ(causes[0].field, "metadata.name");
  EXPECT_EQ(causes[0].message, "Required value: name or generateName is required");
  EXPECT_EQ(Msg("ConfigMap", "", causes),
            "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required");
}

TEST(ValidationTest, GenerateName) {
  EXPECT_TRUE(ValidateObjectMeta(Obj(R"({"generateName": "web-", "namespace": "d"})"), true, NameRule::kSubdomain)
                  .empty());
  // kube masks the trailing dash ("a--" is a valid prefix).
  EXPECT_TRUE(ValidateObjectMeta(Obj(R"({"generateName": "a--", "namespace": "d"})"), true, NameRule::kSubdomain)
                  .empty());
  auto causes = ValidateObjectMeta(Obj(R"({"generateName": "Web-", "namespace": "d"})"), true, NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "metadata.generateName");
  EXPECT_EQ(causes[0].message, "Invalid value: \"Web-\": " + std::string(kSubdomainMsg));
}

TEST(ValidationTest, LabelRuleForNamespacesAndServices) {
  EXPECT_EQ(NameRuleFor("", "namespaces"), NameRule::kLabel);
  EXPECT_EQ(NameRuleFor("", "services"), NameRule::kLabel);
  EXPECT_EQ(NameRuleFor("", "configmaps"), NameRule::kSubdomain);
  EXPECT_EQ(NameRuleFor("apps", "deployments"), NameRule::kSubdomain);
  EXPECT_EQ(NameRuleFor("rbac.authorization.k8s.io", "roles"), NameRule::kPathSegment);
  EXPECT_EQ(NameRuleFor("rbac.authorization.k8s.io", "clusterrolebindings"), NameRule::kPathSegment);
  EXPECT_EQ(NameRuleFor("example.com", "widgets"), NameRule::kSubdomain);

  auto causes = ValidateObjectMeta(Obj(R"({"name": "a.b"})"), false, NameRule::kLabel);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].message, "Invalid value: \"a.b\": " + std::string(kLabelMsg));
  EXPECT_EQ(Msg("Namespace", "a.b", causes), "Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": " +
                                                  std::string(kLabelMsg));
  std::string long_label(64, 'a');
  causes = ValidateObjectMeta(Obj(("{\"name\": \"" + long_label + "\"}").c_str()), false, NameRule::kLabel);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].message, "Invalid value: \"" + long_label + "\": must be no more than 63 characters");
}

TEST(ValidationTest, PathSegmentNames) {
  EXPECT_TRUE(ValidateObjectMeta(Obj(R"({"name": "system:controller:Foo_bar"})"), false, NameRule::kPathSegment)
                  .empty());
  auto causes = ValidateObjectMeta(Obj(R"({"name": ".."})"), false, NameRule::kPathSegment);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].message, "Invalid value: \"..\": may not be '..'");
  causes = ValidateObjectMeta(Obj(R"({"name": "a/b%c"})"), false, NameRule::kPathSegment);
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_EQ(causes[0].message, "Invalid value: \"a/b%c\": may not contain '/'");
  EXPECT_EQ(causes[1].message, "Invalid value: \"a/b%c\": may not contain '%'");
}

TEST(ValidationTest, NamespaceRules) {
  auto causes = ValidateObjectMeta(Obj(R"({"name": "x"})"), true, NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].reason, "FieldValueRequired");
  EXPECT_EQ(causes[0].field, "metadata.namespace");
  EXPECT_EQ(causes[0].message, "Required value");

  causes = ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "my.ns"})"), true, NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "metadata.namespace");
  EXPECT_EQ(causes[0].message, "Invalid value: \"my.ns\": " + std::string(kLabelMsg));

  causes = ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "default"})"), false, NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].reason, "FieldValueForbidden");
  EXPECT_EQ(causes[0].field, "metadata.namespace");
  EXPECT_EQ(causes[0].message, "Forbidden: not allowed on this type");
}

TEST(ValidationTest, LabelErrors) {
  auto causes = ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "d", "labels": {"app": "bad value"}})"), true,
                                   NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "metadata.labels");
  EXPECT_EQ(causes[0].message, "Invalid value: \"bad value\": " + std::string(kLabelValueMsg));

  std::string long_value(64, 'v');
  causes = ValidateObjectMeta(
      Obj(("{\"name\": \"x\", \"namespace\": \"d\", \"labels\": {\"a\": \"" + long_value + "\"}}").c_str()), true,
      NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].message, "Invalid value: \"" + long_value + "\": must be no more than 63 characters");

  causes = ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "d", "labels": {"-bad": "v"}})"), true,
                              NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].message, "Invalid value: \"-bad\": " + std::string(kNamePartMsg));

  causes = ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "d", "labels": {"Example.com/a": "v"}})"), true,
                              NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].message, "Invalid value: \"Example.com/a\": prefix part " + std::string(kSubdomainMsg));

  causes = ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "d", "labels": {"a/": "v"}})"), true,
                              NameRule::kSubdomain);
  ASSERT_GE(causes.size(), 1u);
  EXPECT_EQ(causes[0].message, "Invalid value: \"a/\": name part must be non-empty");
}

TEST(ValidationTest, AnnotationKeysAreCaseInsensitive) {
  EXPECT_TRUE(ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "d", "annotations": {"Example.COM/Key": "v"}})"),
                                 true, NameRule::kSubdomain)
                  .empty());
  auto causes = ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "d", "annotations": {"bad key": "v"}})"), true,
                                   NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "metadata.annotations");
}

TEST(ValidationTest, AnnotationsTooLarge) {
  json::value o = Obj(R"({"name": "x", "namespace": "d"})");
  o.at("metadata").as_object()["annotations"] = json::object{{"big", std::string(256 * 1024, 'x')}};
  auto causes = ValidateObjectMeta(o, true, NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].reason, "FieldValueTooLong");
  EXPECT_EQ(causes[0].field, "metadata.annotations");
}

TEST(ValidationTest, FinalizersAndOwnerReferences) {
  auto causes = ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "d", "finalizers": ["bad finalizer"]})"), true,
                                   NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "metadata.finalizers");
  EXPECT_EQ(causes[0].message, "Invalid value: \"bad finalizer\": " + std::string(kNamePartMsg));

  causes = ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "d", "ownerReferences": [{"apiVersion": "v1"}]})"),
                              true, NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 3u);
  EXPECT_EQ(causes[0].field, "metadata.ownerReferences.kind");
  EXPECT_EQ(causes[0].message, "Invalid value: \"\": kind must not be empty");
  EXPECT_EQ(causes[1].field, "metadata.ownerReferences.name");
  EXPECT_EQ(causes[2].field, "metadata.ownerReferences.uid");

  causes = ValidateObjectMeta(Obj(R"({"name": "x", "namespace": "d", "ownerReferences": [
      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": true},
      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": true}]})"),
                              true, NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "metadata.ownerReferences");
  EXPECT_THAT(causes[0].message, HasSubstr("Only one reference can have Controller set to true"));
}

TEST(ValidationTest, MultipleCausesFormatting) {
  auto causes = ValidateObjectMeta(Obj(R"({"name": "Bad_Name", "labels": {"a": "-"}})"), true, NameRule::kSubdomain);
  ASSERT_EQ(causes.size(), 3u);
  EXPECT_EQ(causes[0].field, "metadata.name");
  EXPECT_EQ(causes[1].field, "metadata.namespace");
  EXPECT_EQ(causes[2].field, "metadata.labels");
  EXPECT_EQ(Msg("Deployment.apps", "Bad_Name", causes),
            "Deployment.apps \"Bad_Name\" is invalid: [metadata.name: Invalid value: \"Bad_Name\": " +
                std::string(kSubdomainMsg) + ", metadata.namespace: Required value, metadata.labels: Invalid value: \"-\": " +
                std::string(kLabelValueMsg) + "]");
  EXPECT_EQ(Msg("ConfigMap", "x", {}), "ConfigMap \"x\" is invalid");
}

TEST(ValidationTest, FormatDeduplicatesIdenticalCauses) {
  std::vector<FieldCause> causes = {{"FieldValueRequired", "Required value", "spec.a"},
                                    {"FieldValueRequired", "Required value", "spec.a"},
                                    {"FieldValueRequired", "Required value", "spec.b"}};
  EXPECT_EQ(Msg("Widget.example.com", "w", causes),
            "Widget.example.com \"w\" is invalid: [spec.a: Required value, spec.b: Required value]");
  causes.pop_back();
  EXPECT_EQ(Msg("Widget.example.com", "w", causes), "Widget.example.com \"w\" is invalid: spec.a: Required value");
}

// ---------------- built-in types ----------------

TEST(BuiltinTypesTest, CommonResources) {
  auto types = BuiltinResourceTypes();
  auto find = [&](const std::string& group, const std::string& version, const std::string& resource) {
    for (const auto& t : types) {
      if (t.group == group && t.version == version && t.resource == resource) return &t;
    }
    return static_cast<const ResourceType*>(nullptr);
  };
  const ResourceType* cm = find("", "v1", "configmaps");
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ(cm->kind, "ConfigMap");
  EXPECT_EQ(cm->singular, "configmap");
  EXPECT_EQ(cm->list_kind, "ConfigMapList");
  EXPECT_TRUE(cm->namespaced);
  EXPECT_EQ(cm->ApiVersion(), "v1");
  EXPECT_EQ(cm->GroupResource(), "configmaps");
  EXPECT_THAT(cm->short_names, ::testing::ElementsAre("cm"));

  const ResourceType* deploy = find("apps", "v1", "deployments");
  ASSERT_NE(deploy, nullptr);
  EXPECT_EQ(deploy->ApiVersion(), "apps/v1");
  EXPECT_EQ(deploy->GroupResource(), "deployments.apps");
  EXPECT_TRUE(deploy->HasSubresource("status"));
  EXPECT_TRUE(deploy->HasSubresource("scale"));
  EXPECT_THAT(deploy->categories, ::testing::Contains("all"));

  const ResourceType* ns = find("", "v1", "namespaces");
  ASSERT_NE(ns, nullptr);
  EXPECT_FALSE(ns->namespaced);

  const ResourceType* hpa2 = find("autoscaling", "v2", "horizontalpodautoscalers");
  const ResourceType* hpa1 = find("autoscaling", "v1", "horizontalpodautoscalers");
  ASSERT_NE(hpa2, nullptr);
  ASSERT_NE(hpa1, nullptr);
  EXPECT_TRUE(hpa2->storage);
  EXPECT_FALSE(hpa1->storage);
  EXPECT_EQ(PreferredBuiltinVersion("autoscaling"), "v2");
  EXPECT_EQ(PreferredBuiltinVersion("apps"), "v1");
  EXPECT_EQ(PreferredBuiltinVersion(""), "v1");

  const ResourceType* pods = find("", "v1", "pods");
  ASSERT_NE(pods, nullptr);
  EXPECT_THAT(pods->verbs, ::testing::ElementsAre("create", "delete", "deletecollection", "get", "list", "patch",
                                                  "update", "watch"));
}

TEST(BuiltinTypesTest, UniqueAndConsistent) {
  auto types = BuiltinResourceTypes();
  std::set<std::string> seen;
  std::map<std::string, int> storage_versions;
  for (const auto& t : types) {
    EXPECT_TRUE(seen.insert(t.group + "/" + t.version + "/" + t.resource).second) << t.resource;
    EXPECT_FALSE(t.kind.empty());
    EXPECT_FALSE(t.custom);
    EXPECT_TRUE(t.served);
    if (t.storage) storage_versions[t.GroupResource()]++;
  }
  for (const auto& [gr, n] : storage_versions) EXPECT_EQ(n, 1) << gr;
}

}  // namespace
}  // namespace kubesim
