#include <gtest/gtest.h>

#include "lifeboat/common/json.h"
#include "lifeboat/common/yaml.h"
#include "src/cli/client.h"
#include "src/cli/download.h"
#include "src/cli/output.h"
#include "src/cli/progress.h"

namespace lifeboat::cli {
namespace {

using std::chrono::seconds;

TEST(FormatTableTest, PadsColumnsToWidestCellPlusThree) {
  std::string t =
      FormatTable({"NAME", "STATUS", "X"}, {{"a-long-name", "Completed", "1"}, {"b", "New", ""}});
  EXPECT_EQ(t,
            "NAME          STATUS      X\n"
            "a-long-name   Completed   1\n"
            "b             New\n");
}

TEST(FormatTableTest, MinimumWidthSix) { EXPECT_EQ(FormatTable({"A", "B"}, {}), "A     B\n"); }

TEST(FormatTimeTest, GoTimeStringInUtc) {
  EXPECT_EQ(FormatTime(std::string("2026-05-01T02:03:04Z")), "2026-05-01 02:03:04 +0000 UTC");
  EXPECT_EQ(FormatTime(std::nullopt), "<nil>");
  EXPECT_EQ(FormatTime(std::string("garbage")), "<nil>");
}

TEST(HumanDurationTest, ShortForms) {
  EXPECT_EQ(ShortHumanDuration(seconds(45)), "45s");
  EXPECT_EQ(ShortHumanDuration(seconds(125)), "2m");
  EXPECT_EQ(ShortHumanDuration(seconds(5 * 3600)), "5h");
  EXPECT_EQ(ShortHumanDuration(seconds(29 * 86400 + 100)), "29d");
  EXPECT_EQ(ShortHumanDuration(seconds(800 * 86400)), "2y");
  EXPECT_EQ(ShortHumanDuration(seconds(-1)), "0s");
  EXPECT_EQ(ShortHumanDuration(seconds(-5)), "<invalid>");
  auto now = *api::ParseRfc3339("2026-05-01T00:00:00Z");
  EXPECT_EQ(HumanTimeFromNow(std::string("2026-05-30T00:00:00Z"), now), "29d");
  EXPECT_EQ(HumanTimeFromNow(std::string("2026-04-30T21:00:00Z"), now), "3h ago");
  EXPECT_EQ(HumanTimeFromNow(std::nullopt, now), "n/a");
}

TEST(OutputTest, SelectorsMapsAndLists) {
  EXPECT_EQ(FormatSelector(std::nullopt), "<none>");
  EXPECT_EQ(FormatSelector(*api::LabelSelector::Parse("app=web,tier in (a,b)")),
            "app=web,tier in (a,b)");
  EXPECT_EQ(FormatMap({}), "<none>");
  EXPECT_EQ(FormatMap({{"b", "2"}, {"a", "1"}}), "a=1, b=2");
  EXPECT_EQ(JoinOr({}, "*"), "*");
  EXPECT_EQ(JoinOr({"x", "y"}, "*"), "x, y");
  EXPECT_EQ(SplitList(" a, ,b ,"), (std::vector<std::string>{"a", "b"}));
}

TEST(OutputTest, KeyValues) {
  auto kv = ParseKeyValues("a=1,b=x=y", "--labels");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->at("a"), "1");
  EXPECT_EQ(kv->at("b"), "x=y");
  auto bad = ParseKeyValues("a=1,novalue", "--labels");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("\"novalue\""), std::string::npos);
  auto mapping = ParseKeyValues("src:dst", "--namespace-mappings", ':');
  ASSERT_TRUE(mapping.ok());
  EXPECT_EQ(mapping->at("src"), "dst");
}

TEST(OutputTest, JsonAndYamlObjectsAndLists) {
  auto obj = *ParseJson(R"({"kind":"Backup","metadata":{"name":"b1"},"spec":{"a":[1,2]}})");
  auto single = FormatObjects({obj}, true, "json");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(*ParseJson(*single), obj);
  EXPECT_NE(single->find("\n  \"metadata\": {\n    \"name\": \"b1\"\n  }"), std::string::npos)
      << *single;
  auto list = FormatObjects({obj, obj}, false, "yaml");
  ASSERT_TRUE(list.ok());
  auto back = YamlToJson(*list);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->at("kind"), "List");
  EXPECT_EQ(back->at("items").as_array().size(), 2u);
  EXPECT_FALSE(FormatObjects({obj}, true, "xml").ok());
}

TEST(OutputTest, ResultsAndResourceList) {
  auto results =
      *ParseJson(R"({"errors":{},"warnings":{"velero":["w1"],"namespaces":{"app":["n1","n2"]}}})");
  EXPECT_EQ(FormatResults(results),
            "Errors:\n  Velero:     <none>\n  Cluster:    <none>\n  Namespaces: <none>\n\n"
            "Warnings:\n  Velero:     w1\n  Cluster:    <none>\n  Namespaces:\n"
            "    app:   n1\n      n2\n");
  EXPECT_EQ(FormatResourceList(*ParseJson(R"({"v1/ConfigMap":["app/a","app/b"]})")),
            "Resource List:\n  v1/ConfigMap:\n    - app/a\n    - app/b\n");
  EXPECT_EQ(FormatResourceList(boost::json::value()), "Resource List:\n  <none>\n");
}

