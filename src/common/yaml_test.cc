#include "lifeboat/common/yaml.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lifeboat {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

json::value Y(std::string_view text) {
  auto v = YamlToJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " for:\n" << text;
  return v.ok() ? *v : json::value();
}

json::value Scalar(std::string_view text) { return Y("v: " + std::string(text)).at("v"); }

TEST(YamlToJsonTest, Yaml11Booleans) {
  for (const char* t : {"yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE", "y", "Y"}) {
    EXPECT_EQ(Scalar(t), json::value(true)) << t;
  }
  for (const char* t : {"no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE", "n", "N"}) {
    EXPECT_EQ(Scalar(t), json::value(false)) << t;
  }
}

TEST(YamlToJsonTest, Nulls) {
  EXPECT_TRUE(Scalar("~").is_null());
  EXPECT_TRUE(Scalar("null").is_null());
  EXPECT_TRUE(Scalar("Null").is_null());
  EXPECT_TRUE(Scalar("NULL").is_null());
  EXPECT_TRUE(Y("v:").at("v").is_null());
  EXPECT_TRUE(Y("").is_null());
}

TEST(YamlToJsonTest, Integers) {
  EXPECT_EQ(Scalar("0755"), json::value(493));
  EXPECT_EQ(Scalar("0x1F"), json::value(31));
  EXPECT_EQ(Scalar("0o17"), json::value(15));
  EXPECT_EQ(Scalar("0b101"), json::value(5));
  EXPECT_EQ(Scalar("42"), json::value(42));
  EXPECT_EQ(Scalar("-42"), json::value(-42));
  EXPECT_EQ(Scalar("+7"), json::value(7));
  EXPECT_EQ(Scalar("1_000"), json::value(1000));
  EXPECT_EQ(Scalar("0"), json::value(0));
  EXPECT_EQ(Scalar("9223372036854775807"), json::value(INT64_MAX));
  EXPECT_EQ(Scalar("-9223372036854775808"), json::value(INT64_MIN));
  EXPECT_EQ(Scalar("18446744073709551615"), json::value(UINT64_MAX));
  EXPECT_TRUE(Scalar("42").is_int64());
}

TEST(YamlToJsonTest, Floats) {
  json::value v = Scalar("1e3");
  ASSERT_TRUE(v.is_double());
  EXPECT_DOUBLE_EQ(v.get_double(), 1000.0);
  EXPECT_DOUBLE_EQ(Scalar("1.5").as_double(), 1.5);
  EXPECT_DOUBLE_EQ(Scalar("-2.5e-3").as_double(), -0.0025);
  EXPECT_DOUBLE_EQ(Scalar(".5").as_double(), 0.5);
  EXPECT_DOUBLE_EQ(Scalar("1.").as_double(), 1.0);
  EXPECT_TRUE(Scalar("1.0").is_double());
  // Not numbers.
  EXPECT_EQ(Scalar("1.2.3"), json::value("1.2.3"));
  EXPECT_EQ(Scalar("."), json::value("."));
  EXPECT_EQ(Scalar("1e"), json::value("1e"));
  EXPECT_EQ(Scalar("0x"), json::value("0x"));
  EXPECT_EQ(Scalar("12abc"), json::value("12abc"));
}

TEST(YamlToJsonTest, SpecialFloatsRejectedUnlessQuoted) {
  EXPECT_FALSE(YamlToJson("v: .inf").ok());
  EXPECT_FALSE(YamlToJson("v: .nan").ok());
  EXPECT_EQ(Y("v: '.inf'").at("v"), json::value(".inf"));
}

TEST(YamlToJsonTest, QuotedScalarsStayStrings) {
  EXPECT_EQ(Y("v: \"true\"").at("v"), json::value("true"));
  EXPECT_EQ(Y("v: 'yes'").at("v"), json::value("yes"));
  EXPECT_EQ(Y("v: \"1.0\"").at("v"), json::value("1.0"));
  EXPECT_EQ(Y("v: \"0755\"").at("v"), json::value("0755"));
  EXPECT_EQ(Y("v: \"~\"").at("v"), json::value("~"));
  EXPECT_EQ(Y("v: \"null\"").at("v"), json::value("null"));
  EXPECT_EQ(Y("v: ''").at("v"), json::value(""));
  EXPECT_EQ(Y("v: !!str 123").at("v"), json::value("123"));
  EXPECT_EQ(Y("v: !!str true").at("v"), json::value("true"));
  EXPECT_EQ(Y("v: hello world").at("v"), json::value("hello world"));
}

