// Velero-compatible schedule expressions. The grammar, the error texts and the search in Next()
// follow robfig/cron v3 (parser.go, spec.go, constantdelay.go), which Velero's schedule
// controller uses through cron.ParseStandard; the Go time semantics that search relies on
// (time.Date normalisation in a zone, AddDate, Truncate) are reproduced with absl civil times.

#include "lifeboat/common/cron.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "lifeboat/common/status.h"

namespace lifeboat {
namespace {

// robfig gives up after 5 years; 8 covers the 2096 -> 2104 gap between two February 29ths.
constexpr int kSearchYears = 8;

constexpr std::string_view kSpaces = " \t\n\v\f\r";

struct FieldBounds {
  std::string_view name;
  int min;
  int max;
  const std::string_view* names;  // names[i] is value min+i, or nullptr
  int name_count;
  std::string_view name_hint;
};

constexpr std::string_view kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::string_view kDowNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr FieldBounds kMinute{"minute", 0, 59, nullptr, 0, ""};
constexpr FieldBounds kHour{"hour", 0, 23, nullptr, 0, ""};
constexpr FieldBounds kDom{"day-of-month", 1, 31, nullptr, 0, ""};
constexpr FieldBounds kMonth{"month", 1, 12, kMonthNames, 12, "JAN-DEC or 1-12"};
constexpr FieldBounds kDow{"day-of-week", 0, 6, kDowNames, 7, "SUN-SAT or 0-6"};

// absl::StrCat does not take std::string_view with Debian's abseil; this small one does.
void Append(std::string* out, std::string_view s) { out->append(s); }
void Append(std::string* out, absl::string_view s) { out->append(s.data(), s.size()); }
void Append(std::string* out, const char* s) { out->append(s); }
void Append(std::string* out, const std::string& s) { out->append(s); }
void Append(std::string* out, int64_t v) { out->append(std::to_string(v)); }
void Append(std::string* out, int v) { out->append(std::to_string(v)); }
void Append(std::string* out, size_t v) { out->append(std::to_string(v)); }

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (Append(&out, args), ...);
  return out;
}

std::string Join(const std::vector<std::string_view>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out.append(i ? " " : "").append(parts[i]);
  return out;
}

absl::Status Invalid(std::string_view message) {
  return absl::InvalidArgumentError(absl::string_view(message.data(), message.size()));
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

// strings.Fields over ASCII white space.
std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while ((pos = s.find_first_not_of(kSpaces, pos)) != std::string_view::npos) {
    size_t end = s.find_first_of(kSpaces, pos);
    out.push_back(s.substr(pos, end == std::string_view::npos ? end : end - pos));
    pos = end;
  }
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  size_t b = s.find_first_not_of(kSpaces);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpaces) - b + 1);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Go's strconv.Quote for the texts that reach an error message.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// strconv.Atoi's result or robfig's "failed to parse int from ..." text.
absl::StatusOr<int64_t> ParseInt(std::string_view expr) {
  std::string_view digits = expr;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  bool ok = !digits.empty();
  bool overflow = false;
  int64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    if (value > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) overflow = true;
    if (!overflow) value = value * 10 + (c - '0');
  }
  if (!ok || overflow) {
    return Invalid(Cat("failed to parse int from ", expr, ": strconv.Atoi: parsing ", GoQuote(expr),
                       ok ? ": value out of range" : ": invalid syntax"));
  }
  return value;
}

struct DurationTerm {
  uint64_t whole = 0;
  uint64_t fraction = 0;
  double scale = 1;
  uint64_t unit = 1;
};

