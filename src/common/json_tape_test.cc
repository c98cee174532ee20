#include "lifeboat/common/json_tape.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

std::shared_ptr<JsonTape> Tape(std::string_view text) {
  auto t = JsonTape::Parse(text);
  EXPECT_TRUE(t.ok()) << t.status() << ": " << text;
  return t.ok() ? *t : nullptr;
}

// The tape agrees with the DOM parser on `text`: same value, same Go form; and the same tape
// comes out when the text arrives in pieces of `piece` bytes.
void ExpectSameAsDom(const std::string& text, size_t piece = 7) {
  auto dom = ParseJson(text);
  ASSERT_TRUE(dom.ok()) << dom.status();
  auto tape = Tape(text);
  ASSERT_NE(tape, nullptr);
  EXPECT_EQ(tape->root().ToValue(), *dom) << text;
  EXPECT_EQ(CanonicalJson(tape->root()), CanonicalJson(*dom)) << text;

  JsonTapeBuilder b;
  for (size_t i = 0; i < text.size(); i += piece) {
    ASSERT_TRUE(b.Write(std::string_view(text).substr(i, piece)).ok());
  }
  auto streamed = b.Finish();
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_EQ(CanonicalJson((*streamed)->root()), CanonicalJson(*dom)) << text;
}

TEST(JsonTapeTest, AgreesWithTheDomOnEveryKindOfValue) {
  for (const char* text : {
           R"(null)", R"(true)", R"(false)", R"(0)", R"(-42)", R"(18446744073709551615)",
           R"(9223372036854775808)", R"(-9223372036854775808)", R"(1.5)", R"(1e-7)", R"(1e21)",
           R"(0.000001)", R"(-0.0)", R"("")", R"("plain")", R"([])", R"({})", R"([[],{},[{}]])",
           R"({"b":1,"a":{"z":[{"y":1,"x":2}],"c":"s"}})",
           R"({"html":"<a href=\"x\">&</a>","ctl":"\b\f\n\r\t\u0001","ls":"\u2028\u2029","u":"é✓😀"})",
           R"({"esc\"aped\\key\u00e9":"\ud83d\ude00","e":"","n":null,"t":true,"f":false})",
           R"({"a":{"a":{"a":{"a":[1,2,3,{"a":"deep"}]}}}})",
       }) {
    SCOPED_TRACE(text);
    ExpectSameAsDom(text);
    ExpectSameAsDom(text, 1);
  }
}

TEST(JsonTapeTest, AgreesWithTheDomOnTheRepositorysJsonFiles) {
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(LIFEBOAT_SOURCE_DIR "/test/testdata")) {
    if (!e.is_regular_file() || e.path().extension() != ".json") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    SCOPED_TRACE(e.path().string());
    ExpectSameAsDom(ss.str(), 4093);
    ++files;
  }
  EXPECT_GT(files, 3);
}

// Random documents: nested objects and arrays, keys and strings with escapes, control
// characters, multi-byte UTF-8 (the parsers reject invalid UTF-8), numbers of every JSON kind; unsorted keys.
boost::json::value RandomValue(std::mt19937_64& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto random_string = [&] {
    static const char* const kPieces[] = {"a", "Z", "0", "\"", "\\", "/", "<", ">", "&", "\n", "\x01",
                                          "\x7f", "\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80", " ",
                                          "metadata", "name"};
    std::string s;
    for (int i = pick(8); i > 0; --i) s += kPieces[pick(static_cast<int>(std::size(kPieces)))];
    return s;
  };
  const int kind = depth > 4 ? pick(6) : pick(8);
  switch (kind) {
    case 0: return nullptr;
    case 1: return pick(2) == 0;
    case 2: return static_cast<int64_t>(rng()) >> pick(64);
    case 3: return rng() | (uint64_t{1} << 63);
    case 4: {
      // Boost.JSON 1.81 reads some doubles one bit off (simdjson, like Go, rounds correctly:
      // see DoublesAreCorrectlyRounded): only those it reads back exactly can be compared.
      while (true) {
        double d = std::ldexp(static_cast<double>(static_cast<int64_t>(rng() >> 11)) - 1e15, pick(160) - 80);
        if (boost::json::parse(boost::json::serialize(boost::json::value(d))).as_double() == d) return d;
      }
    }
    case 5: return boost::json::string(random_string());
    case 6: {
      boost::json::array a;
      for (int i = pick(6); i > 0; --i) a.push_back(RandomValue(rng, depth + 1));
      return a;
    }
    default: {
      boost::json::object o;
      for (int i = pick(40); i > 0; --i) o[random_string()] = RandomValue(rng, depth + 1);
      return o;
    }
  }
}