TEST(ProgressTest, FormatsLine) {
  ProgressSnapshot s{"InProgress", 120, 500, false};
  EXPECT_EQ(FormatProgress(s, seconds(3), 40.0),
            "InProgress: 120/500 items (24%), 40.0 items/s, elapsed 0:03, ETA 0:10");
  EXPECT_EQ(FormatProgress({"New", 0, 0, false}, seconds(0), std::nullopt),
            "New: 0 items, elapsed 0:00");
  EXPECT_EQ(FormatProgress({"Completed", 500, 500, true}, seconds(3725), 10.0),
            "Completed: 500/500 items (100%), 10.0 items/s, elapsed 1:02:05");
  EXPECT_EQ(FormatClock(seconds(750)), "12:30");
}

std::string Capture(bool tty, const std::vector<std::pair<int, ProgressSnapshot>>& updates) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  const SteadyTime t0{};
  ProgressPrinter p(f, tty, t0);
  for (const auto& [at, s] : updates) p.Update(s, t0 + seconds(at));
  p.Finish();
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

TEST(ProgressTest, TerminalRewritesOneLine) {
  std::string out = Capture(true, {{0, {"InProgress", 0, 100, false}},
                                   {2, {"InProgress", 50, 100, false}},
                                   {3, {"Completed", 100, 100, true}}});
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 3);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_NE(out.find("50/100 items (50%), 25.0 items/s, elapsed 0:02, ETA 0:02"), std::string::npos)
      << out;
  EXPECT_NE(out.find("Completed: 100/100"), std::string::npos);
}

TEST(ProgressTest, PlainLinesAreThrottled) {
  std::vector<std::pair<int, ProgressSnapshot>> updates;
  updates.push_back({0, {"New", 0, 0, false}});
  for (int i = 1; i <= 12; ++i) updates.push_back({i, {"InProgress", i * 10, 200, false}});
  updates.push_back({13, {"Completed", 200, 200, true}});
  std::string out = Capture(false, updates);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  // New, InProgress at 1 s (phase change), 6 s, 11 s, Completed.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 5) << out;
}

}  // namespace
}  // namespace lifeboat::cli

namespace lifeboat::cli {
namespace {

TEST(ExplainTest, SaysWhatToDo) {
  std::string forbidden = Explain(absl::PermissionDeniedError("backups.velero.io is forbidden"),
                                  "create", "backups", "velero");
  EXPECT_NE(forbidden.find("backups.velero.io is forbidden"), std::string::npos);
  EXPECT_NE(forbidden.find("not allowed to create backups.velero.io in namespace \"velero\""),
            std::string::npos);
  EXPECT_NE(forbidden.find("kubectl auth can-i create backups.velero.io -n velero"),
            std::string::npos);
  EXPECT_NE(Explain(absl::UnavailableError("connection refused"), "get", "backups", "velero")
                .find("kubectl cluster-info"),
            std::string::npos);
  EXPECT_NE(Explain(absl::NotFoundError("the server does not serve resource velero.io/v1/backups"),
                    "get", "backups", "velero")
                .find("lifeboat install"),
            std::string::npos);
  EXPECT_EQ(Explain(absl::NotFoundError("backup \"x\" not found"), "get", "backups", "velero"),
            "backup \"x\" not found");
  EXPECT_NE(NoServerHint("ns1").find("kubectl -n ns1 get pods"), std::string::npos);
}

TEST(FetchUrlTest, FileUrlsArePercentDecoded) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/a b#c.gz";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("content", f);
    std::fclose(f);
  }
  std::string encoded = dir + "/a%20b%23c.gz";
  auto got = FetchUrl("file://" + encoded);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "content");
  EXPECT_FALSE(FetchUrl("file://" + dir + "/missing").ok());
  EXPECT_EQ(FetchUrl("ftp://host/x").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat::cli

namespace lifeboat::cli {
namespace {

TEST(ProgressTest, HintsOnceWhenNothingPicksTheObjectUp) {
  char *out_buf = nullptr, *err_buf = nullptr;
  size_t out_len = 0, err_len = 0;
  std::FILE* out = open_memstream(&out_buf, &out_len);
  std::FILE* err = open_memstream(&err_buf, &err_len);
  const SteadyTime t0{};
  ProgressPrinter p(out, false, t0);
  p.SetStuckHint("is the server running?", std::chrono::seconds(30), err);
  for (int at : {0, 10, 29}) p.Update({"New", 0, 0, false}, t0 + std::chrono::seconds(at));
  std::fflush(err);
  EXPECT_EQ(err_len, 0u);
  for (int at : {30, 40, 50}) p.Update({"New", 0, 0, false}, t0 + std::chrono::seconds(at));
  p.Update({"InProgress", 1, 2, false}, t0 + std::chrono::seconds(60));
  std::fclose(out);
  std::fclose(err);
  EXPECT_EQ(std::string(err_buf, err_len), "is the server running?\n");
  std::free(out_buf);
  std::free(err_buf);
}

}  // namespace
}  // namespace lifeboat::cli