TEST(YamlToJsonTest, ExplicitTags) {
  EXPECT_EQ(Y("v: !!int 10").at("v"), json::value(10));
  EXPECT_TRUE(Y("v: !!float 10").at("v").is_double());
  EXPECT_EQ(YamlToJson("v: !!int abc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(YamlToJson("v: !!bool abc").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(YamlToJsonTest, StructuresAndJsonSubset) {
  json::value v = Y("a:\n  b: [1, 2, {c: d}]\n  e: {}\n  f: []\n");
  EXPECT_EQ(v, json::parse(R"({"a":{"b":[1,2,{"c":"d"}],"e":{},"f":[]}})"));
  EXPECT_EQ(Y(R"({"x": [true, null, 1.5, "s"]})"), json::parse(R"({"x":[true,null,1.5,"s"]})"));
}

TEST(YamlToJsonTest, KeyOrderPreserved) {
  json::value v = Y("z: 1\na: 2\nm: 3\n");
  std::vector<std::string> keys;
  for (const auto& kv : v.as_object()) keys.emplace_back(kv.key());
  EXPECT_THAT(keys, ::testing::ElementsAre("z", "a", "m"));
}

TEST(YamlToJsonTest, NonStringKeysBecomeStrings) {
  json::value v = Y("1: a\n\"2\": b\n");
  EXPECT_EQ(v, json::parse(R"({"1":"a","2":"b"})"));
}

TEST(YamlToJsonTest, PlainKeysResolveLikeSigsYaml) {
  // sigs.k8s.io/yaml resolves plain keys as YAML 1.1 and formats them back as strings.
  json::value v = Y("yes: b\nno: c\n0x10: d\n1e3: e\n1.5: f\n'yes': g\n007: h\n");
  EXPECT_EQ(v, json::parse(R"({"true":"b","false":"c","16":"d","1000":"e","1.5":"f","yes":"g","7":"h"})"))
      << json::serialize(v);
}

TEST(YamlToJsonTest, BlockScalars) {
  json::value v = Y("lit: |\n  line1\n  line2\nfold: >\n  a\n  b\n");
  EXPECT_EQ(v.at("lit"), json::value("line1\nline2\n"));
  EXPECT_EQ(v.at("fold"), json::value("a b\n"));
}

TEST(YamlToJsonTest, MultiDocumentSkipsEmptyDocuments) {
  auto docs = YamlToJsonDocuments("---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n...\n");
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0], json::parse(R"({"a":1})"));
  EXPECT_EQ((*docs)[1], json::parse(R"({"b":2})"));

  auto none = YamlToJsonDocuments("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  auto single = YamlToJsonDocuments("kind: ConfigMap\n");
  ASSERT_TRUE(single.ok());
  ASSERT_EQ(single->size(), 1u);
}

TEST(YamlToJsonTest, MultiDocumentErrorPropagates) {
  auto docs = YamlToJsonDocuments("a: 1\n---\nb: [\n");
  EXPECT_EQ(docs.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(YamlToJsonTest, MergeKeys) {
  json::value v = Y(
      "base: &base\n"
      "  a: 1\n"
      "  b: 2\n"
      "derived:\n"
      "  <<: *base\n"
      "  b: 3\n"
      "  c: 4\n");
  EXPECT_EQ(v.at("derived"), json::parse(R"({"b":3,"c":4,"a":1})"));
  EXPECT_EQ(v.at("derived").at("b"), json::value(3));
}

TEST(YamlToJsonTest, MergeKeyExplicitBeforeMerge) {
  // Explicit keys win whatever their position.
  json::value v = Y("base: &b {x: 1, z: 2}\nd:\n  x: 9\n  <<: *b\n");
  EXPECT_EQ(v.at("d").at("x"), json::value(9));
  EXPECT_EQ(v.at("d").at("z"), json::value(2));
}

TEST(YamlToJsonTest, MergeKeySequenceEarlierWins) {
  json::value v = Y("a: &a {k: 1, p: 1}\nb: &b {k: 2, q: 2}\nc:\n  <<: [*a, *b]\n");
  EXPECT_EQ(v.at("c").at("k"), json::value(1));
  EXPECT_EQ(v.at("c").at("p"), json::value(1));
  EXPECT_EQ(v.at("c").at("q"), json::value(2));
}

TEST(YamlToJsonTest, MergeKeyInvalidValue) {
  EXPECT_EQ(YamlToJson("a:\n  <<: 3\n").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(YamlToJsonTest, QuotedMergeKeyIsOrdinaryKey) {
  json::value v = Y("a:\n  \"<<\": 3\n");
  EXPECT_EQ(v.at("a").at("<<"), json::value(3));
}

TEST(YamlToJsonTest, AliasesExpand) {
  json::value v = Y("a: &x [1, 2]\nb: *x\n");
  EXPECT_EQ(v.at("b"), json::parse("[1,2]"));
}

TEST(YamlToJsonTest, DuplicateKeysError) {
  auto v = YamlToJson("a: 1\nb: 2\na: 3\n");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("\"a\" already defined"));
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("line 3"));
}

TEST(YamlToJsonTest, AliasBombFailsWithInvalidArgument) {
  const char* bomb =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
  YamlLimits limits;
  limits.max_nodes = 100000;
  auto v = YamlToJson(bomb, limits);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("nodes"));

  auto docs = YamlToJsonDocuments(bomb, limits);
  EXPECT_EQ(docs.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(YamlToJsonTest, NodeLimitAllowsSmallDocuments) {
  YamlLimits limits;
  limits.max_nodes = 10;
  EXPECT_TRUE(YamlToJson("a: [1, 2, 3]\n", limits).ok());
  EXPECT_FALSE(YamlToJson("a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n", limits).ok());
}

TEST(YamlToJsonTest, MergeKeyBombBounded) {
  std::string text = "a0: &a0 {k: v}\n";
  for (int i = 1; i < 30; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " {<<: [*a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + "], x" + std::to_string(i) + ": 1}\n";
  }
  YamlLimits limits;
  limits.max_nodes = 100000;
  auto v = YamlToJson(text, limits);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(YamlToJsonTest, DeepNestingLimit) {
  YamlLimits limits;
  limits.max_depth = 50;
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto v = YamlToJson(deep, limits);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("deeper"));

  std::string shallow(20, '[');
  shallow += std::string(20, ']');
  EXPECT_TRUE(YamlToJson(shallow, limits).ok());
}

TEST(YamlToJsonTest, VeryDeepNestingDoesNotCrash) {
  // Far beyond the default depth: must fail cleanly (no stack overflow).
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  auto v = YamlToJson(deep);
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(YamlToJsonTest, MalformedYamlHasLineNumber) {
  auto v = YamlToJson("a: 1\nb: [1, 2\nc: 3\n");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v.status().message()), HasSubstr("line "));

  auto w = YamlToJson("a: 1\n  b: 2\n");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr("line 2"));

  auto x = YamlToJson("a: [1, 2\n");
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(YamlToJsonTest, UnknownAliasIsError) {
  auto v = YamlToJson("a: *nope\n");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
}

// --- JsonToYaml ---

void ExpectRoundTrip(const json::value& v) {
  std::string yaml = JsonToYaml(v);
  auto back = YamlToJson(yaml);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << yaml;
  EXPECT_EQ(*back, v) << "yaml:\n" << yaml << "json: " << json::serialize(v) << " back: " << json::serialize(*back);
}

TEST(JsonToYamlTest, TrickyStringsRoundTrip) {
  for (const char* s :
       {"yes", "no", "on", "off", "y", "n", "Y", "true", "False", "", "1", "1.0", "0755", "0x1F", "1e3", "null", "Null",
        "~", ": x", "a: b", "- item", "-", "#comment", "a #b", "key:", "[x]", "{x}", "&anchor", "*alias", "!tag", "|",
        ">", "%percent", "@at", "`tick", "'single'", "\"double\"", " leading space", "trailing space ", "tab\there",
        "line1\nline2", "line1\nline2\n", "\n", "\n\nx", "trailing newlines\n\n", "ünïcødé", "日本語", "emoji 😀",
        "<<", ".inf", ".nan", "-.inf", "1_000", "+1", ".5", "2001-12-14", "a,b", "?", "? x", "---", "...",
        "back\\slash", "\x01 control", "carriage\rreturn", "=", "0o17", "0b101", "-0", "+.5"}) {
    SCOPED_TRACE(s);
    ExpectRoundTrip(json::value(json::string(s)));
    json::object o;
    o["k"] = json::string(s);
    ExpectRoundTrip(o);
    json::object ko;
    ko[s] = 1;
    ExpectRoundTrip(ko);
    json::array a;
    a.push_back(json::string(s));
    ExpectRoundTrip(a);
  }
}

TEST(JsonToYamlTest, ScalarsRoundTrip) {
  for (const char* j : {"null", "true", "false", "0", "-1", "123456789012", "9223372036854775807",
                        "-9223372036854775808", "18446744073709551615", "1.5", "-0.25", "1e+30", "1e-30", "1.0",
                        "0.1", "123456.789", "[]", "{}", "[[]]", "[{}]", "{\"a\":{}}", "{\"a\":[]}"}) {
    SCOPED_TRACE(j);
    ExpectRoundTrip(json::parse(j));
  }
}

TEST(JsonToYamlTest, NestedDocumentRoundTrip) {
  json::value v = json::parse(R"({
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "x", "labels": {"app": "yes", "n": "1"}, "annotations": {"": "empty key"}},
    "data": {"script": "#!/bin/sh\necho hi\n", "on": "off", "json": "{\"a\": 1}"},
    "list": [[1, [2, []]], {"a": [{"b": null}]}, "", null, true, 2.5],
    "deep": {"a": {"b": {"c": [ {"d": "e"}, [] ]}}}
  })");
  ExpectRoundTrip(v);
}

TEST(JsonToYamlTest, OutputIsBlockStyleInKeyOrder) {
  json::value v = json::parse(R"({"b": 1, "a": {"c": [1, 2]}})");
  std::string y = JsonToYaml(v);
  EXPECT_EQ(y, "b: 1\na:\n  c:\n    - 1\n    - 2\n") << y;
}

TEST(JsonToYamlTest, QuotesOnlyWhereNeeded) {
  std::string y = JsonToYaml(json::parse(R"({"a": "hello", "b": "yes", "c": "12"})"));
  EXPECT_THAT(y, HasSubstr("a: hello\n"));
  EXPECT_THAT(y, HasSubstr("b: \"yes\"\n"));
  EXPECT_THAT(y, HasSubstr("c: \"12\"\n"));
}

}  // namespace
}  // namespace lifeboat