TEST(JsonTapeTest, AgreesWithTheDomOnRandomDocuments) {
  std::mt19937_64 rng(20261207);
  for (int i = 0; i < 2000; ++i) {
    boost::json::value v = RandomValue(rng, 0);
    ExpectSameAsDom(boost::json::serialize(v), 1 + rng() % 64);
  }
}

TEST(JsonTapeTest, IntegersBeyond64BitsReadAsDoublesLikeBoostAndGo) {
  // simdjson refuses them; the tape falls back to Boost.JSON's reading.
  for (const char* text : {R"({"big":123456789012345678901234567890})", R"([-99999999999999999999,1])"}) {
    SCOPED_TRACE(text);
    ExpectSameAsDom(text);
  }
  auto tape = Tape(R"({"big":123456789012345678901234567890,"name":"x"})");
  EXPECT_EQ(tape->root().Find("big").type(), JsonType::kDouble);
  EXPECT_EQ(tape->root().Find("name").String(), "x");
}

TEST(JsonTapeTest, LargeArraysAndObjectsCountPastTheTapesSaturatedCount) {
  std::string arr = "[";
  for (int i = 0; i < (1 << 24) + 5; ++i) arr += i ? ",0" : "0";
  arr += "]";
  auto tape = Tape(arr);
  EXPECT_EQ(tape->root().size(), (1u << 24) + 5);
}

TEST(JsonTapeTest, DoublesAreCorrectlyRounded) {
  // Numbers Boost.JSON 1.81 reads one bit off; strtod (and Go's strconv) round correctly.
  for (const char* text : {"-4.2378467191618795E27", "1.0652668148276957E21", "9.475552627578407E35",
                           "1.0649830748964325E14", "0.1", "2.2250738585072014e-308", "1e-7"}) {
    auto tape = Tape(text);
    ASSERT_EQ(tape->root().type(), JsonType::kDouble) << text;
    EXPECT_EQ(tape->root().ToValue().as_double(), std::strtod(text, nullptr)) << text;
  }
}

TEST(JsonTapeTest, RepeatedKeysKeepTheLastLikeGoAndBoost) {
  const std::string text = R"({"b":1,"a":1,"c":{"x":1},"a":2,"c":{"y":2},"a":3})";
  auto tape = Tape(text);
  EXPECT_EQ(tape->root().Find("a").Int(), 3);
  EXPECT_EQ(tape->root().Find({"c", "y"}).Int(), 2);
  EXPECT_FALSE(tape->root().Find({"c", "x"}).valid());
  EXPECT_EQ(CanonicalJson(tape->root()), R"({"a":3,"b":1,"c":{"y":2}})");
  EXPECT_EQ(CanonicalJson(tape->root()), CanonicalJson(*ParseJson(text)));
  EXPECT_EQ(tape->root().ToValue(), *ParseJson(text));
}

