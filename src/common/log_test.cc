#include "lifeboat/common/log.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace lifeboat::log {
namespace {

std::string Format(std::string_view format, spdlog::level::level_enum level, std::string_view text) {
  auto f = MakeFormatter(format);
  EXPECT_TRUE(f.ok()) << f.status();
  spdlog::details::log_msg msg(spdlog::source_loc{}, "lifeboat", level,
                               spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t out;
  (*f)->format(msg, out);
  return std::string(out.data(), out.size());
}

TEST(LogFormat, JsonLinesParseAndKeepTheMessage) {
  const std::string text = "backup velero/b1: \"quoted\" \\ tab\t newline\n ctrl\x01 utf8 é";
  std::string line = Format("json", spdlog::level::warn, text);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  line.pop_back();
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line per event";
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  ASSERT_FALSE(ec) << line;
  EXPECT_EQ(v.at("msg").as_string(), text);
  EXPECT_EQ(v.at("level").as_string(), "warning");
  const std::string time(v.at("time").as_string());
  EXPECT_EQ(time.size(), 24u) << time;  // 2026-12-06T11:51:18.538Z
  EXPECT_EQ(time.back(), 'Z');
}

TEST(LogFormat, TextIsTimeLevelMessage) {
  std::string line = Format("text", spdlog::level::info, "restore velero/r1: started");
  EXPECT_NE(line.find(" info restore velero/r1: started"), std::string::npos) << line;
  EXPECT_EQ(line[10], 'T');
}

TEST(LogFormat, UnknownFormatAndLevelAreRefused) {
  EXPECT_FALSE(MakeFormatter("xml").ok());
  EXPECT_EQ(Init("info", "xml").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Init("loud").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Init("info", "json").ok());
  EXPECT_TRUE(Init("warn").ok());
}

}  // namespace
}  // namespace lifeboat::log