// One "<decimal>[.<decimal>]<unit>" of a Go duration, consumed from the front of *s.
absl::StatusOr<DurationTerm> ParseDurationTerm(std::string_view* s, std::string_view orig,
                                               const std::string& invalid) {
  DurationTerm t;
  size_t i = 0;
  for (; i < s->size() && std::isdigit(static_cast<unsigned char>((*s)[i])); ++i) {
    if (t.whole > (uint64_t{1} << 63) / 10) return Invalid(invalid);
    t.whole = t.whole * 10 + static_cast<uint64_t>((*s)[i] - '0');
    if (t.whole > (uint64_t{1} << 63)) return Invalid(invalid);
  }
  bool pre = i > 0, post = false;
  if (i < s->size() && (*s)[i] == '.') {
    bool overflow = false;
    for (++i; i < s->size() && std::isdigit(static_cast<unsigned char>((*s)[i])); ++i) {
      post = true;
      if (overflow) continue;  // digits past int64 precision are dropped, as Go does
      if (t.fraction > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        overflow = true;
        continue;
      }
      t.fraction = t.fraction * 10 + static_cast<uint64_t>((*s)[i] - '0');
      t.scale *= 10;
    }
  }
  if (!pre && !post) return Invalid(invalid);
  size_t u = i;
  while (u < s->size() && (*s)[u] != '.' && !std::isdigit(static_cast<unsigned char>((*s)[u]))) ++u;
  if (u == i) return Invalid(Cat("time: missing unit in duration ", GoQuote(orig)));
  std::string_view unit = s->substr(i, u - i);
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"ns", 1},         {"us", 1000},         {"\u00b5s", 1000},     {"\u03bcs", 1000},
      {"ms", 1'000'000}, {"s", 1'000'000'000}, {"m", 60'000'000'000}, {"h", 3'600'000'000'000}};
  t.unit = 0;
  for (const auto& [name, ns] : kUnits) {
    if (unit == name) t.unit = ns;
  }
  if (t.unit == 0) {
    return Invalid(Cat("time: unknown unit ", GoQuote(unit), " in duration ", GoQuote(orig)));
  }
  s->remove_prefix(u);
  return t;
}

// time.ParseDuration: [-+] then one or more <decimal>[.<decimal>]<unit>, units ns us µs μs ms s
// m h; a lone "0" needs no unit. Returns nanoseconds, or Go's error text.
absl::StatusOr<int64_t> ParseGoDuration(std::string_view orig) {
  std::string_view s = orig;
  const std::string invalid = Cat("time: invalid duration ", GoQuote(orig));
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return Invalid(invalid);
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  uint64_t total = 0;
  while (!s.empty()) {
    if (s[0] != '.' && !std::isdigit(static_cast<unsigned char>(s[0]))) return Invalid(invalid);
    LIFEBOAT_ASSIGN_OR_RETURN(DurationTerm term, ParseDurationTerm(&s, orig, invalid));
    if (term.whole > kLimit / term.unit) return Invalid(invalid);
    uint64_t v = term.whole * term.unit;
    if (term.fraction > 0) {
      v += static_cast<uint64_t>(static_cast<double>(term.fraction) *
                                 (static_cast<double>(term.unit) / term.scale));
      if (v > kLimit) return Invalid(invalid);
    }
    total += v;
    if (total > kLimit) return Invalid(invalid);
  }
  if (neg)
    return total == kLimit ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(total);
  if (total > kLimit - 1) return Invalid(invalid);
  return static_cast<int64_t>(total);
}

absl::StatusOr<int64_t> ParseIntOrName(std::string_view expr, const FieldBounds& f) {
  if (f.names != nullptr) {
    std::string lower = Lower(expr);
    for (int i = 0; i < f.name_count; ++i) {
      if (lower == f.names[i]) return f.min + i;
    }
    if (!expr.empty() && std::isalpha(static_cast<unsigned char>(expr[0]))) {
      return Invalid(Cat("unknown ", f.name, " name ", expr, " (expected ", f.name_hint, ")"));
    }
  }
  return ParseInt(expr);
}

// One element of a list: number | name | * | ? , then optional "-" end, optional "/" step.
absl::Status ParseRange(std::string_view expr, const FieldBounds& f, uint64_t* bits, bool* star) {
  std::vector<std::string_view> range_and_step = Split(expr, '/');
  std::vector<std::string_view> low_high = Split(range_and_step[0], '-');
  bool single = low_high.size() == 1;
  bool is_star = false;
  int64_t start = 0, end = 0, step = 1;
  if (low_high[0] == "*" || low_high[0] == "?") {
    // robfig ignores anything after "*-"; a range cannot start at "*" here.
    if (!single) return Invalid(Cat("a range cannot start with ", low_high[0], ": ", expr));
    start = f.min;
    end = f.max;
    is_star = true;
  } else {
    LIFEBOAT_ASSIGN_OR_RETURN(start, ParseIntOrName(low_high[0], f));
    if (low_high.size() > 2) return Invalid(Cat("too many hyphens: ", expr));
    end = start;
    if (low_high.size() == 2) {
      LIFEBOAT_ASSIGN_OR_RETURN(end, ParseIntOrName(low_high[1], f));
    }
  }
  if (range_and_step.size() > 2) return Invalid(Cat("too many slashes: ", expr));
  if (range_and_step.size() == 2) {
    LIFEBOAT_ASSIGN_OR_RETURN(step, ParseInt(range_and_step[1]));
    if (single) end = f.max;  // "N/step" means "N-max/step"
    if (step > 1) is_star = false;
  }
  if (start < f.min) {
    return Invalid(Cat("beginning of range (", start, ") below minimum (", f.min, "): ", expr));
  }
  if (end > f.max) {
    return Invalid(Cat("end of range (", end, ") above maximum (", f.max, "): ", expr,
                       &f == &kDow && end == 7 ? " (Sunday is 0 or SUN)" : ""));
  }
  if (start > end) {
    return Invalid(Cat("beginning of range (", start, ") beyond end of range (", end, "): ", expr));
  }
  if (step == 0) return Invalid(Cat("step of range should be a positive number: ", expr));
  for (int64_t i = start; i <= end; i += step) *bits |= uint64_t{1} << i;
  if (is_star) *star = true;
  return absl::OkStatus();
}

