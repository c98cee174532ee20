#include "lifeboat/api/duration.h"

#include <gtest/gtest.h>

#include "lifeboat/api/time.h"

namespace lifeboat::api {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(GoDurationTest, ParsesWhatGoParses) {
  struct Case {
    const char* text;
    nanoseconds want;
  } cases[] = {
      {"0", nanoseconds(0)},
      {"0s", nanoseconds(0)},
      {"+5s", seconds(5)},
      {"-5s", seconds(-5)},
      {"1h30m0s", hours(1) + minutes(30)},
      {"720h0m0s", hours(720)},
      {"10m", minutes(10)},
      {"1.5h", hours(1) + minutes(30)},
      {"300ms", milliseconds(300)},
      {"1us", microseconds(1)},
      {"1\xC2\xB5s", microseconds(1)},
      {"1\xCE\xBCs", microseconds(1)},
      {"7ns", nanoseconds(7)},
      {".5s", milliseconds(500)},
      {"5.s", seconds(5)},
      {"1h1m1s1ms1us1ns", hours(1) + minutes(1) + seconds(1) + milliseconds(1) +
                              microseconds(1) + nanoseconds(1)},
      {"2562047h47m16.854775807s", nanoseconds(INT64_MAX)},
      {"-2562047h47m16.854775808s", nanoseconds(INT64_MIN)},
      {"0.100000000000000000000h", minutes(6)},
  };
  for (const auto& c : cases) {
    StatusOr<Duration> d = ParseGoDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(d->count(), c.want.count()) << c.text;
  }
}

TEST(GoDurationTest, RejectsWithGoMessages) {
  EXPECT_EQ(ParseGoDuration("").status().message(), "time: invalid duration \"\"");
  EXPECT_EQ(ParseGoDuration("1").status().message(), "time: missing unit in duration \"1\"");
  EXPECT_EQ(ParseGoDuration("30d").status().message(),
            "time: unknown unit \"d\" in duration \"30d\"");
  for (const char* bad : {"-", "s", ".s", "1h-2m", "3000000h", "9223372036854775808ns",
                          "2562047h47m16.854775808s", " 1s", "1s "}) {
    StatusOr<Duration> d = ParseGoDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(GoDurationTest, FormatsAsGoPrintsThem) {
  EXPECT_EQ(FormatGoDuration(nanoseconds(0)), "0s");
  EXPECT_EQ(FormatGoDuration(nanoseconds(1)), "1ns");
  EXPECT_EQ(FormatGoDuration(nanoseconds(1100)), "1.1\xC2\xB5s");
  EXPECT_EQ(FormatGoDuration(milliseconds(300)), "300ms");
  EXPECT_EQ(FormatGoDuration(microseconds(2200)), "2.2ms");
  EXPECT_EQ(FormatGoDuration(seconds(5)), "5s");
  EXPECT_EQ(FormatGoDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(minutes(10)), "10m0s");
  EXPECT_EQ(FormatGoDuration(hours(4)), "4h0m0s");
  EXPECT_EQ(FormatGoDuration(hours(720)), "720h0m0s");
  EXPECT_EQ(FormatGoDuration(hours(1) + minutes(30)), "1h30m0s");
  EXPECT_EQ(FormatGoDuration(hours(1) + seconds(1)), "1h0m1s");
  EXPECT_EQ(FormatGoDuration(-(minutes(1) + seconds(30))), "-1m30s");
  EXPECT_EQ(FormatGoDuration(nanoseconds(INT64_MAX)), "2562047h47m16.854775807s");
  EXPECT_EQ(FormatGoDuration(nanoseconds(INT64_MIN)), "-2562047h47m16.854775808s");
}

TEST(GoDurationTest, FormatThenParseIsIdentity) {
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{999}, int64_t{1001}, int64_t{123456789},
                    int64_t{3600} * 1000000000 + 7, int64_t{-42}}) {
    StatusOr<Duration> d = ParseGoDuration(FormatGoDuration(nanoseconds(n)));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->count(), n);
  }
}

TEST(Rfc3339Test, FormatsUtcSecondsAndParsesOffsets) {
  TimePoint t = std::chrono::system_clock::from_time_t(1777600800);  // 2026-05-01T02:00:00Z
  EXPECT_EQ(FormatRfc3339(t), "2026-05-01T02:00:00Z");
  EXPECT_EQ(FormatRfc3339(t + milliseconds(999)), "2026-05-01T02:00:00Z");
  ASSERT_TRUE(ParseRfc3339("2026-05-01T02:00:00Z").ok());
  EXPECT_EQ(*ParseRfc3339("2026-05-01T02:00:00Z"), t);
  EXPECT_EQ(*ParseRfc3339("2026-05-01T04:00:00+02:00"), t);
  EXPECT_EQ(*ParseRfc3339("2026-05-01T02:00:00.250Z"), t + milliseconds(250));
  for (const char* bad : {"", "2026-05-01", "2026-05-01 02:00:00Z", "yesterday",
                          "2026-13-01T02:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace lifeboat::api
