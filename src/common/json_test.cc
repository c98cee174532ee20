#include "lifeboat/common/json.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(JsonTest, ParseReportsMalformedTrailingAndTooDeepDocuments) {
  EXPECT_TRUE(ParseJson(R"({"a":[1,2]})").ok());
  auto bad = ParseJson(R"({"a":)");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("invalid JSON"), absl::string_view::npos);
  EXPECT_FALSE(ParseJson(R"({} {})").ok());
  std::string deep(2000, '[');
  deep += std::string(2000, ']');
  EXPECT_FALSE(ParseJson(deep).ok());
  JsonLimits small;
  small.max_bytes = 4;
  EXPECT_FALSE(ParseJson(R"({"a":1})", small).ok());
}

TEST(JsonTest, TypedLookupsNeverThrow) {
  auto v = *ParseJson(R"({"metadata":{"name":"x","generation":2,"ratio":3.0,"half":2.5,"ok":true},"list":[]})");
  EXPECT_EQ(JsonString(v, {"metadata", "name"}), "x");
  EXPECT_EQ(JsonString(v, {"metadata", "generation"}), std::nullopt);
  EXPECT_EQ(JsonInt(v, {"metadata", "generation"}), 2);
  EXPECT_EQ(JsonInt(v, {"metadata", "ratio"}), 3);
  EXPECT_EQ(JsonInt(v, {"metadata", "half"}), std::nullopt);
  EXPECT_EQ(JsonBool(v, {"metadata", "ok"}), true);
  EXPECT_EQ(JsonFind(v, {"list", "x"}), nullptr);
  EXPECT_EQ(JsonFind(v, {"missing"}), nullptr);
}

TEST(JsonTest, CanonicalJsonSortsKeysRecursively) {
  auto v = *ParseJson(R"({"b":1,"a":{"z":[{"y":1,"x":2}],"c":"s"}})");
  EXPECT_EQ(CanonicalJson(v), R"({"a":{"c":"s","z":[{"x":2,"y":1}]},"b":1})");
}

TEST(JsonTest, CanonicalJsonSortsLargeObjectsAndKeepsSortedOnes) {
  // More keys than the serializer orders on the stack, in reverse order; and a sorted object.
  boost::json::object big;
  std::string want = "{";
  for (int i = 99; i >= 0; --i) big[std::to_string(1000 + i)] = i;
  for (int i = 0; i < 100; ++i) want += (i ? ",\"" : "\"") + std::to_string(1000 + i) + "\":" + std::to_string(i);
  want += "}";
  EXPECT_EQ(CanonicalJson(big), want);
  EXPECT_EQ(CanonicalJson(boost::json::parse(R"({"a":1,"b":{"c":2,"d":3}})")), R"({"a":1,"b":{"c":2,"d":3}})");
  // The thread's buffer is reused: a shorter document after a longer one is not padded.
  EXPECT_EQ(CanonicalJson(boost::json::parse(R"({"b":1,"a":2})")), R"({"a":2,"b":1})");
}

TEST(JsonTest, CanonicalJsonIsWhatGoJsonMarshalWrites) {
  // Expected strings are what Go's json.Marshal prints for the same map[string]interface{}.
  auto v = ParseJson(R"({"html":"<a href=\"x\">&</a>","ctl":"\b\f\n\r\t\u0001","ls":"\u2028\u2029","u":"é✓😀",)"
                     R"("i":-42,"big":18446744073709551615,"f":1.5,"tiny":1e-7,"huge":1e21,"z":0.000001,"n":null,"t":true})");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(CanonicalJson(*v),
            R"({"big":18446744073709551615,"ctl":"\b\f\n\r\t\u0001","f":1.5,"html":"\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e",)"
            R"("huge":1e+21,"i":-42,"ls":"\u2028\u2029","n":null,"t":true,"tiny":1e-7,"u":"é✓😀","z":0.000001})");
  boost::json::value bad = boost::json::string("a\xff\xc3" "b");  // invalid UTF-8
  EXPECT_EQ(CanonicalJson(bad), R"("a\ufffd\ufffdb")");
}

TEST(JsonTest, CanonicalJsonEscapesLongStringsWithoutOverrunAndSortsKeysAsBytes) {
  // Every byte expands to six (the worst case the encoder reserves for), across many calls on
  // the same per-thread buffer, growing it several times.
  for (size_t n : {size_t{1}, size_t{100}, size_t{5000}, size_t{300000}}) {
    std::string ctl(n, '\x01');
    std::string expected = "\"";
    for (size_t i = 0; i < n; ++i) expected += "\\u0001";
    expected += "\"";
    EXPECT_EQ(CanonicalJson(boost::json::string(ctl)), expected) << n;
    std::string bad(n, '\xff');
    EXPECT_EQ(CanonicalJson(boost::json::string(bad)).size(), 2 + 6 * n) << n;
  }
  // Keys ordered by unsigned bytes, as Go does: "é" (0xC3..) after "z", "Z" before "a", and
  // a shared first byte decided by the rest.
  boost::json::object o;
  for (const char* k : {"\xc3\xa9", "z", "a", "Z", "ab", "", "aa"}) o[k] = 1;
  EXPECT_EQ(CanonicalJson(o), "{\"\":1,\"Z\":1,\"a\":1,\"aa\":1,\"ab\":1,\"z\":1,\"\xc3\xa9\":1}");
}

TEST(JsonTest, CanonicalJsonEscapesEveryByteWhereverItStandsInALongString) {
  // The encoder scans plain runs sixteen bytes at a time: each byte that needs care, placed at
  // every offset of a 40-byte plain run, must come out as the byte-at-a-time rules say.
  auto expect = [](std::string_view special) -> std::string {
    if (special == "\"") return "\\\"";
    if (special == "\\") return "\\\\";
    if (special == "<") return "\\u003c";
    if (special == ">") return "\\u003e";
    if (special == "&") return "\\u0026";
    if (special == "\n") return "\\n";
    if (special == "\x1f") return "\\u001f";
    if (special == "\xe2\x80\xa8") return "\\u2028";
    if (special == "\xff") return "\\ufffd";
    return std::string(special);  // valid UTF-8 and DEL are kept
  };
  for (std::string_view special : {"\"", "\\", "<", ">", "&", "\n", "\x1f", "\x7f", "\xc3\xa9",
                                   "\xe2\x80\xa8", "\xf0\x9f\x98\x80", "\xff"}) {
    for (size_t at = 0; at <= 40; ++at) {
      const std::string plain = "abcdefghijklmnopqrstuvwxyz0123456789ABCD";
      std::string in = plain.substr(0, at) + std::string(special) + plain.substr(at);
      std::string want = "\"" + plain.substr(0, at) + expect(special) + plain.substr(at) + "\"";
      EXPECT_EQ(CanonicalJson(boost::json::string(in)), want) << at;
    }
  }
}

TEST(JsonTest, GoJsonIndentIsKubernetesPrettyJson) {
  auto v = ParseJson(R"({"kind":"Backup","spec":{"hooks":{},"includedNamespaces":["*"],"ttl":"720h0m0s"},"status":{"a":[],"n":1}})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(GoJsonIndent(*v), R"({
  "kind": "Backup",
  "spec": {
    "hooks": {},
    "includedNamespaces": [
      "*"
    ],
    "ttl": "720h0m0s"
  },
  "status": {
    "a": [],
    "n": 1
  }
})");
}

}  // namespace
}  // namespace lifeboat