// A comma-separated list of ranges; empty elements are skipped as robfig does.
absl::Status ParseField(std::string_view field, const FieldBounds& f, uint64_t* bits, bool* star) {
  *bits = 0;
  *star = false;
  bool any = false;
  for (std::string_view expr : Split(field, ',')) {
    if (expr.empty()) continue;
    any = true;
    absl::Status s = ParseRange(expr, f, bits, star);
    if (!s.ok()) return Invalid(Cat(s.message(), " (", f.name, " field)"));
  }
  if (!any) return Invalid(Cat("field has no values: ", field, " (", f.name, " field)"));
  return absl::OkStatus();
}

// time.LoadLocation's names: "" and "UTC" are UTC, "Local" the process's zone, others IANA.
absl::Status LoadZone(std::string_view name, absl::TimeZone* tz) {
  if (name.empty() || name == "UTC") {
    *tz = absl::UTCTimeZone();
    return absl::OkStatus();
  }
  if (name == "Local") {
    *tz = absl::LocalTimeZone();
    return absl::OkStatus();
  }
  bool safe = name[0] != '/' && name.find("..") == std::string_view::npos && name != "localtime";
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' &&
        c != '+') {
      safe = false;
    }
  }
  if (safe && absl::LoadTimeZone(std::string(name), tz)) return absl::OkStatus();
  return Invalid(Cat("provided bad location ", name, ": unknown time zone ", name));
}

// Go's time.Date(civil..., loc): the offset in force at the civil time read as UTC, corrected
// once if the result falls outside that offset's period. For a civil time that a transition
// skips or repeats this picks what Go picks (which side depends on the zone's sign).
absl::Time GoDate(const absl::CivilSecond& cs, const absl::TimeZone& tz) {
  absl::Time as_utc = absl::FromCivil(cs, absl::UTCTimeZone());
  int offset = tz.At(as_utc).offset;
  absl::Time t = as_utc - absl::Seconds(offset);
  int corrected = tz.At(t).offset;
  if (corrected != offset) t = as_utc - absl::Seconds(corrected);
  return t;
}

absl::Time TruncateToMinute(absl::Time t) {
  int64_t secs = absl::ToUnixSeconds(t);
  int64_t rem = secs % 60;
  return absl::FromUnixSeconds(secs - (rem < 0 ? rem + 60 : rem));
}

bool Has(uint64_t bits, int value) { return (bits >> value) & 1; }

int DaysInMonth(int month) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[month - 1];
}

}  // namespace

// Builds a CronSchedule from the text after any zone prefix.
struct CronParser {
  static absl::Status Descriptor(std::string_view d, CronSchedule* s);
  static absl::Status FieldList(std::string_view spec, CronSchedule* s);
  static absl::Status CheckCanFire(std::string_view dom_text, std::string_view month_text,
                                   const CronSchedule& s);
};

absl::Status CronParser::Descriptor(std::string_view d, CronSchedule* s) {
  constexpr std::string_view kEvery = "@every ";
  if (d.substr(0, kEvery.size()) == kEvery) {
    absl::StatusOr<int64_t> ns = ParseGoDuration(d.substr(kEvery.size()));
    if (!ns.ok()) {
      return Invalid(Cat("failed to parse duration ", d, ": ", ns.status().message()));
    }
    if (*ns <= 0) return Invalid(Cat("@every duration must be positive: ", d));
    // robfig: under a second becomes a second, sub-second parts are dropped.
    s->every_seconds_ = *ns < 1'000'000'000 ? 1 : *ns / 1'000'000'000;
    return absl::OkStatus();
  }
  const uint64_t all_dom = ((uint64_t{1} << 32) - 1) & ~uint64_t{1};
  const uint64_t all_month = ((uint64_t{1} << 13) - 1) & ~uint64_t{1};
  const uint64_t all_dow = (uint64_t{1} << 7) - 1;
  s->minute_ = 1;
  s->hour_ = 1;
  s->dom_ = all_dom;
  s->month_ = all_month;
  s->dow_ = all_dow;
  s->dom_star_ = s->dow_star_ = true;
  if (d == "@yearly" || d == "@annually") {
    s->dom_ = uint64_t{1} << 1;
    s->dom_star_ = false;
    s->month_ = uint64_t{1} << 1;
  } else if (d == "@monthly") {
    s->dom_ = uint64_t{1} << 1;
    s->dom_star_ = false;
  } else if (d == "@weekly") {
    s->dow_ = 1;
    s->dow_star_ = false;
  } else if (d == "@hourly") {
    s->hour_ = (uint64_t{1} << 24) - 1;
  } else if (d != "@daily" && d != "@midnight") {
    return Invalid(Cat("unrecognized descriptor: ", d));
  }
  return absl::OkStatus();
}

