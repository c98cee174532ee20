#include "lifeboat/api/label_selector.h"

#include <gtest/gtest.h>

#include "lifeboat/common/json.h"

namespace lifeboat::api {
namespace {

using Labels = std::map<std::string, std::string>;

LabelSelector MustParse(std::string_view s) {
  StatusOr<LabelSelector> sel = LabelSelector::Parse(s);
  EXPECT_TRUE(sel.ok()) << s << ": " << sel.status();
  return sel.ok() ? *sel : LabelSelector();
}

LabelSelector MustFromJson(std::string_view s) {
  StatusOr<LabelSelector> sel = LabelSelector::FromJson(*ParseJson(s));
  EXPECT_TRUE(sel.ok()) << s << ": " << sel.status();
  return sel.ok() ? *sel : LabelSelector();
}

TEST(LabelSelectorTest, EmptyMatchesEverything) {
  LabelSelector sel;
  EXPECT_TRUE(sel.Empty());
  EXPECT_TRUE(sel.Matches({}));
  EXPECT_TRUE(sel.Matches({{"a", "b"}}));
  EXPECT_EQ(sel.ToString(), "");
  EXPECT_EQ(boost::json::serialize(sel.ToJson()), "{}");
}

TEST(LabelSelectorTest, OperatorsMatchAsKubernetes) {
  LabelSelector sel = MustParse("app=web,tier in (a,b),env notin (prod),owner,!legacy,zone!=x");
  EXPECT_TRUE(sel.Matches({{"app", "web"}, {"tier", "a"}, {"owner", "me"}}));
  EXPECT_TRUE(sel.Matches({{"app", "web"}, {"tier", "b"}, {"owner", "me"}, {"env", "dev"}}));
  EXPECT_FALSE(sel.Matches({{"app", "web"}, {"tier", "c"}, {"owner", "me"}}));
  EXPECT_FALSE(sel.Matches({{"app", "web"}, {"tier", "a"}, {"owner", "me"}, {"env", "prod"}}));
  EXPECT_FALSE(sel.Matches({{"app", "web"}, {"tier", "a"}}));                   // Exists
  EXPECT_FALSE(sel.Matches({{"app", "web"}, {"tier", "a"}, {"owner", "me"}, {"legacy", ""}}));
  EXPECT_FALSE(sel.Matches({{"app", "web"}, {"tier", "a"}, {"owner", "me"}, {"zone", "x"}}));
  EXPECT_FALSE(sel.Matches({{"app", "db"}, {"tier", "a"}, {"owner", "me"}}));
}

TEST(LabelSelectorTest, ParseProducesMetav1Form) {
  LabelSelector sel = MustParse(" a == b , c!=d,e in (y, x)");
  EXPECT_EQ(sel.match_labels(), (Labels{{"a", "b"}}));
  ASSERT_EQ(sel.match_expressions().size(), 2u);
  EXPECT_EQ(sel.match_expressions()[0].op, LabelSelector::Operator::kNotIn);
  EXPECT_EQ(sel.match_expressions()[0].values, std::vector<std::string>{"d"});
  EXPECT_EQ(sel.ToString(), "a=b,c notin (d),e in (x,y)");
  EXPECT_EQ(MustParse("a=").match_labels(), (Labels{{"a", ""}}));
}

TEST(LabelSelectorTest, ToStringParsesBackToTheSameSelector) {
  for (const char* s : {"app=web", "a in (x,y),b", "!c,d notin (z)", "example.com/k=v"}) {
    LabelSelector sel = MustParse(s);
    EXPECT_EQ(MustParse(sel.ToString()), sel) << s;
  }
}

TEST(LabelSelectorTest, JsonRoundTrip) {
  const char* json =
      R"({"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]},{"key":"x","operator":"DoesNotExist"}]})";
  LabelSelector sel = MustFromJson(json);
  EXPECT_EQ(sel.ToJson(), *ParseJson(json));
  EXPECT_EQ(sel.ToString(), "app=web,tier in (a,b),!x");
}

TEST(LabelSelectorTest, RejectsInvalidSelectorsWithKubernetesMessages) {
  auto from_json = [](std::string_view s) { return LabelSelector::FromJson(*ParseJson(s)); };
  StatusOr<LabelSelector> r =
      from_json(R"({"matchExpressions":[{"key":"a","operator":"Bogus"}]})");
  EXPECT_EQ(r.status().message(), "\"Bogus\" is not a valid label selector operator");
  r = from_json(R"({"matchExpressions":[{"key":"a","operator":"In"}]})");
  EXPECT_NE(r.status().message().find("for 'in', 'notin' operators, values set can't be empty"),
            std::string::npos);
  r = from_json(R"({"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]})");
  EXPECT_NE(r.status().message().find("values set must be empty for exists and does not exist"),
            std::string::npos);
  r = from_json(R"({"matchLabels":{"bad key":"v"}})");
  EXPECT_NE(r.status().message().find("name part must consist of alphanumeric characters"),
            std::string::npos);
  r = from_json(R"({"matchLabels":{"k":"-bad"}})");
  EXPECT_NE(r.status().message().find("a valid label must be an empty string"), std::string::npos);
  r = from_json(R"({"matchLabels":{"k":7}})");
  EXPECT_EQ(r.status().message(), "matchLabels.k: must be a string");
  for (const char* bad : {"a in b", "a in (b", "=b", "a b", "a>1", "a<1", "a=b=c", "a,,b"}) {
    EXPECT_FALSE(LabelSelector::Parse(bad).ok()) << bad;
  }
  EXPECT_EQ(LabelSelector::Parse("a>1").status().message(),
            "\"gt\" isn't supported in label selectors");
}

TEST(LabelSelectorTest, NameValidators) {
  EXPECT_TRUE(ValidateQualifiedName("velero.io/backup-name").empty());
  EXPECT_FALSE(ValidateQualifiedName("/x").empty());
  EXPECT_FALSE(ValidateQualifiedName(std::string(64, 'a')).empty());
  EXPECT_TRUE(ValidateLabelValue("").empty());
  EXPECT_FALSE(ValidateLabelValue(std::string(64, 'a')).empty());
  EXPECT_TRUE(ValidateDns1123Label("my-ns").empty());
  ASSERT_EQ(ValidateDns1123Label("My_NS").size(), 1u);
  EXPECT_EQ(ValidateDns1123Label("My_NS")[0],
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
            "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
}

}  // namespace
}  // namespace lifeboat::api