TEST(JsonTapeTest, ReadsValuesInPlace) {
  auto tape = Tape(R"({"metadata":{"name":"x","generation":2,"ratio":3.0,"half":2.5,"ok":true,)"
                   R"("big":18446744073709551615},"list":[1,"two",[3]],"e":{}})");
  JsonNode root = tape->root();
  EXPECT_TRUE(root.is_object());
  EXPECT_EQ(root.size(), 3u);
  EXPECT_EQ(root.Find({"metadata", "name"}).String(), "x");
  EXPECT_EQ(root.Find({"metadata", "generation"}).String(), std::nullopt);
  EXPECT_EQ(root.Find({"metadata", "generation"}).Int(), 2);
  EXPECT_EQ(root.Find({"metadata", "ratio"}).Int(), 3);
  EXPECT_EQ(root.Find({"metadata", "half"}).Int(), std::nullopt);
  EXPECT_EQ(root.Find({"metadata", "big"}).Int(), std::nullopt);
  EXPECT_EQ(root.Find({"metadata", "ok"}).Bool(), true);
  EXPECT_FALSE(root.Find({"list", "x"}).valid());
  EXPECT_FALSE(root.Find("missing").valid());
  EXPECT_EQ(root.Find("e").size(), 0u);
  std::vector<std::string> keys;
  root.ForEachMember([&](std::string_view k, JsonNode) { keys.emplace_back(k); });
  EXPECT_EQ(keys, (std::vector<std::string>{"metadata", "list", "e"}));
  std::vector<JsonType> types;
  root.Find("list").ForEachElement([&](JsonNode e) { types.push_back(e.type()); });
  EXPECT_EQ(types, (std::vector<JsonType>{JsonType::kInt64, JsonType::kString, JsonType::kArray}));
  EXPECT_EQ(CanonicalJson(JsonNode()), "null");
  EXPECT_EQ(Tape("7")->root().Int(), 7);
  EXPECT_EQ(Tape("7")->root().size(), 0u);
}

TEST(JsonTapeTest, ExtraMembersFillOnlyMissingKeysInOrder) {
  auto tape = Tape(R"({"metadata":{"name":"x"},"data":{"k":"v"},"kind":"Mine"})");
  EXPECT_EQ(CanonicalJson(tape->root(), {{"kind", "ConfigMap"}, {"apiVersion", "v1"}}),
            R"({"apiVersion":"v1","data":{"k":"v"},"kind":"Mine","metadata":{"name":"x"}})");
  auto empty = Tape("{}");
  EXPECT_EQ(CanonicalJson(empty->root(), {{"kind", "A<B"}}), R"({"kind":"A\u003cB"})");
}

TEST(JsonTapeTest, RejectsMalformedTrailingIncompleteAndTooDeepDocuments) {
  for (const char* bad : {R"({"a":)", R"({} {})", R"([1,])", R"({"a" 1})", "\"\x01\"", ""}) {
    auto t = JsonTape::Parse(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find("invalid JSON"), std::string_view::npos);
  }
  std::string deep(2000, '[');
  deep += std::string(2000, ']');
  EXPECT_FALSE(JsonTape::Parse(deep).ok());
  JsonLimits small;
  small.max_bytes = 4;
  EXPECT_FALSE(JsonTape::Parse(R"({"a":1})", small).ok());

  JsonTapeBuilder b;
  ASSERT_TRUE(b.Write(R"({"a":[1,)").ok());
  auto incomplete = b.Finish();
  EXPECT_EQ(incomplete.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(b.Write(R"({"a":1})").ok());
  ASSERT_TRUE(b.Write(R"( x)").ok());
  EXPECT_FALSE(b.Finish().ok());
  ASSERT_TRUE(b.Write(R"({"b")").ok());
  b.Reset();
  ASSERT_TRUE(b.Write(R"({"b":2})").ok());
  auto good = b.Finish();
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(CanonicalJson((*good)->root()), R"({"b":2})");
  JsonTapeBuilder limited(small);
  ASSERT_TRUE(limited.Write("[1,").ok());
  EXPECT_EQ(limited.Write("2,3]").code(), absl::StatusCode::kResourceExhausted);
}

// A tape built with keep_text, from `text` written in pieces of `piece` bytes.
std::shared_ptr<JsonTape> KeptTape(const std::string& text, size_t piece = 7) {
  JsonTapeBuilder b;
  for (size_t at = 0; at < text.size(); at += piece) EXPECT_TRUE(b.Write(text.substr(at, piece)).ok());
  auto tape = b.Finish(/*keep_text=*/true);
  EXPECT_TRUE(tape.ok()) << tape.status();
  return *tape;
}

TEST(JsonTapeTest, RawElementsAreTheTextOfEachElementAsWritten) {
  const std::string text =
      R"({"kind":"List","items":[ {"b":1,"a":"x\"]}"} , [1, {"c":[]}],"s\u00e9",-1.50e3,true,null,{} ]
        ,"metadata":{"items":[9]}})";
  auto tape = KeptTape(text);
  EXPECT_EQ(tape->text(), text);
  auto raw = tape->RawElements("items");
  ASSERT_TRUE(raw.ok()) << raw.status();
  const std::vector<std::string_view> want = {R"({"b":1,"a":"x\"]}"})", R"([1, {"c":[]}])",
                                              R"("s\u00e9")", "-1.50e3", "true", "null", "{}"};
  EXPECT_EQ(*raw, want);
  // Each is a view into text() and reads as the tape's element.
  size_t k = 0;
  tape->root().Find("items").ForEachElement([&](JsonNode element) {
    ASSERT_LT(k, raw->size());
    EXPECT_GE((*raw)[k].data(), tape->text().data());
    auto again = ParseJson((*raw)[k]);
    ASSERT_TRUE(again.ok()) << (*raw)[k];
    EXPECT_EQ(CanonicalJson(*again), CanonicalJson(element));
    ++k;
  });
  EXPECT_EQ(k, want.size());

  auto empty = KeptTape(R"({"items":[]})")->RawElements("items");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  // Other members, arrays among them, before and after; blanks everywhere.
  auto other = KeptTape(" { \"a\" : [ [ ] , { } ] ,\n\"items\"\t:\r[ 1 ,\"x\" ] , \"z\" : { \"items\" : [ 2 ] } } ");
  auto elements = other->RawElements("items");
  ASSERT_TRUE(elements.ok()) << elements.status();
  EXPECT_EQ(*elements, (std::vector<std::string_view>{"1", "\"x\""}));
  auto a = other->RawElements("a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, (std::vector<std::string_view>{"[ ]", "{ }"}));
}