absl::Status CronParser::FieldList(std::string_view spec, CronSchedule* s) {
  std::vector<std::string_view> f = Fields(spec);
  if (f.size() != 5) {
    return Invalid(Cat("expected exactly 5 fields, found ", f.size(), ": [", Join(f), "]"));
  }
  bool minute_star = false, hour_star = false, month_star = false;
  LIFEBOAT_RETURN_IF_ERROR(ParseField(f[0], kMinute, &s->minute_, &minute_star));
  LIFEBOAT_RETURN_IF_ERROR(ParseField(f[1], kHour, &s->hour_, &hour_star));
  LIFEBOAT_RETURN_IF_ERROR(ParseField(f[2], kDom, &s->dom_, &s->dom_star_));
  LIFEBOAT_RETURN_IF_ERROR(ParseField(f[3], kMonth, &s->month_, &month_star));
  LIFEBOAT_RETURN_IF_ERROR(ParseField(f[4], kDow, &s->dow_, &s->dow_star_));
  return CheckCanFire(f[2], f[3], *s);
}

// With day-of-week unrestricted a day must match day-of-month in one of the months; every
// other combination always has a matching day (every month holds every weekday).
absl::Status CronParser::CheckCanFire(std::string_view dom_text, std::string_view month_text,
                                      const CronSchedule& s) {
  if (!s.dow_star_ || s.dom_star_) return absl::OkStatus();
  for (int m = 1; m <= 12; ++m) {
    if (!Has(s.month_, m)) continue;
    for (int d = 1; d <= DaysInMonth(m); ++d) {
      if (Has(s.dom_, d)) return absl::OkStatus();
    }
  }
  return Invalid(Cat("schedule never fires: day-of-month ", dom_text, " does not occur in month ",
                     month_text));
}

absl::StatusOr<CronSchedule> CronSchedule::Parse(std::string_view spec) {
  if (spec.empty()) return Invalid("empty spec string");
  CronSchedule s;
  s.spec_ = std::string(spec);
  std::string_view rest = spec;
  if (rest.substr(0, 3) == "TZ=" || rest.substr(0, 8) == "CRON_TZ=") {
    size_t space = rest.find(' ');
    size_t eq = rest.find('=');
    if (space == std::string_view::npos) {
      return Invalid(Cat("missing schedule after ", rest));
    }
    LIFEBOAT_RETURN_IF_ERROR(LoadZone(rest.substr(eq + 1, space - eq - 1), &s.tz_));
    rest = TrimSpace(rest.substr(space));
  }
  if (!rest.empty() && rest[0] == '@') {
    LIFEBOAT_RETURN_IF_ERROR(CronParser::Descriptor(rest, &s));
  } else {
    LIFEBOAT_RETURN_IF_ERROR(CronParser::FieldList(rest, &s));
  }
  return s;
}

bool CronSchedule::DayMatches(const absl::CivilSecond& c) const {
  bool dom_match = Has(dom_, c.day());
  // absl counts weekdays from Monday = 0; cron from Sunday = 0.
  int weekday = (static_cast<int>(absl::GetWeekday(absl::CivilDay(c))) + 1) % 7;
  bool dow_match = Has(dow_, weekday);
  if (dom_star_ || dow_star_) return dom_match && dow_match;
  return dom_match || dow_match;  // both restricted: either may match (Vixie cron)
}

namespace {

// robfig's SpecSchedule.Next, one field at a time. Each step returns false when a field
// wrapped around, which restarts the search from the month.
class Search {
 public:
  Search(const CronSchedule& s, uint64_t month, uint64_t hour, uint64_t minute, absl::Time t)
      : s_(s), month_(month), hour_(hour), minute_(minute), t_(t) {}

