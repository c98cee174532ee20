#include "lifeboat/common/cron.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"

namespace lifeboat {
namespace {

using ::testing::HasSubstr;
using TimePoint = CronSchedule::TimePoint;

TimePoint At(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << rfc3339 << ": " << err;
  return absl::ToChronoTime(t);
}

std::string Utc(TimePoint t) {
  if (t == TimePoint::max()) return "never";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromChrono(t), absl::UTCTimeZone());
}

CronSchedule MustParse(const std::string& spec) {
  absl::StatusOr<CronSchedule> s = CronSchedule::Parse(spec);
  EXPECT_TRUE(s.ok()) << spec << ": " << s.status();
  if (!s.ok()) return *CronSchedule::Parse("@daily");
  return *s;
}

// Next(after) for `spec`, in UTC, for short expectations.
std::string NextUtc(const std::string& spec, const std::string& after) {
  return Utc(MustParse(spec).Next(At(after)));
}

std::string ParseError(const std::string& spec) {
  absl::StatusOr<CronSchedule> s = CronSchedule::Parse(spec);
  if (s.ok()) return "(parsed)";
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << spec;
  return std::string(s.status().message());
}

TEST(CronParseTest, SingleValuesListsRangesAndSteps) {
  EXPECT_EQ(NextUtc("5 4 * * *", "2024-01-01T00:00:00Z"), "2024-01-01T04:05:00Z");
  // Strictly after: an activation exactly at `after` is not returned again.
  EXPECT_EQ(NextUtc("5 4 * * *", "2024-01-01T04:05:00Z"), "2024-01-02T04:05:00Z");
  EXPECT_EQ(NextUtc("5 4 * * *", "2024-01-01T04:04:59.999Z"), "2024-01-01T04:05:00Z");
  EXPECT_EQ(NextUtc("*/15 * * * *", "2024-01-01T10:07:30Z"), "2024-01-01T10:15:00Z");
  EXPECT_EQ(NextUtc("0 1,13 * * *", "2024-01-01T02:00:00Z"), "2024-01-01T13:00:00Z");
  EXPECT_EQ(NextUtc("1,,2 * * * *", "2024-01-01T00:01:00Z"), "2024-01-01T00:02:00Z");
  EXPECT_EQ(NextUtc("10-30/10 * * * *", "2024-01-01T10:30:00Z"), "2024-01-01T11:10:00Z");
  // "a/n" is "a-max/n".
  EXPECT_EQ(NextUtc("5/20 * * * *", "2024-01-01T10:46:00Z"), "2024-01-01T11:05:00Z");
  EXPECT_EQ(NextUtc("0 22 * * 1-5", "2024-03-08T23:00:00Z"), "2024-03-11T22:00:00Z");
  EXPECT_EQ(NextUtc("+5 * * * *", "2024-01-01T00:00:00Z"), "2024-01-01T00:05:00Z");
  // White space of any kind separates fields.
  EXPECT_EQ(NextUtc(" 0\t3  * * *  ", "2024-01-01T00:00:00Z"), "2024-01-01T03:00:00Z");
}

TEST(CronParseTest, MonthAndWeekdayNamesAreCaseInsensitive) {
  EXPECT_EQ(NextUtc("0 0 1 jan,JUL *", "2024-02-01T00:00:00Z"), "2024-07-01T00:00:00Z");
  EXPECT_EQ(NextUtc("0 0 1 MAR-may *", "2024-05-02T00:00:00Z"), "2025-03-01T00:00:00Z");
  EXPECT_EQ(NextUtc("0 9 * * sat,SUN", "2024-03-11T00:00:00Z"), "2024-03-16T09:00:00Z");
  EXPECT_EQ(NextUtc("0 9 * * Mon-Wed", "2024-03-14T00:00:00Z"), "2024-03-18T09:00:00Z");
  // MON/2 is MON-SAT/2: Monday, Wednesday, Friday.
  EXPECT_EQ(NextUtc("0 9 * * MON/2", "2024-03-12T00:00:00Z"), "2024-03-13T09:00:00Z");
  EXPECT_EQ(NextUtc("0 9 * * 0", "2024-03-11T00:00:00Z"), "2024-03-17T09:00:00Z");
}

TEST(CronParseTest, QuestionMarkIsAStar) {
  EXPECT_EQ(NextUtc("0 12 ? * MON", "2024-03-10T00:00:00Z"), "2024-03-11T12:00:00Z");
  EXPECT_EQ(NextUtc("0 0 ? * ?", "2024-03-10T00:00:00Z"), "2024-03-11T00:00:00Z");
}

TEST(CronParseTest, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // The 13th or any Friday.
  EXPECT_EQ(NextUtc("0 0 13 * FRI", "2024-03-09T00:00:00Z"), "2024-03-13T00:00:00Z");
  EXPECT_EQ(NextUtc("0 0 13 * FRI", "2024-03-13T00:00:00Z"), "2024-03-15T00:00:00Z");
  // With one of them unrestricted both must match.
  EXPECT_EQ(NextUtc("0 0 13 * *", "2024-03-13T00:00:00Z"), "2024-04-13T00:00:00Z");
  EXPECT_EQ(NextUtc("0 0 * * FRI", "2024-03-09T00:00:00Z"), "2024-03-15T00:00:00Z");
  // "*/2" (step > 1) counts as restricted, "*/1" does not (robfig's star bit).
  EXPECT_EQ(NextUtc("0 0 */2 * 1", "2024-03-04T00:00:00Z"), "2024-03-05T00:00:00Z");
  EXPECT_EQ(NextUtc("0 0 */1 * 1", "2024-03-04T00:00:00Z"), "2024-03-11T00:00:00Z");
  // 1-31 is restricted too, so with a weekday it matches every day.
  EXPECT_EQ(NextUtc("0 0 1-31 * 1", "2024-03-04T00:00:00Z"), "2024-03-05T00:00:00Z");
  // Feb 30 never exists, but Mondays in February do.
  EXPECT_EQ(NextUtc("0 0 30 2 MON", "2024-01-01T00:00:00Z"), "2024-02-05T00:00:00Z");
}

TEST(CronParseTest, Descriptors) {
  const std::string after = "2024-03-10T15:30:00Z";  // a Sunday
  EXPECT_EQ(NextUtc("@hourly", after), "2024-03-10T16:00:00Z");
  EXPECT_EQ(NextUtc("@daily", after), "2024-03-11T00:00:00Z");
  EXPECT_EQ(NextUtc("@midnight", after), "2024-03-11T00:00:00Z");
  EXPECT_EQ(NextUtc("@weekly", after), "2024-03-17T00:00:00Z");
  EXPECT_EQ(NextUtc("@monthly", after), "2024-04-01T00:00:00Z");
  EXPECT_EQ(NextUtc("@yearly", after), "2025-01-01T00:00:00Z");
  EXPECT_EQ(NextUtc("@annually", after), "2025-01-01T00:00:00Z");
  EXPECT_EQ(NextUtc("CRON_TZ=Asia/Tokyo @daily", after), "2024-03-11T15:00:00Z");
  EXPECT_EQ(ParseError("@Daily"), "unrecognized descriptor: @Daily");
  EXPECT_EQ(ParseError("@fortnightly"), "unrecognized descriptor: @fortnightly");
  EXPECT_EQ(ParseError("@every"), "unrecognized descriptor: @every");
}

TEST(CronParseTest, EveryDurations) {
  EXPECT_TRUE(MustParse("@every 2s").is_every());
  EXPECT_FALSE(MustParse("@daily").is_every());
  // From `after` truncated to the second.
  EXPECT_EQ(NextUtc("@every 2s", "2024-01-01T00:00:00.5Z"), "2024-01-01T00:00:02Z");
  EXPECT_EQ(NextUtc("@every 1h30m", "2024-01-01T10:00:00Z"), "2024-01-01T11:30:00Z");
  EXPECT_EQ(NextUtc("@every .5h", "2024-01-01T10:00:00Z"), "2024-01-01T10:30:00Z");
  EXPECT_EQ(NextUtc("@every 1h0.5m", "2024-01-01T10:00:00Z"), "2024-01-01T11:00:30Z");
  // Under a second becomes one second; fractions of a second are dropped.
  EXPECT_EQ(NextUtc("@every 500ms", "2024-01-01T10:00:00Z"), "2024-01-01T10:00:01Z");
  EXPECT_EQ(NextUtc("@every 2500ms", "2024-01-01T10:00:00Z"), "2024-01-01T10:00:02Z");
  EXPECT_EQ(NextUtc("@every 1.9s", "2024-01-01T10:00:00Z"), "2024-01-01T10:00:01Z");
  EXPECT_EQ(NextUtc("@every 1500000us", "2024-01-01T10:00:00Z"), "2024-01-01T10:00:01Z");
  EXPECT_EQ(NextUtc("@every 3000000000ns", "2024-01-01T10:00:00Z"), "2024-01-01T10:00:03Z");
  EXPECT_EQ(NextUtc("@every 2\u00b5s", "2024-01-01T10:00:00Z"), "2024-01-01T10:00:01Z");
  // The zone does not matter to @every.
  EXPECT_EQ(NextUtc("CRON_TZ=Asia/Tokyo @every 1m", "2024-01-01T10:00:00Z"),
            "2024-01-01T10:01:00Z");
}

TEST(CronParseTest, BadEveryDurations) {
  EXPECT_EQ(ParseError("@every 1d"),
            "failed to parse duration @every 1d: time: unknown unit \"d\" in duration \"1d\"");
  EXPECT_EQ(ParseError("@every 10"),
            "failed to parse duration @every 10: time: missing unit in duration \"10\"");
  EXPECT_EQ(ParseError("@every 5m garbage"),
            "failed to parse duration @every 5m garbage: time: unknown unit \"m garbage\" in "
            "duration \"5m garbage\"");
  EXPECT_EQ(ParseError("@every 5m x"),
            "failed to parse duration @every 5m x: time: unknown unit \"m x\" in duration "
            "\"5m x\"");
  EXPECT_EQ(ParseError("@every 1h!"),
            "failed to parse duration @every 1h!: time: unknown unit \"h!\" in duration \"1h!\"");
  EXPECT_EQ(ParseError("@every "), "failed to parse duration @every : time: invalid duration \"\"");
  EXPECT_EQ(ParseError("@every  1h"),
            "failed to parse duration @every  1h: time: invalid duration \" 1h\"");
  EXPECT_EQ(ParseError("@every ."),
            "failed to parse duration @every .: time: invalid duration \".\"");
  EXPECT_THAT(ParseError("@every 99999999999h"), HasSubstr("time: invalid duration"));
  EXPECT_EQ(ParseError("@every 0s"), "@every duration must be positive: @every 0s");
  EXPECT_EQ(ParseError("@every 0"), "@every duration must be positive: @every 0");
  EXPECT_EQ(ParseError("@every -1m"), "@every duration must be positive: @every -1m");
}

TEST(CronZoneTest, ZonePrefixes) {
  EXPECT_EQ(NextUtc("CRON_TZ=Asia/Tokyo 0 9 * * *", "2024-03-09T23:00:00Z"),
            "2024-03-10T00:00:00Z");
  EXPECT_EQ(NextUtc("TZ=America/New_York 0 9 * * *", "2024-01-10T00:00:00Z"),
            "2024-01-10T14:00:00Z");
  EXPECT_EQ(NextUtc("TZ=UTC 0 9 * * *", "2024-01-10T00:00:00Z"), "2024-01-10T09:00:00Z");
  // Go's LoadLocation("") is UTC.
  EXPECT_EQ(NextUtc("TZ= 0 9 * * *", "2024-01-10T00:00:00Z"), "2024-01-10T09:00:00Z");
  // No prefix: UTC.
  CronSchedule plain = MustParse("0 3 * * *");
  EXPECT_EQ(plain.time_zone(), absl::UTCTimeZone());
  EXPECT_EQ(MustParse("CRON_TZ=Europe/Berlin 0 3 * * *").time_zone().name(), "Europe/Berlin");
  EXPECT_EQ(plain.spec(), "0 3 * * *");
  EXPECT_EQ(MustParse("TZ=Asia/Tokyo   @hourly").spec(), "TZ=Asia/Tokyo   @hourly");
}

TEST(CronZoneTest, BadZones) {
  EXPECT_EQ(ParseError("CRON_TZ=Mars/Olympus 0 0 * * *"),
            "provided bad location Mars/Olympus: unknown time zone Mars/Olympus");
  EXPECT_EQ(ParseError("TZ=../../etc/passwd 0 0 * * *"),
            "provided bad location ../../etc/passwd: unknown time zone ../../etc/passwd");
  EXPECT_THAT(ParseError("TZ=/etc/localtime 0 0 * * *"), HasSubstr("provided bad location"));
  EXPECT_THAT(ParseError("TZ=localtime 0 0 * * *"), HasSubstr("provided bad location"));
  EXPECT_EQ(ParseError("CRON_TZ=UTC"), "missing schedule after CRON_TZ=UTC");
  EXPECT_EQ(ParseError("TZ=UTC "), "expected exactly 5 fields, found 0: []");
  // The prefix is case-sensitive, so a lower-case one is a field.
  EXPECT_THAT(ParseError("tz=UTC 0 0 * * *"), HasSubstr("expected exactly 5 fields, found 6"));
}

// America/New_York springs forward on 2021-03-14 (02:00 EST -> 03:00 EDT) and falls back on
// 2021-11-07 (02:00 EDT -> 01:00 EST). robfig skips a time in the gap that day and fires twice
// for a time in the repeated hour.
TEST(CronZoneTest, NewYorkDaylightSavingTransitions) {
  const std::string ny = "CRON_TZ=America/New_York ";
  EXPECT_EQ(NextUtc(ny + "30 2 * * *", "2021-03-13T17:00:00Z"), "2021-03-15T06:30:00Z");
  EXPECT_EQ(NextUtc(ny + "0 2 * * *", "2021-03-13T17:00:00Z"), "2021-03-15T06:00:00Z");
  EXPECT_EQ(NextUtc(ny + "0 3 * * *", "2021-03-14T05:00:00Z"), "2021-03-14T07:00:00Z");
  EXPECT_EQ(NextUtc(ny + "30 1 * * *", "2021-03-14T05:00:00Z"), "2021-03-14T06:30:00Z");
  CronSchedule fall = MustParse(ny + "30 1 * * *");
  TimePoint first = fall.Next(At("2021-11-07T04:00:00Z"));
  EXPECT_EQ(Utc(first), "2021-11-07T05:30:00Z");  // 01:30 EDT
  TimePoint second = fall.Next(first);
  EXPECT_EQ(Utc(second), "2021-11-07T06:30:00Z");  // 01:30 EST
  EXPECT_EQ(Utc(fall.Next(second)), "2021-11-08T06:30:00Z");
  // Daily at midnight is not disturbed.
  EXPECT_EQ(NextUtc(ny + "@daily", "2021-11-07T03:00:00Z"), "2021-11-07T04:00:00Z");
  EXPECT_EQ(NextUtc(ny + "@daily", "2021-11-07T04:00:00Z"), "2021-11-08T05:00:00Z");
  // Hourly across the fall-back repeats the hour in absolute time.
  EXPECT_EQ(NextUtc(ny + "@hourly", "2021-11-07T05:00:00Z"), "2021-11-07T06:00:00Z");
}

// robfig v3's own daylight-saving vectors (spec_test.go), in the 5-field form.
TEST(CronZoneTest, RobfigDaylightSavingVectors) {
  struct Case {
    const char* after;
    const char* spec;
    const char* next;
  };
  const Case cases[] = {
      {"2012-03-11T00:00:00-05:00", "0 * * * ?", "2012-03-11T01:00:00-05:00"},
      {"2012-03-11T01:00:00-05:00", "0 * * * ?", "2012-03-11T03:00:00-04:00"},
      {"2012-03-11T03:00:00-04:00", "0 * * * ?", "2012-03-11T04:00:00-04:00"},
      {"2012-03-11T00:00:00-05:00", "0 1 * * ?", "2012-03-11T01:00:00-05:00"},
      {"2012-03-11T01:00:00-05:00", "0 1 * * ?", "2012-03-12T01:00:00-04:00"},
      {"2012-03-11T00:00:00-05:00", "0 2 * * ?", "2012-03-12T02:00:00-04:00"},
      {"2012-03-11T00:00:00-05:00", "30 2 11 Mar ?", "2013-03-11T02:30:00-04:00"},
      {"2012-11-04T00:00:00-04:00", "30 2 04 Nov ?", "2012-11-04T02:30:00-05:00"},
      {"2012-11-04T01:45:00-04:00", "30 1 04 Nov ?", "2012-11-04T01:30:00-05:00"},
      {"2012-11-04T00:00:00-04:00", "0 * * * ?", "2012-11-04T01:00:00-04:00"},
      {"2012-11-04T01:00:00-04:00", "0 * * * ?", "2012-11-04T01:00:00-05:00"},
      {"2012-11-04T01:00:00-05:00", "0 * * * ?", "2012-11-04T02:00:00-05:00"},
      {"2012-11-04T00:00:00-04:00", "0 1 * * ?", "2012-11-04T01:00:00-04:00"},
      {"2012-11-04T01:00:00-04:00", "0 1 * * ?", "2012-11-04T01:00:00-05:00"},
      {"2012-11-04T01:00:00-05:00", "0 1 * * ?", "2012-11-05T01:00:00-05:00"},
      {"2012-11-04T00:00:00-04:00", "0 2 * * ?", "2012-11-04T02:00:00-05:00"},
      {"2012-11-04T02:00:00-05:00", "0 2 * * ?", "2012-11-05T02:00:00-05:00"},
      {"2012-11-04T00:00:00-04:00", "0 3 * * ?", "2012-11-04T03:00:00-05:00"},
      {"2012-11-04T03:00:00-05:00", "0 3 * * ?", "2012-11-05T03:00:00-05:00"},
  };
  for (const Case& c : cases) {
    for (const char* prefix : {"TZ=America/New_York ", "CRON_TZ=America/New_York "}) {
      EXPECT_EQ(NextUtc(std::string(prefix) + c.spec, c.after), Utc(At(c.next)))
          << prefix << c.spec << " after " << c.after;
    }
  }
}

// Europe/Berlin (east of UTC) changes at 01:00 UTC: 2021-03-28 02:00 CET -> 03:00 CEST and
// 2021-10-31 03:00 CEST -> 02:00 CET.
TEST(CronZoneTest, BerlinDaylightSavingTransitions) {
  const std::string berlin = "TZ=Europe/Berlin ";
  EXPECT_EQ(NextUtc(berlin + "30 2 * * *", "2021-03-27T12:00:00Z"), "2021-03-29T00:30:00Z");
  CronSchedule fall = MustParse(berlin + "30 2 * * *");
  TimePoint first = fall.Next(At("2021-10-30T23:00:00Z"));
  EXPECT_EQ(Utc(first), "2021-10-31T00:30:00Z");             // 02:30 CEST
  EXPECT_EQ(Utc(fall.Next(first)), "2021-10-31T01:30:00Z");  // 02:30 CET
}

// America/Sao_Paulo skipped midnight on 2018-11-04 (00:00 -03 -> 01:00 -02) and dropped daylight
// saving in 2019: robfig's day search lands on 01:00 and so misses that day's 00:00 run.
TEST(CronZoneTest, MidnightInsideAGap) {
  const std::string sp = "CRON_TZ=America/Sao_Paulo ";
  EXPECT_EQ(NextUtc(sp + "0 0 4 11 *", "2018-11-01T12:00:00Z"), "2019-11-04T03:00:00Z");
  EXPECT_EQ(NextUtc(sp + "@daily", "2018-11-03T12:00:00Z"), "2018-11-05T02:00:00Z");
  EXPECT_EQ(NextUtc(sp + "0 1 * * *", "2018-11-03T12:00:00Z"), "2018-11-04T03:00:00Z");
}

TEST(CronNextTest, MonthAndYearEndsAndLeapYears) {
  EXPECT_EQ(NextUtc("0 0 1 1 *", "2023-12-31T23:59:59Z"), "2024-01-01T00:00:00Z");
  EXPECT_EQ(NextUtc("59 23 31 12 *", "2023-12-31T23:59:00Z"), "2024-12-31T23:59:00Z");
  EXPECT_EQ(NextUtc("0 0 31 * *", "2024-04-01T00:00:00Z"), "2024-05-31T00:00:00Z");
  EXPECT_EQ(NextUtc("0 0 30 * *", "2024-01-30T00:00:00Z"), "2024-03-30T00:00:00Z");
  EXPECT_EQ(NextUtc("0 0 29 2 *", "2024-02-28T00:00:00Z"), "2024-02-29T00:00:00Z");
  EXPECT_EQ(NextUtc("0 0 29 2 *", "2024-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
  // 2100 is not a leap year: eight years between two February 29ths (robfig gives up at 5).
  EXPECT_EQ(NextUtc("0 0 29 2 *", "2096-03-01T00:00:00Z"), "2104-02-29T00:00:00Z");
  EXPECT_EQ(NextUtc("* * * * *", "1969-12-31T23:59:30Z"), "1970-01-01T00:00:00Z");
}

TEST(CronNextTest, ImpossibleSchedulesAreRejectedAtParse) {
  EXPECT_EQ(ParseError("0 0 30 2 *"),
            "schedule never fires: day-of-month 30 does not occur in month 2");
  EXPECT_THAT(ParseError("0 0 31 4,6,9,11 *"), HasSubstr("schedule never fires"));
  EXPECT_THAT(ParseError("0 0 30-31 FEB ?"), HasSubstr("schedule never fires"));
  EXPECT_EQ(ParseError("0 0 31 1-12/2 *"), "(parsed)");  // January has a 31st
}

TEST(CronParseTest, BadFields) {
  EXPECT_EQ(ParseError(""), "empty spec string");
  EXPECT_EQ(ParseError("* * * *"), "expected exactly 5 fields, found 4: [* * * *]");
  EXPECT_EQ(ParseError("0 0 * * * *"), "expected exactly 5 fields, found 6: [0 0 * * * *]");
  EXPECT_EQ(ParseError("   "), "expected exactly 5 fields, found 0: []");
  EXPECT_EQ(ParseError("60 * * * *"), "end of range (60) above maximum (59): 60 (minute field)");
  EXPECT_EQ(ParseError("0 24 * * *"), "end of range (24) above maximum (23): 24 (hour field)");
  EXPECT_EQ(ParseError("0 0 0 * *"),
            "beginning of range (0) below minimum (1): 0 (day-of-month field)");
  EXPECT_EQ(ParseError("0 0 * 13 *"), "end of range (13) above maximum (12): 13 (month field)");
  EXPECT_EQ(ParseError("0 0 * * 7"),
            "end of range (7) above maximum (6): 7 (Sunday is 0 or SUN) (day-of-week field)");
  EXPECT_EQ(ParseError("5-1 * * * *"),
            "beginning of range (5) beyond end of range (1): 5-1 (minute field)");
  EXPECT_EQ(ParseError("*/0 * * * *"),
            "step of range should be a positive number: */0 (minute field)");
  EXPECT_EQ(ParseError("1-2-3 * * * *"), "too many hyphens: 1-2-3 (minute field)");
  EXPECT_EQ(ParseError("*/2/3 * * * *"), "too many slashes: */2/3 (minute field)");
  EXPECT_EQ(ParseError("-5 * * * *"),
            "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax (minute field)");
  EXPECT_EQ(
      ParseError("x * * * *"),
      "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax (minute field)");
  EXPECT_EQ(
      ParseError("*/x * * * *"),
      "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax (minute field)");
  EXPECT_EQ(ParseError("MON * * * *"),
            "failed to parse int from MON: strconv.Atoi: parsing \"MON\": invalid syntax (minute "
            "field)");
  EXPECT_EQ(ParseError("99999999999999999999 * * * *"),
            "failed to parse int from 99999999999999999999: strconv.Atoi: parsing "
            "\"99999999999999999999\": value out of range (minute field)");
  EXPECT_EQ(ParseError("0 0 * * MONDAY"),
            "unknown day-of-week name MONDAY (expected SUN-SAT or 0-6) (day-of-week field)");
  EXPECT_EQ(ParseError("0 0 * FOO *"),
            "unknown month name FOO (expected JAN-DEC or 1-12) (month field)");
  EXPECT_EQ(ParseError("*-5 * * * *"), "a range cannot start with *: *-5 (minute field)");
  EXPECT_EQ(ParseError(", * * * *"), "field has no values: , (minute field)");
  EXPECT_EQ(ParseError("0 0 L * *"),
            "failed to parse int from L: strconv.Atoi: parsing \"L\": invalid syntax "
            "(day-of-month field)");
}

TEST(CronValidationTest, VeleroValidationErrors) {
  EXPECT_EQ(ScheduleValidationError(""), "Schedule must be a non-empty valid Cron expression");
  EXPECT_EQ(ScheduleValidationError("* * *"),
            "invalid schedule: expected exactly 5 fields, found 3: [* * *]");
  EXPECT_EQ(ScheduleValidationError("@every 2s"), "");
  EXPECT_EQ(ScheduleValidationError("CRON_TZ=Europe/Paris 0 2 * * MON-FRI"), "");
}

TEST(CronNameTest, ScheduledBackupNameIsUtcSeconds) {
  EXPECT_EQ(ScheduledBackupName("nightly", At("2026-05-01T02:00:00Z")), "nightly-20260501020000");
  EXPECT_EQ(ScheduledBackupName("nightly", At("2026-05-01T04:00:07.987+02:00")),
            "nightly-20260501020007");
  EXPECT_EQ(ScheduledBackupName("s", At("1999-12-31T23:59:59Z")), "s-19991231235959");
}

// Random schedules against a minute-by-minute scan in UTC, where there is no DST to blur
// things: checks that the field-at-a-time search never skips or invents an activation.
struct RandomField {
  std::string text;
  std::set<int> values;
  bool star = false;
};

RandomField MakeField(std::mt19937& rng, int min, int max) {
  RandomField f;
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  switch (pick(0, 4)) {
    case 0:
      f.text = "*";
      f.star = true;
      for (int i = min; i <= max; ++i) f.values.insert(i);
      break;
    case 1: {
      int step = pick(2, 5);
      f.text = "*/" + std::to_string(step);
      for (int i = min; i <= max; i += step) f.values.insert(i);
      break;
    }
    case 2: {
      int a = pick(min, max), b = pick(a, max);
      f.text = std::to_string(a) + "-" + std::to_string(b);
      for (int i = a; i <= b; ++i) f.values.insert(i);
      break;
    }
    default: {
      int n = pick(1, 3);
      for (int i = 0; i < n; ++i) {
        int v = pick(min, max);
        f.text += (i ? "," : "") + std::to_string(v);
        f.values.insert(v);
      }
    }
  }
  return f;
}

TEST(CronNextTest, AgreesWithABruteForceScan) {
  std::mt19937 rng(20240229);
  int checked = 0;
  for (int round = 0; round < 300; ++round) {
    RandomField minute = MakeField(rng, 0, 59), hour = MakeField(rng, 0, 23);
    RandomField dom = MakeField(rng, 1, 31), month = MakeField(rng, 1, 12);
    RandomField dow = MakeField(rng, 0, 6);
    std::string spec =
        minute.text + " " + hour.text + " " + dom.text + " " + month.text + " " + dow.text;
    absl::StatusOr<CronSchedule> s = CronSchedule::Parse(spec);
    if (!s.ok()) {
      EXPECT_THAT(std::string(s.status().message()), HasSubstr("never fires")) << spec;
      continue;
    }
    absl::CivilMinute start(2023, 1 + round % 12, 1 + round % 28, round % 24, round % 60);
    TimePoint after = absl::ToChronoTime(absl::FromCivil(start, absl::UTCTimeZone()));
    absl::CivilMinute expected = start;
    const absl::CivilMinute limit = start + 60 * 24 * 366 * 3;
    for (expected = start + 1; expected < limit; ++expected) {
      bool dom_ok = dom.values.count(expected.day()) > 0;
      int wd = (static_cast<int>(absl::GetWeekday(absl::CivilDay(expected))) + 1) % 7;
      bool dow_ok = dow.values.count(wd) > 0;
      bool day_ok = (dom.star || dow.star) ? dom_ok && dow_ok : dom_ok || dow_ok;
      if (minute.values.count(expected.minute()) && hour.values.count(expected.hour()) &&
          month.values.count(expected.month()) && day_ok) {
        break;
      }
    }
    if (expected == limit) continue;  // sparse (e.g. Feb 29 only): covered elsewhere
    EXPECT_EQ(Utc(s->Next(after)),
              absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromCivil(expected, absl::UTCTimeZone()),
                               absl::UTCTimeZone()))
        << spec << " after " << Utc(after);
    ++checked;
  }
  EXPECT_GT(checked, 200);
}

}  // namespace
}  // namespace lifeboat