TEST(JsonTapeTest, RawElementsAgreeWithTheTapeOnRandomDocuments) {
  std::mt19937_64 rng(20261208);
  for (int i = 0; i < 300; ++i) {
    boost::json::array items;
    for (int n = static_cast<int>(rng() % 20); n > 0; --n) items.push_back(RandomValue(rng, 1));
    const std::string text = boost::json::serialize(boost::json::object{{"a", 1}, {"items", items}});
    auto tape = KeptTape(text, 1 + rng() % 64);
    auto raw = tape->RawElements("items");
    ASSERT_TRUE(raw.ok()) << raw.status() << "\n" << text;
    ASSERT_EQ(raw->size(), items.size());
    for (size_t k = 0; k < items.size(); ++k) EXPECT_EQ((*raw)[k], boost::json::serialize(items[k]));
  }
}

TEST(JsonTapeTest, RawElementsNeedTheTextAndOneArray) {
  const std::string text = R"({"items":[1,2]})";
  auto not_kept = JsonTape::Parse(text);
  ASSERT_TRUE(not_kept.ok());
  EXPECT_TRUE((*not_kept)->text().empty());
  EXPECT_EQ((*not_kept)->RawElements("items").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(KeptTape(text)->RawElements("other").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(KeptTape(R"({"items":{"a":1}})")->RawElements("items").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(KeptTape(R"([1,2])")->RawElements("items").status().code(), absl::StatusCode::kNotFound);
  // Repeated: which array a reader takes is not to be guessed.
  EXPECT_EQ(KeptTape(R"({"items":[1],"items":[2,3]})")->RawElements("items").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(KeptTape(R"({"\u0069tems":[1]})")->RawElements("items").status().code(),
            absl::StatusCode::kNotFound);
  // Integers beyond 64 bits: the tape reads a re-encoding, whose positions are not the text's.
  auto big = KeptTape(R"({"items":[123456789012345678901234567890,{"x":1}]})");
  EXPECT_EQ(big->text(), R"({"items":[123456789012345678901234567890,{"x":1}]})");
  EXPECT_EQ(big->RawElements("items").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lifeboat