  absl::CivilSecond Civil() const { return absl::ToCivilSecond(t_, s_.time_zone()); }
  absl::Time time() const { return t_; }

  bool Month() {
    for (absl::CivilSecond c = Civil(); !Has(month_, c.month()); c = Civil()) {
      if (Reset()) t_ = Date(absl::CivilSecond(c.year(), c.month(), 1, 0, 0, 0));
      c = Civil();
      t_ = Date(
          absl::CivilSecond(c.year(), c.month() + 1, c.day(), c.hour(), c.minute(), c.second()));
      if (Civil().month() == 1) return false;
    }
    return true;
  }

  template <typename DayMatches>
  bool Day(DayMatches matches) {
    for (absl::CivilSecond c = Civil(); !matches(c); c = Civil()) {
      if (Reset()) t_ = Date(absl::CivilSecond(c.year(), c.month(), c.day(), 0, 0, 0));
      c = Civil();
      t_ = Date(
          absl::CivilSecond(c.year(), c.month(), c.day() + 1, c.hour(), c.minute(), c.second()));
      // Where midnight does not exist the day starts at 23:00 or 01:00: move back to 00:00.
      int h = Civil().hour();
      if (h > 12) t_ += absl::Hours(24 - h);
      if (h != 0 && h <= 12) t_ -= absl::Hours(h);
      if (Civil().day() == 1) return false;
    }
    return true;
  }

  bool Hour() {
    for (absl::CivilSecond c = Civil(); !Has(hour_, c.hour()); c = Civil()) {
      if (Reset()) t_ = Date(absl::CivilSecond(c.year(), c.month(), c.day(), c.hour(), 0, 0));
      t_ += absl::Hours(1);
      if (Civil().hour() == 0) return false;
    }
    return true;
  }

  bool Minute() {
    for (absl::CivilSecond c = Civil(); !Has(minute_, c.minute()); c = Civil()) {
      if (Reset()) t_ = TruncateToMinute(t_);
      t_ += absl::Minutes(1);
      if (Civil().minute() == 0) return false;
    }
    return true;
  }

  bool Second() {  // the standard parser always fires at second 0
    for (absl::CivilSecond c = Civil(); c.second() != 0; c = Civil()) {
      Reset();
      t_ += absl::Seconds(1);
      if (Civil().second() == 0) return false;
    }
    return true;
  }

 private:
  // The first time a field moves, the smaller fields go back to their start (robfig's "added").
  bool Reset() {
    if (added_) return false;
    added_ = true;
    return true;
  }
  absl::Time Date(const absl::CivilSecond& cs) const { return GoDate(cs, s_.time_zone()); }

  const CronSchedule& s_;
  uint64_t month_, hour_, minute_;
  absl::Time t_;
  bool added_ = false;
};

}  // namespace

absl::Time CronSchedule::NextSpec(absl::Time after) const {
  // The upcoming whole second (ToUnixSeconds rounds toward the past).
  Search search(*this, month_, hour_, minute_,
                absl::FromUnixSeconds(absl::ToUnixSeconds(after)) + absl::Seconds(1));
  const int64_t year_limit = search.Civil().year() + kSearchYears;
  auto day_matches = [this](const absl::CivilSecond& c) { return DayMatches(c); };
  while (search.Civil().year() <= year_limit) {
    if (search.Month() && search.Day(day_matches) && search.Hour() && search.Minute() &&
        search.Second()) {
      return search.time();
    }
  }
  return absl::InfiniteFuture();
}

CronSchedule::TimePoint CronSchedule::Next(TimePoint after) const {
  absl::Time a = absl::FromChrono(after);
  absl::Time next =
      is_every() ? absl::FromUnixSeconds(absl::ToUnixSeconds(a) + every_seconds_) : NextSpec(a);
  if (next == absl::InfiniteFuture()) return TimePoint::max();
  return absl::ToChronoTime(next);
}

std::string ScheduleValidationError(std::string_view spec) {
  if (spec.empty()) return "Schedule must be a non-empty valid Cron expression";
  absl::StatusOr<CronSchedule> s = CronSchedule::Parse(spec);
  if (s.ok()) return "";
  return Cat("invalid schedule: ", s.status().message());
}

std::string ScheduledBackupName(std::string_view schedule,
                                std::chrono::system_clock::time_point t) {
  return Cat(schedule, "-",
             absl::FormatTime("%Y%m%d%H%M%S", absl::FromChrono(t), absl::UTCTimeZone()));
}

}  // namespace lifeboat
